"""Each row of feeds.md "What happens to a delivery", on real files, without Spark."""

from __future__ import annotations

import hashlib
from pathlib import Path

from accelerator.bronze.deliveries import (
    BAD_REQUIRED_DATE,
    DUPLICATE,
    FIELD_COUNT,
    LOADED,
    MISSING_KEY,
    PENDING,
    REJECTED,
    DeliveryRef,
    discover,
    record_key,
)
from accelerator.feeds import FEEDS
from accelerator.io.storage import LocalStorage
from landing_kit import POLICE, Landed, csv_bytes, land_in_memory, police_row, write_delivery

STORE = LocalStorage()
NAME = "police_incidents_bury_20261031.csv"


def land(ref: DeliveryRef, loaded: set[str] | None = None) -> Landed:
    return land_in_memory(STORE, ref, loaded)


def _assess(
    landing: Path,
    folder: str = "2026-10-31",
    loaded: set[str] | None = None,
    feed: str = "police_incidents",
    authority: str = "bury",
) -> Landed:
    return land(DeliveryRef(str(landing), authority, feed, folder), loaded)


def _good(n: int = 3, **kw: object) -> bytes:
    return csv_bytes(POLICE, [police_row(f"GMP-{i}", f"P{i}") for i in range(n)], **kw)  # type: ignore[arg-type]


def test_assess_loads_a_clean_delivery(tmp_path: Path) -> None:
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: _good(3)})
    out = _assess(tmp_path)
    assert (out.status, out.rows_in_files, out.rows_loaded, out.rows_quarantined) == (LOADED, 3, 3, 0)
    assert [r["record_key"] for r in out.rows] == ["GMP-0|P0", "GMP-1|P1", "GMP-2|P2"]
    assert [r["_line"] for r in out.rows] == [2, 3, 4]
    assert out.rows[0]["forename"] == "Zoë"


def test_assess_without_manifest_is_pending(tmp_path: Path) -> None:
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: _good()}, manifest=False)
    assert _assess(tmp_path).status == PENDING


def test_assess_unknown_authority_and_feed_are_rejected(tmp_path: Path) -> None:
    write_delivery(tmp_path, "leeds", "police_incidents", "2026-10-31", {NAME: _good()})
    write_delivery(tmp_path, "bury", "parking_fines", "2026-10-31", {"p.csv": b"a\n1\n"})
    leeds = _assess(tmp_path, authority="leeds")
    parking = _assess(tmp_path, feed="parking_fines")
    assert (leeds.status, parking.status) == (REJECTED, REJECTED)
    assert "leeds" in leeds.reason
    assert "parking_fines" in parking.reason


def test_assess_duplicate_is_checked_before_anything_else(tmp_path: Path) -> None:
    data = _good()
    # The manifest's row count is wrong too: DUPLICATE still wins, being checked first.
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31_2", {NAME: data}, rows={NAME: 99})
    out = _assess(tmp_path, "2026-10-31_2", loaded={hashlib.sha256(data).hexdigest()})
    assert out.status == DUPLICATE


def test_assess_partly_seen_files_are_not_a_duplicate(tmp_path: Path) -> None:
    a, b = _good(2), _good(3)
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {"a.csv": a, "b.csv": b})
    out = _assess(tmp_path, loaded={hashlib.sha256(a).hexdigest()})
    assert (out.status, out.rows_loaded) == (LOADED, 5)


def test_assess_missing_listed_file_rejects_the_whole_delivery(tmp_path: Path) -> None:
    write_delivery(
        tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: _good()}, listed=[NAME, "part2.csv"]
    )
    out = _assess(tmp_path)
    assert (out.status, out.rows_loaded, out.rows) == (REJECTED, 0, [])
    assert "part2.csv" in out.reason


def test_assess_checksum_mismatch_is_rejected(tmp_path: Path) -> None:
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: _good()}, sha={NAME: "0" * 64})
    out = _assess(tmp_path)
    assert out.status == REJECTED
    assert "sha256" in out.reason


def test_assess_row_count_mismatch_is_rejected(tmp_path: Path) -> None:
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: _good(3)}, rows={NAME: 4})
    out = _assess(tmp_path)
    assert out.status == REJECTED
    assert "3 data rows" in out.reason


def test_assess_zero_byte_file_is_rejected(tmp_path: Path) -> None:
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: b""}, rows={NAME: 0})
    out = _assess(tmp_path)
    assert out.status == REJECTED
    assert "0-byte" in out.reason


def test_assess_unlisted_file_is_ignored_and_named(tmp_path: Path) -> None:
    d = write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: _good(2)})
    (d / "notes.txt").write_text("call me")
    out = _assess(tmp_path)
    assert (out.status, out.rows_loaded) == (LOADED, 2)
    assert "notes.txt" in out.reason


