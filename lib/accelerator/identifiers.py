"""Identifier rules of feeds.md ("Identifier rules"), in pure Python.

Validation, normalisation and (for the generator) creation of NHS numbers, Unique Pupil Numbers,
National Insurance numbers, postcodes and UPRNs. No I/O, no clock, no environment: the ``make_*``
functions take a ``random.Random`` so callers stay deterministic.
"""

from __future__ import annotations

import random
import re

__all__ = [
    "UPN_ALPHABET",
    "is_valid_nhs",
    "is_valid_nino",
    "is_valid_upn",
    "make_nhs",
    "make_nino",
    "make_upn",
    "nhs_check_digit",
    "normalise_nhs",
    "normalise_nino",
    "normalise_postcode",
    "normalise_upn",
    "normalise_uprn",
    "upn_check_letter",
]

# ---------------------------------------------------------------- NHS number

_NHS_SEPARATORS = re.compile(r"[\s\-]")


def nhs_check_digit(nine: str) -> int | None:
    """The modulus 11 check digit of the first nine digits; ``None`` when it would be 10 (invalid)."""
    if len(nine) != 9 or not nine.isascii() or not nine.isdigit():
        raise ValueError(f"need nine digits, got {nine!r}")
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs(s: str | None) -> str | None:
    """The ten digits of a valid NHS number (spaces and hyphens removed), else ``None``."""
    if s is None:
        return None
    t = _NHS_SEPARATORS.sub("", s)
    if len(t) != 10 or not t.isascii() or not t.isdigit():
        return None
    if t == t[0] * 10 or t.startswith("999"):
        return None
    if nhs_check_digit(t[:9]) != int(t[9]):
        return None
    return t


def is_valid_nhs(s: str | None) -> bool:
    """True for a real NHS number: 10 digits once spaces/hyphens are removed, correct check digit,
    not a repeated single digit (``0000000000``) and not in the ``999`` test range."""
    return normalise_nhs(s) is not None


def make_nhs(rng: random.Random) -> str:
    """A random valid NHS number (10 digits, no spaces), never in the 999 test range."""
    while True:
        nine = str(rng.choice((4, 4, 4, 6, 7))) + f"{rng.randrange(10**8):08d}"
        check = nhs_check_digit(nine)
        if check is None:
            continue
        candidate = nine + str(check)
        if candidate == candidate[0] * 10:  # pragma: no cover - vanishingly rare
            continue
        return candidate


