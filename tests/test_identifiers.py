"""Identifier rules of feeds.md."""

from __future__ import annotations

import random

import pytest

from accelerator.identifiers import (
    UPN_ALPHABET,
    is_temporary_upn,
    is_valid_nhs,
    is_valid_nino,
    is_valid_upn,
    make_nhs,
    make_nino,
    make_upn,
    nhs_check_digit,
    normalise_nhs,
    normalise_nino,
    normalise_postcode,
    normalise_upn,
    normalise_uprn,
    upn_check_letter,
)

# ---------------------------------------------------------------- NHS


def test_nhs_check_digit_known_example() -> None:
    assert nhs_check_digit("943476591") == 9
    assert is_valid_nhs("9434765919")


def test_nhs_check_digit_eleven_is_zero() -> None:
    nine = next(f"{n:09d}" for n in range(100_000_000, 100_100_000) if nhs_check_digit(f"{n:09d}") == 0)
    weights = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    assert weights % 11 == 0
    assert is_valid_nhs(nine + "0")


def test_nhs_check_ten_means_invalid() -> None:
    nine = "100000001"
    assert nhs_check_digit(nine) is None
    assert not any(is_valid_nhs(nine + str(d)) for d in range(10))


@pytest.mark.parametrize("s", ["943 476 5919", "943-476-5919", " 9434765919 ", "4010232137"])
def test_nhs_valid_formats(s: str) -> None:
    assert is_valid_nhs(s)


@pytest.mark.parametrize(
    "s",
    [
        "9434765918",  # wrong check digit
        "0000000000",  # repeated single digit (its check digit is formally right)
        "1111111111",
        "9999999999",
        "9990000026",  # test range
        "943476591",  # nine digits
        "94347659190",
        "943476591X",
        "",
        None,
    ],
)
def test_nhs_invalid(s: str | None) -> None:
    assert not is_valid_nhs(s)


def test_nhs_test_range_has_correct_check_digit_but_is_rejected() -> None:
    nine = next(f"999{n:06d}" for n in range(1000) if nhs_check_digit(f"999{n:06d}") is not None)
    candidate = nine + str(nhs_check_digit(nine))
    assert not is_valid_nhs(candidate)


def test_normalise_nhs_strips_formatting() -> None:
    assert normalise_nhs("943 476 5919") == "9434765919"
    assert normalise_nhs("943-476-5919") == "9434765919"
    assert normalise_nhs("0000000000") is None


def test_make_nhs_valid_and_deterministic() -> None:
    a = [make_nhs(random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = random.Random(3)
    for _ in range(500):
        n = make_nhs(rng)
        assert len(n) == 10 and is_valid_nhs(n) and not n.startswith("999")


# ---------------------------------------------------------------- UPN


def test_upn_spec_example() -> None:
    assert upn_check_letter("801200005001") == "B"
    assert is_valid_upn("B801200005001")


def test_upn_lower_case_is_valid() -> None:
    assert is_valid_upn("b801200005001")
    assert normalise_upn(" b801200005001 ") == "B801200005001"


def test_upn_temporary_valid() -> None:
    body = "80120000500A"
    upn = upn_check_letter(body) + body
    assert upn == "M80120000500A"
    assert is_valid_upn(upn)
    assert is_valid_upn(upn.lower())
    assert is_temporary_upn(upn)
    assert not is_temporary_upn("B801200005001")


@pytest.mark.parametrize(
    "s",
    [
        "A801200005001",  # wrong check letter
        "B80120000500",  # 12 characters
        "B8012000050011",  # 14 characters
        "I801200005001",  # I is not a check letter
        "M80120000500I",  # temporary final letter outside the alphabet
        "M80120000500S",
        "B8012000A5001",  # letter before the last position
        "1801200005001",  # no check letter
        "",
        None,
    ],
)
def test_upn_invalid(s: str | None) -> None:
    assert not is_valid_upn(s)


def test_make_upn() -> None:
    rng = random.Random(5)
    for _ in range(300):
        u = make_upn(rng)
        assert is_valid_upn(u) and u[-1].isdigit() and u[0] in UPN_ALPHABET
        t = make_upn(rng, temporary=True)
        assert is_valid_upn(t) and t[-1] in UPN_ALPHABET
    assert make_upn(rng, la_code="352")[1:4] == "352"


# ---------------------------------------------------------------- NI number


@pytest.mark.parametrize(
    "s", ["AB123456C", "ab 12 34 56 c", "AB123456", "JG103759A", "OA123456D", "ZA000000A"]
)
def test_nino_valid(s: str) -> None:
    assert is_valid_nino(s)


@pytest.mark.parametrize(
    "s",
    [
        "TN010180F",  # temporary number
        "TN 01 01 80 M",
        "BG123456A",
        "GB123456A",
        "KN123456A",
        "NK123456A",
        "NT123456A",
        "ZZ123456A",
        "DA123456A",  # first letter D
        "QA123456A",
        "AO123456A",  # second letter O
        "AV123456A",
        "AB123456E",  # suffix beyond D
        "AB12345C",
        "A1234567C",
        "",
        None,
    ],
)
def test_nino_invalid(s: str | None) -> None:
    assert not is_valid_nino(s)


def test_nino_normalise_and_make() -> None:
    assert normalise_nino("ab 12 34 56 c") == "AB123456C"
    assert normalise_nino("AB 12 34 56") == "AB123456"
    rng = random.Random(2)
    for _ in range(300):
        n = make_nino(rng)
        assert is_valid_nino(n) and len(n) == 9


# ---------------------------------------------------------------- postcode and UPRN


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bl90sw", "BL9 0SW"),
        ("m1 1ae", "M1 1AE"),
        ("M11AE", "M1 1AE"),
        ("BL9 OSW", "BL9 0SW"),
        ("bl9osw", "BL9 0SW"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("  BL9   0SW ", "BL9 0SW"),
        ("BLO 9SW", "BL0 9SW"),  # O typed for the district's zero
        ("OL1O 1AB", "OL10 1AB"),  # area OL keeps its letter O, district 1O -> 10
        ("ol1o1ab", "OL10 1AB"),
        ("M4O 1AB", "M40 1AB"),
        ("OL1 1AB", "OL1 1AB"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
        ("W1A OAX", "W1A 0AX"),
    ],
)
def test_normalise_postcode(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "BL9", "not a postcode", "1234567", "BL9 0S1"])
def test_normalise_postcode_rejects(raw: str | None) -> None:
    assert normalise_postcode(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("100012345678", "100012345678"),
        ("000010001234", "10001234"),
        (" 42 ", "42"),
        ("0", None),
        ("", None),
        (None, None),
        ("1000123456789", None),
        ("10001234X", None),
        ("1.0E11", None),
    ],
)
def test_normalise_uprn(raw: str | None, expected: str | None) -> None:
    assert normalise_uprn(raw) == expected