def test_assess_missing_required_column_is_rejected_naming_it(tmp_path: Path) -> None:
    header = [c if c != "incident_date" else "date_of_incident" for c in POLICE]
    data = csv_bytes(header, [police_row("GMP-1", "P1")])
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: data})
    out = _assess(tmp_path)
    assert out.status == REJECTED
    assert "incident_date" in out.reason


def test_assess_missing_optional_column_loads_null_and_keeps_extras(tmp_path: Path) -> None:
    header = [*[c for c in POLICE if c != "sex"][::-1], "officer"]
    full = dict(zip(POLICE, police_row("GMP-1", "P1"), strict=True))
    data = csv_bytes(header, [[full.get(c, "PC 42") for c in header]])
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: data})
    out = _assess(tmp_path)
    assert out.status == LOADED
    row = out.rows[0]
    assert row["sex"] is None
    assert row["incident_ref"] == "GMP-1"
    assert row["_extra"] == '{"officer": "PC 42"}'


def test_assess_header_only_loads_zero_rows(tmp_path: Path) -> None:
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: csv_bytes(POLICE, [])})
    out = _assess(tmp_path)
    assert (out.status, out.rows_in_files, out.rows_loaded) == (LOADED, 0, 0)


def test_assess_quarantines_bad_rows_and_loads_the_rest(tmp_path: Path) -> None:
    rows = [
        police_row("GMP-1", "P1"),
        police_row("GMP-2", "P2")[:-2],  # too few fields
        [*police_row("GMP-3", "P3"), "surplus"],  # too many
        police_row("GMP-4", "  "),  # blank key column
        police_row("GMP-5", "P5", incident_date="2023-02-30"),  # impossible required date
        police_row("GMP-6", "P6", dob="2023-02-30"),  # bad optional date: loaded as delivered
    ]
    text = csv_bytes(POLICE, rows).decode() + "GMP-7,P7,OFFEND"  # a last line cut short
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {NAME: text.encode()}, rows={NAME: 7})
    out = _assess(tmp_path)
    assert (out.status, out.rows_in_files, out.rows_loaded, out.rows_quarantined) == (LOADED, 7, 2, 5)
    got = [(q["line_number"], q["reason_code"]) for q in out.quarantine]
    assert got == [
        (3, FIELD_COUNT),
        (4, FIELD_COUNT),
        (5, MISSING_KEY),
        (6, BAD_REQUIRED_DATE),
        (8, FIELD_COUNT),
    ]
    assert out.quarantine[-1]["raw_line"] == "GMP-7,P7,OFFEND"
    assert [r["dob"] for r in out.rows] == ["2001-02-03", "2023-02-30"]


def test_assess_decodes_cp1252_bom_crlf_and_trailing_blank_line(tmp_path: Path) -> None:
    files = {
        "a.csv": _good(2, encoding="cp1252", newline="\r\n", trailing_blank=True),
        "b.csv": _good(2, bom=True),
    }
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", files)
    out = _assess(tmp_path)
    assert (out.status, out.rows_loaded, out.rows_quarantined) == (LOADED, 4, 0)
    assert {r["forename"] for r in out.rows} == {"Zoë"}
    assert [f.encoding for f in out.files] == ["cp1252", "utf-8-sig"]
    assert out.files[0].line_endings == "crlf"


def test_assess_dmy_and_timestamp_dates_give_iso_record_keys(tmp_path: Path) -> None:
    spec = FEEDS["probation"]
    header = list(spec.column_names)
    row = dict.fromkeys(header, "")
    row.update(crn="X123456", start_date="01/03/2024")
    row2 = {**row, "start_date": "2024-04-01T00:00:00"}
    data = csv_bytes(header, [[row[c] for c in header], [row2[c] for c in header]])
    write_delivery(tmp_path, "bury", "probation", "2026-10-31", {"p.csv": data})
    out = _assess(tmp_path, feed="probation")
    assert [r["record_key"] for r in out.rows] == ["X123456|2024-03-01", "X123456|2024-04-01"]
    assert out.rows[0]["start_date"] == "01/03/2024"  # the value itself stays as delivered
    assert out.files[0].date_formats == {"dmy": 1, "timestamp": 1}


def test_record_key_upper_cases_upn_and_trims() -> None:
    spec = FEEDS["school_census"]
    assert record_key(spec, {"upn": " b801200005001 ", "census_term": "2025AUT"}) == "B801200005001|2025AUT"


def test_discover_orders_by_extract_date_then_folder_number(tmp_path: Path) -> None:
    for folder in ("2026-10-31_10", "2026-10-31_2", "2026-09-30", "2026-10-31"):
        (tmp_path / "bury" / "housing" / folder).mkdir(parents=True)
    (tmp_path / "bolton" / "housing" / "2026-10-31_1").mkdir(parents=True)
    got = [r.delivery_id for r in discover(STORE, str(tmp_path))]
    assert got == [
        "bury/housing/2026-09-30",
        "bury/housing/2026-10-31",
        "bolton/housing/2026-10-31_1",
        "bury/housing/2026-10-31_2",
        "bury/housing/2026-10-31_10",
    ]
