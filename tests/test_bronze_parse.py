from __future__ import annotations

from datetime import date

import pytest

from accelerator.bronze.parse import clean, date_format, decode, parse_date, split_records


def test_decode_utf8_plain() -> None:
    got = decode("Zoë".encode())
    assert (got.text, got.encoding) == ("Zoë", "utf-8")


def test_decode_strips_byte_order_mark() -> None:
    got = decode(b"\xef\xbb\xbfupn,forename\n")
    assert got.text == "upn,forename\n"
    assert got.encoding == "utf-8-sig"


def test_decode_windows_1252() -> None:
    got = decode("Zoë Renée – O’Brien".encode("cp1252"))
    assert got.text == "Zoë Renée – O’Brien"
    assert got.encoding == "cp1252"


def test_decode_never_fails_on_undefined_cp1252_bytes() -> None:
    assert decode(b"a\x81b").encoding == "latin-1"


def test_split_records_counts_physical_lines_and_keeps_raw_text() -> None:
    text = 'a,b\r\n1,"x\r\ny"\r\n2,z\r\n\r\n'
    recs = list(split_records(text))
    assert [(r.line, r.fields) for r in recs] == [(1, ["a", "b"]), (2, ["1", "x\r\ny"]), (4, ["2", "z"])]
    assert recs[1].raw == '1,"x\r\ny"'
    assert not any(r.unterminated for r in recs)


def test_split_records_flags_a_cut_off_quoted_field() -> None:
    recs = list(split_records('a,b\n1,"trun'))
    assert recs[-1].unterminated
    assert recs[-1].raw == '1,"trun'


def test_split_records_handles_bare_cr_line_endings() -> None:
    assert [r.fields for r in split_records("a,b\r1,2\r")] == [["a", "b"], ["1", "2"]]


@pytest.mark.parametrize(
    ("raw", "want", "fmt"),
    [
        ("2024-03-01", date(2024, 3, 1), "iso"),
        (" 2024-03-01 ", date(2024, 3, 1), "iso"),
        ("2024-03-01T00:00:00", date(2024, 3, 1), "timestamp"),
        ("2024-03-01 13:45:00", date(2024, 3, 1), "timestamp"),
        ("2024-03-01T00:00:00.000Z", date(2024, 3, 1), "timestamp"),
        ("01/03/2024", date(2024, 3, 1), "dmy"),
        ("1/3/2024", date(2024, 3, 1), "dmy"),
        ("2023-02-30", None, "iso"),
        ("31/02/2024", None, "dmy"),
        ("2024-13-01", None, "iso"),
        ("March 1st", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_date_accepts_the_delivered_forms(raw: str | None, want: date | None, fmt: str | None) -> None:
    assert parse_date(raw) == want
    assert date_format(raw) == fmt


def test_clean_makes_blank_fields_null_and_keeps_the_rest_as_delivered() -> None:
    assert clean("") is None
    assert clean("   ") is None
    assert clean(None) is None
    assert clean(" O'Brien ") == " O'Brien "
