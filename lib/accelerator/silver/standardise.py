"""Column -> Column standardisers (style.md §3), each the Spark form of one rule of feeds.md.

Null in gives null out everywhere. Identifier validators return the normalised identifier only
when it is a real identifier (check digit, never-issued prefixes, test ranges, temporary numbers);
callers keep the delivered value beside it and flag the difference.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿŁłŚśŻżŹźĆćŃńĘęĄąŠšŽžČčŘřĞğİıŞş"
_PLAIN = "AAAAAACEEEEIIIINOOOOOOUUUUYaaaaaaceeeeiiiinoooooouuuuyyLlSsZzZzCcNnEeAaSsZzCcRrGgIiSs"


def squish(c: Column) -> Column:
    """Trim and collapse runs of white space; blank becomes null."""
    s = F.trim(F.regexp_replace(c, r"\s+", " "))
    return F.when(s == "", F.lit(None)).otherwise(s)


def fold(c: Column) -> Column:
    """Accents removed (``Zoë`` → ``Zoe``), as plain ASCII where a letter has a plain form."""
    s = F.translate(c, _ACCENTED, _PLAIN)
    return F.regexp_replace(F.regexp_replace(s, "[ßẞ]", "ss"), "[Ææ]", "ae")


def name_display(c: Column) -> Column:
    """A display form: squished; a name delivered all in one case gets title case with capitals
    after apostrophes and hyphens (``O'BRIEN``, ``o'bRIEN`` → ``O'Brien``); a capitalised mixed-case
    name is kept as written (``McDonald``); accents are kept."""
    s = squish(c)

    def cap_after(x: Column, sep: str) -> Column:
        parts = F.split(x, sep)
        return F.array_join(
            F.transform(parts, lambda p: F.concat(F.upper(F.substring(p, 1, 1)), F.substring(p, 2, 10_000))),
            sep,
        )

    titled = cap_after(cap_after(F.initcap(F.lower(s)), "-"), "'")
    intentional = (s != F.upper(s)) & (F.substring(s, 1, 1) == F.upper(F.substring(s, 1, 1)))
    return F.when(s.isNull(), F.lit(None)).when(intentional, s).otherwise(titled)


def name_match(c: Column) -> Column:
    """The folded match form: upper case ASCII letters only (``O'Brien`` → ``OBRIEN``,
    ``Zoë`` → ``ZOE``, ``Smith-Jones`` → ``SMITHJONES``); null when nothing is left."""
    s = F.regexp_replace(F.upper(fold(c)), "[^A-Z]", "")
    return F.when(s == "", F.lit(None)).otherwise(s)


def sex_code(c: Column) -> Column:
    """M, F or U from any feed's sex/gender codes (health: 1 male, 2 female, 9 not stated)."""
    s = F.upper(F.trim(c))
    return (
        F.when(s.isin("M", "1", "MALE"), "M")
        .when(s.isin("F", "2", "FEMALE"), "F")
        .when(s.isin("U", "9", "0", "X", "UNKNOWN", "NOT STATED"), "U")
    )


_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"


def normalise_postcode(c: Column) -> Column:
    """Upper case, one space before the inward code; a letter O typed where a digit must be
    (the inward code's first character; after two area letters or after a digit in the outward
    code) is a zero; ``SO14`` keeps its O. Anything that is still not a UK postcode shape gives null."""
    s = F.upper(F.regexp_replace(c, r"[^A-Za-z0-9]", ""))
    n = F.length(s)
    outward = F.regexp_extract(s, r"^(.*)...$", 1)
    # Three leading letters cannot be an area (at most two): BLO → BL0. An O after a digit is 0.
    outward = F.regexp_replace(F.regexp_replace(outward, r"^([A-Z]{2})O", "$10"), r"(?<=[0-9])O", "0")
    inward = F.regexp_replace(F.substring(s, -3, 3), r"^O", "0")
    pc = F.concat_ws(" ", outward, inward)
    return F.when((n >= 5) & (n <= 7) & pc.rlike(_POSTCODE), pc)


def normalise_uprn(c: Column) -> Column:
    """1–12 digits without leading zeros, else null."""
    s = F.regexp_replace(c, r"\s", "")
    stripped = F.regexp_replace(s, r"^0+", "")
    return F.when(s.rlike(r"^[0-9]{1,12}$") & (stripped != ""), stripped)


_STREET_TYPES = {
    "RD": "ROAD",
    "ST": "STREET",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "CL": "CLOSE",
    "LN": "LANE",
    "PL": "PLACE",
    "DR": "DRIVE",
    "CRES": "CRESCENT",
    "CRESC": "CRESCENT",
    "GR": "GROVE",
    "GRV": "GROVE",
    "SQ": "SQUARE",
    "TER": "TERRACE",
    "TERR": "TERRACE",
}
_TYPE_WORDS = "|".join(sorted(set(_STREET_TYPES) | set(_STREET_TYPES.values())))


def normalise_address(c: Column) -> Column:
    """One comparable address line: upper case, accents folded, punctuation gone, white space
    collapsed, street-type abbreviations spelled out (``Rd`` → ``ROAD``). ``ST`` before a
    name that is itself followed by a street type is Saint and is kept (``ST MARYS ROAD``)."""
    s = F.upper(fold(c))
    s = F.regexp_replace(s, r"[^A-Z0-9 ]", " ")
    s = F.trim(F.regexp_replace(s, r"\s+", " "))
    for abbr, full in _STREET_TYPES.items():
        guard = rf"(?!\s+[A-Z]+\s+(?:{_TYPE_WORDS})\b)" if abbr == "ST" else ""
        s = F.regexp_replace(s, rf"\b{abbr}\b{guard}", full)
    return F.when(s == "", F.lit(None)).otherwise(s)


_ADDR = r"^(?:(?:FLAT|APARTMENT|APT|UNIT) ([0-9]+[A-Z]?) )?([0-9]+[A-Z]?) (.+)$"


def address_flat(normalised: Column) -> Column:
    """Flat number from a normalised address (``FLAT 2 10 BANK STREET`` → ``2``)."""
    return F.when(normalised.rlike(_ADDR), F.nullif(F.regexp_extract(normalised, _ADDR, 1), F.lit("")))


def address_house_number(normalised: Column) -> Column:
    return F.when(normalised.rlike(_ADDR), F.regexp_extract(normalised, _ADDR, 2))


def address_street(normalised: Column) -> Column:
    """The rest of the line after flat and house number; the whole line when it has no number."""
    return F.when(normalised.rlike(_ADDR), F.regexp_extract(normalised, _ADDR, 3)).otherwise(normalised)


def nhs_number(c: Column) -> Column:
    """A valid NHS number (10 digits, modulus 11 check digit; spaces and hyphens are formatting),
    else null. Check 10, a repeated single digit and the 999 test range are not identifiers."""
    s = F.regexp_replace(c, r"[\s-]", "")
    digits = [F.substring(s, i, 1).cast("int") for i in range(1, 11)]
    total = digits[0] * 10
    for i in range(1, 9):
        total = total + digits[i] * (10 - i)
    check = F.lit(11) - (total % 11)
    check = F.when(check == 11, 0).otherwise(check)
    ok = (
        s.rlike(r"^[0-9]{10}$")
        & (check != 10)
        & (check == digits[9])
        & ~s.rlike(r"^(\d)\1{9}$")
        & ~s.startswith("999")
    )
    return F.when(ok, s)


_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(c: Column) -> Column:
    """A valid UPN (check letter, 11 digits, a final digit or temporary-UPN letter) upper-cased,
    else null."""
    s = F.upper(F.regexp_replace(c, r"\s", ""))
    shape = s.rlike(rf"^[{_UPN_ALPHABET}][0-9]{{11}}[0-9{_UPN_ALPHABET}]$")
    last = F.substring(s, 13, 1)
    letter_value = F.create_map(*[F.lit(x) for i, ch in enumerate(_UPN_ALPHABET) for x in (ch, i)])
    last_value = F.when(last.rlike("[0-9]"), last.cast("int")).otherwise(letter_value[last])
    total = last_value * 13
    for p in range(2, 13):
        total = total + F.substring(s, p, 1).cast("int") * p
    check = F.lit(_UPN_ALPHABET).substr((total % 23) + 1, F.lit(1))
    return F.when(shape & (F.substring(s, 1, 1) == check), s)


_NINO = r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[ABCEGHJKLMNOPRSTWXYZ][ABCEGHJKLMNPRSTWXYZ][0-9]{6}[A-D]?$"


def nino(c: Column) -> Column:
    """A valid National Insurance number (no spaces, upper case), else null: never-issued
    prefixes and temporary TN numbers are not identifiers."""
    s = F.upper(F.regexp_replace(c, r"\s", ""))
    return F.when(s.rlike(_NINO), s)


def yes_no(c: Column) -> Column:
    """Y/N to boolean; anything else null."""
    s = F.upper(F.trim(c))
    return F.when(s.isin("Y", "YES", "TRUE", "1"), True).when(s.isin("N", "NO", "FALSE", "0"), False)


def census_term_end(c: Column) -> Column:
    """End of a census term (feeds.md): YYYYAUT 31 Dec YYYY, YYYYSPR 31 Mar YYYY+1,
    YYYYSUM 31 Jul YYYY+1; null for anything else."""
    s = F.upper(F.trim(c))
    year = F.substring(s, 1, 4).cast("int")
    term = F.substring(s, 5, 3)
    ok = s.rlike(r"^[0-9]{4}(AUT|SPR|SUM)$")
    return (
        F.when(ok & (term == "AUT"), F.make_date(year, F.lit(12), F.lit(31)))
        .when(ok & (term == "SPR"), F.make_date(year + 1, F.lit(3), F.lit(31)))
        .when(ok & (term == "SUM"), F.make_date(year + 1, F.lit(7), F.lit(31)))
    )


def parse_date(c: Column) -> Column:
    """A delivered date (``YYYY-MM-DD``, a timestamp on that day, ``DD/MM/YYYY``) as a date;
    impossible dates and anything else null (bronze keeps the delivered text)."""
    s = F.trim(c)
    iso = F.regexp_extract(
        s, r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$", 1
    )
    dmy = s.rlike(r"^\d{1,2}/\d{1,2}/\d{4}$")
    return F.when(iso != "", F.to_date(iso, "yyyy-MM-dd")).when(dmy, F.to_date(s, "d/M/yyyy"))