# ---------------------------------------------------------------- Unique Pupil Number

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""The 23 letters of UPN check letters and temporary-UPN final letters (no I, O, S)."""

_UPN_SHAPE = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")


def upn_check_letter(twelve: str) -> str:
    """The check letter for the twelve characters after it (positions 2..13).

    Digits count at face value; a final letter (temporary UPN) counts as its index in
    :data:`UPN_ALPHABET`.
    """
    t = twelve.upper()
    if len(t) != 12 or not t[:11].isascii() or not t[:11].isdigit():
        raise ValueError(f"need eleven digits and a digit or letter, got {twelve!r}")
    last = t[11]
    if last.isascii() and last.isdigit():
        last_value = int(last)
    elif last in UPN_ALPHABET:
        last_value = UPN_ALPHABET.index(last)
    else:
        raise ValueError(f"bad final UPN character {last!r}")
    total = sum(int(c) * p for p, c in enumerate(t[:11], start=2)) + last_value * 13
    return UPN_ALPHABET[total % 23]


def normalise_upn(s: str | None) -> str | None:
    """The upper-case UPN when valid (temporary UPNs included), else ``None``."""
    if s is None:
        return None
    t = s.strip().upper()
    if not _UPN_SHAPE.match(t):
        return None
    if t[0] not in UPN_ALPHABET or not (t[12].isdigit() or t[12] in UPN_ALPHABET):
        return None
    return t if upn_check_letter(t[1:]) == t[0] else None


def is_valid_upn(s: str | None) -> bool:
    """True for a well-formed UPN (any case) with the right check letter.

    A temporary UPN (final character a letter of :data:`UPN_ALPHABET`) is well formed; whether
    to trust it for linkage is the caller's decision (:func:`is_temporary_upn`).
    """
    return normalise_upn(s) is not None


def is_temporary_upn(s: str) -> bool:
    """True when a (valid) UPN ends in a letter: a temporary UPN."""
    return s.strip()[-1:].isalpha()


def make_upn(rng: random.Random, temporary: bool = False, *, la_code: str | None = None) -> str:
    """A random valid UPN: check letter + LA code (3) + establishment (4) + year (2) + serial (3).

    With ``temporary`` the final character is a letter, as in a temporary UPN.
    """
    la = la_code if la_code is not None else f"{rng.randrange(201, 938):03d}"
    body = la + f"{rng.randrange(10**4):04d}" + f"{rng.randrange(100):02d}" + f"{rng.randrange(100):02d}"
    body += rng.choice(UPN_ALPHABET) if temporary else str(rng.randrange(10))
    return upn_check_letter(body) + body


# ---------------------------------------------------------------- National Insurance number

_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"  # not D F I Q U V
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"  # not D F I O Q U V
_NINO_NEVER = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO_SHAPE = re.compile(r"^([A-Z])([A-Z])([0-9]{6})([A-D]?)$")


def normalise_nino(s: str | None) -> str | None:
    """The upper-case NI number without spaces when valid (suffix optional), else ``None``.

    Temporary numbers (``TN…``) and prefixes never issued are not identifiers.
    """
    if s is None:
        return None
    t = re.sub(r"\s+", "", s).upper()
    m = _NINO_SHAPE.match(t)
    if m is None:
        return None
    first, second = m.group(1), m.group(2)
    if first not in _NINO_FIRST or second not in _NINO_SECOND or first + second in _NINO_NEVER:
        return None
    return t


def is_valid_nino(s: str | None) -> bool:
    """True for an issued-format National Insurance number (spaces and case ignored)."""
    return normalise_nino(s) is not None


def make_nino(rng: random.Random) -> str:
    """A random valid NI number with a suffix, e.g. ``AB123456C``."""
    while True:
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        if prefix not in _NINO_NEVER:
            break
    return prefix + f"{rng.randrange(10**6):06d}" + rng.choice("ABCD")


# ---------------------------------------------------------------- postcode and UPRN

_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")


def normalise_postcode(s: str | None) -> str | None:
    """Upper case, spaces removed, one space before the three-character inward code.

    A letter ``O`` typed where a digit must be is read as zero: the inward code's first character,
    the first character after the one- or two-letter postcode area, and a character following a
    digit in the outward code (the district's optional final letter is never ``O``).
    Returns ``None`` when the result is not shaped like a UK postcode.
    """
    if s is None:
        return None
    t = re.sub(r"\s+", "", s).upper()
    if t == "GIR0AA":
        return "GIR 0AA"
    if not 5 <= len(t) <= 7:
        return None
    outward, inward = t[:-3], t[-3:]
    if inward[0] == "O":
        inward = "0" + inward[1:]
    area_len = 2 if len(outward) >= 3 and outward[0].isalpha() and outward[1].isalpha() else 1
    chars = list(outward)
    for i in range(area_len, len(chars)):
        if chars[i] == "O" and (i == area_len or chars[i - 1].isdigit()):
            chars[i] = "0"
    result = "".join(chars) + " " + inward
    return result if _POSTCODE.match(result) else None


def normalise_uprn(s: str | None) -> str | None:
    """A UPRN as 1-12 digits without leading zeros; ``None`` when it is not one."""
    if s is None:
        return None
    t = s.strip()
    if not t or not t.isascii() or not t.isdigit():
        return None
    t = t.lstrip("0")
    if not 1 <= len(t) <= 12:
        return None
    return t
