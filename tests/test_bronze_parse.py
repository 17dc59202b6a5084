from __future__ import annotations

from datetime import date

import pytest

from accelerator.bronze import parse
from accelerator.bronze.parse import (
    MAX_FIELD_CHARS,
    NotText,
    TextProfile,
    clean,
    date_format,
    decode_line,
    parse_date,
    read_records,
    split_records,
)


def test_decode_line_utf8_plain() -> None:
    assert decode_line("Zoë".encode()) == ("Zoë", "utf-8")
    assert decode_line(b"plain") == ("plain", "ascii")


def test_read_records_strips_byte_order_mark_at_the_start_only() -> None:
    profile = TextProfile()
    recs = list(read_records([b"\xef\xbb\xbfupn,forename\n1,\xef\xbb\xbfx\n"], profile))
    assert [r.fields for r in recs] == [["upn", "forename"], ["1", "\ufeffx"]]
    assert (profile.bom, profile.encoding) == (True, "utf-8-sig")


def test_decode_line_windows_1252() -> None:
    assert decode_line("Zoë Renée – O’Brien".encode("cp1252")) == ("Zoë Renée – O’Brien", "cp1252")


def test_decode_line_never_fails_on_undefined_cp1252_bytes() -> None:
    assert decode_line(b"a\x81b") == ("a\x81b", "latin-1")


def test_read_records_decides_encoding_per_line() -> None:
    """A UTF-8 file with one Windows-1252 line: only that line is read as cp1252 (issue 17)."""
    data = "name\nZoë\n".encode() + "Renée\n".encode("cp1252") + "Łucja\n".encode()
    profile = TextProfile()
    got = [r.fields[0] for r in read_records([b"\xef\xbb\xbf" + data], profile)]
    assert got == ["name", "Zoë", "Renée", "Łucja"]
    assert (profile.cp1252, profile.utf8_non_ascii, profile.encoding) == (1, 2, "mixed")


def test_read_records_a_quote_inside_an_unquoted_field_is_literal() -> None:
    recs = list(split_records('a,b\n1,O"Brien\n2,"x, y"\n'))
    assert [r.fields for r in recs] == [["a", "b"], ["1", 'O"Brien'], ["2", "x, y"]]
    assert not any(r.unterminated for r in recs)


def test_read_records_field_too_long_is_one_record_and_reading_goes_on() -> None:
    long = "x" * (MAX_FIELD_CHARS + 1)
    recs = list(split_records(f"a,b\n1,{long}\n2,ok\n"))
    assert [(r.line, r.too_long, r.fields) for r in recs] == [
        (1, False, ["a", "b"]),
        (2, True, []),
        (3, False, ["2", "ok"]),
    ]
    assert len(recs[1].raw) == MAX_FIELD_CHARS


def test_read_records_too_long_quoted_field_spanning_lines_is_one_record() -> None:
    lines = "y\n" * (MAX_FIELD_CHARS // 2 + 10)
    recs = list(split_records(f'a,b\n1,"{lines}"\n2,ok\n'))
    assert [(r.too_long, r.fields) for r in recs[1:]] == [(True, []), (False, ["2", "ok"])]
    assert recs[2].line == 2 + MAX_FIELD_CHARS // 2 + 10 + 1


def test_read_records_a_line_too_long_to_hold_is_skipped_as_one_record(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(parse, "MAX_LINE_BYTES", 1000)
    data = b"a,b\n1," + b"z" * 5000 + b"\n2,ok\n"
    recs = list(read_records([data[i : i + 700] for i in range(0, len(data), 700)]))
    assert [(r.line, r.too_long, r.fields) for r in recs] == [
        (1, False, ["a", "b"]),
        (2, True, []),
        (3, False, ["2", "ok"]),
    ]


@pytest.mark.parametrize(
    "data",
    [b"a,b\n1,\x002\n", "a,b\n".encode("utf-16"), b"PK\x03\x04rest", b"%PDF-1.4\n"],
    ids=["nul", "utf-16", "zip", "pdf"],
)
def test_read_records_refuses_what_is_not_text(data: bytes) -> None:
    with pytest.raises(NotText):
        list(read_records([data]))


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
    # Open at the end of the file even after a line break: still cut off.
    assert list(split_records('a,b\n1,"trun\n'))[-1].unterminated
    # A last line without its line ending but complete is not cut off.
    assert not list(split_records("a,b\n1,2"))[-1].unterminated


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
