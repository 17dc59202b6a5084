"""Deliveries beyond feeds.md's table (issue 17), on real files, without Spark: each ends with the
status and reason code it must, LOADED ones reconcile, and the valid deliveries beside them load
whole. ``tests/test_bronze_land.py`` lands the same folders through Spark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accelerator.bronze.deliveries import INTERNAL_ERROR, LOADED, REJECTED, DeliveryRef, discover
from accelerator.io.storage import LocalStorage
from landing_kit import POLICE, Expect, csv_bytes, land_in_memory, police_row, write_delivery, write_hostile

STORE = LocalStorage()
Hostile = tuple[Path, dict[str, Expect]]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    landing = tmp_path_factory.mktemp("hostile") / "landing"
    return landing, write_hostile(landing)


def test_every_hostile_delivery_ends_as_expected(hostile: Hostile) -> None:
    landing, expect = hostile
    refs = {r.delivery_id: r for r in discover(STORE, str(landing))}
    assert set(refs) == set(expect)
    got = {}
    for delivery_id, ref in refs.items():
        landed = land_in_memory(STORE, ref)  # asserts the reconciliation of every LOADED one
        e = expect[delivery_id]
        rows = (landed.rows_in_files, landed.rows_loaded, landed.rows_quarantined) if e.rows else None
        got[delivery_id] = (
            landed.status,
            landed.reason_code,
            rows,
            tuple(q["reason_code"] for q in landed.quarantine),
        )
        if landed.status == REJECTED:
            assert landed.reason.startswith(f"{landed.reason_code}: ")
    assert got == {k: (e.status, e.code, e.rows, e.quarantined) for k, e in expect.items()}


def _one(landing: Path, folder: str) -> DeliveryRef:
    return DeliveryRef(str(landing), "bury", "police_incidents", folder)


def test_manifest_errors_are_all_named_with_their_path(hostile: Hostile) -> None:
    landing, _ = hostile
    reasons = {
        f: land_in_memory(STORE, _one(landing, f)).reason
        for f in ("2026-10-01", "2026-10-04", "2026-10-06", "2026-10-08", "2026-10-09", "2026-10-10")
    }
    assert "Invalid JSON" in reasons["2026-10-01"]
    assert "files[0].rows: Input should be greater than or equal to 0" in reasons["2026-10-04"]
    assert "files[0].rows" in reasons["2026-10-06"]  # true is not a row count
    assert "files[0].sha256: Field required" in reasons["2026-10-08"]
    assert "recursion limit" in reasons["2026-10-09"]
    assert "limit for a manifest" in reasons["2026-10-10"]


def test_field_too_long_quarantines_that_row_only(hostile: Hostile) -> None:
    landing, expect = hostile
    [delivery_id] = [k for k, e in expect.items() if e.quarantined == ("FIELD_TOO_LONG",)]
    landed = land_in_memory(STORE, _one(landing, delivery_id.split("/")[-1]))
    assert [r["record_key"] for r in landed.rows] == ["GMP-0|P0", "GMP-1|P1", "GMP-M|PM"]
    assert len(landed.rows[-1]["address"]) == 200_000
    assert (landed.quarantine[0]["line_number"], len(landed.quarantine[0]["raw_line"])) == (4, 1 << 20)
    assert landed.files[0].quarantined == {"FIELD_TOO_LONG": 1}


def test_a_quote_inside_an_unquoted_name_is_kept(hostile: Hostile) -> None:
    landing, _ = hostile
    landed = land_in_memory(STORE, _one(landing, "2026-10-25"))
    assert [r["surname"] for r in landed.rows] == ['O"Brien', 'O"Brien']


@pytest.mark.parametrize("folder", ["2026-10-26", "2026-10-27"], ids=["utf8+cp1252", "bom+cp1252"])
def test_mixed_encoding_keeps_every_utf8_name_exact(hostile: Hostile, folder: str) -> None:
    landing, _ = hostile
    landed = land_in_memory(STORE, _one(landing, folder))
    assert [(r["forename"], r["surname"]) for r in landed.rows] == [
        ("Zoë", "O'Brien"),
        ("Chloé", "O'Brien"),
        ("Renée", "O'Brien"),
    ]
    assert landed.rows[0]["incident_ref"] == "GMP-1"  # the header was read without its byte-order mark
    assert (landed.files[0].encoding, landed.files[0].lines_cp1252) == ("mixed", 1)


def test_duplicate_header_is_rejected_naming_the_column(hostile: Hostile) -> None:
    landing, _ = hostile
    assert "column surname appears twice" in land_in_memory(STORE, _one(landing, "2026-10-23")).reason


class Failing(LocalStorage):
    """A real local landing zone whose reads of one file raise, as a bug or an I/O fault would."""

    def __init__(self, path: str) -> None:
        self.path = path

    def read_chunks(self, path: str, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
        if path == self.path:
            raise RuntimeError("Zoë O'Brien, 2001-02-03")  # a message that quotes data
        return super().read_chunks(path, chunk_bytes)


def test_an_unexpected_error_rejects_that_delivery_only_naming_the_error_type(tmp_path: Path) -> None:
    data = csv_bytes(POLICE, [police_row("GMP-1", "P1")])
    bad = write_delivery(tmp_path, "bury", "police_incidents", "2026-10-30", {"a.csv": data})
    write_delivery(tmp_path, "bury", "police_incidents", "2026-10-31", {"b.csv": data + b""})
    store = Failing(str(bad / "a.csv"))
    first, second = [land_in_memory(store, r) for r in discover(store, str(tmp_path))]
    assert (first.status, first.reason_code) == (REJECTED, INTERNAL_ERROR)
    assert "RuntimeError" in first.reason
    assert "Zoë" not in first.reason and "2001" not in first.reason
    assert (second.status, second.rows_loaded) == (LOADED, 1)


def test_a_duplicate_of_a_delivery_that_failed_to_land_goes_back_to_pending(tmp_path: Path) -> None:
    from accelerator.bronze.land import assess_all, recheck_duplicates

    data = csv_bytes(POLICE, [police_row("GMP-1", "P1")])
    for folder in ("2026-10-31", "2026-10-31_2", "2026-11-30"):
        write_delivery(tmp_path, "bury", "police_incidents", folder, {"a.csv": data})
    outcomes = assess_all(STORE, discover(STORE, str(tmp_path)), {})
    assert [o.status for o in outcomes] == [LOADED, "DUPLICATE", "DUPLICATE"]
    outcomes[0].reject(INTERNAL_ERROR, "RuntimeError while landing it")  # as publish does
    recheck_duplicates(outcomes, {})
    assert [(o.status, o.reason_code) for o in outcomes] == [
        (REJECTED, INTERNAL_ERROR),
        ("PENDING", "DUPLICATE_OF_FAILED"),
        ("PENDING", "DUPLICATE_OF_FAILED"),
    ]
    # Duplicates of a file loaded by an earlier run stay duplicates.
    before = {("bury", "police_incidents"): set(outcomes[0].file_sha256)}
    again = assess_all(STORE, discover(STORE, str(tmp_path))[1:], before)
    recheck_duplicates(again, before)
    assert [o.status for o in again] == ["DUPLICATE", "DUPLICATE"]
