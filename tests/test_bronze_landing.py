"""The landing lifecycle's pure part and its deletes, on real folders (no Spark); the table it
records to is tested in tests/test_bronze_land.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from accelerator.bronze.landing import Due, clear_settled, due_for_clearing
from accelerator.io.storage import LocalStorage


def _row(delivery_id: str, status: str, loaded_at: datetime) -> dict[str, object]:
    a, f, _ = delivery_id.split("/")
    return {"delivery_id": delivery_id, "authority": a, "feed": f, "status": status, "loaded_at": loaded_at}


def test_due_for_clearing_takes_settled_deliveries_past_the_grace_period_only() -> None:
    start = datetime(2026, 12, 1, 2, 0)
    rows = [
        _row("bury/housing/2026-09-30", "PENDING", datetime(2026, 10, 1)),
        _row("bury/housing/2026-09-30", "LOADED", datetime(2026, 10, 2)),  # settled 60 days before
        _row("bury/housing/2026-10-31", "REJECTED", datetime(2026, 11, 1, 2, 1)),  # 29.99 days
        _row("bury/housing/2026-11-30", "PENDING", datetime(2026, 9, 1)),  # never settled
        _row("bolton/housing/2026-08-31", "DUPLICATE", datetime(2026, 9, 1)),  # already cleared
        _row("bolton/housing/..", "LOADED", datetime(2026, 9, 1)),  # not a delivery id
    ]
    got = due_for_clearing(rows, ["bolton/housing/2026-08-31"], started_at=start, grace_days=30)
    assert got == [Due("bury/housing/2026-09-30", "bury", "housing", "LOADED", datetime(2026, 10, 2))]


def test_clear_settled_removes_the_folder_and_a_link_as_a_link(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = landing / "bury" / "housing" / "2026-09-30"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "h.csv").write_text("a\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.csv").write_text("mine\n")
    (landing / "bury" / "housing" / "2026-10-31").symlink_to(elsewhere, target_is_directory=True)
    due = [
        Due("bury/housing/2026-09-30", "bury", "housing", "LOADED", datetime(2026, 10, 1)),
        Due("bury/housing/2026-10-31", "bury", "housing", "REJECTED", datetime(2026, 11, 1)),
        Due("bury/housing/2026-07-31", "bury", "housing", "LOADED", datetime(2026, 8, 1)),  # gone already
    ]
    done = clear_settled(LocalStorage(), str(landing), due)
    assert [(d.delivery_id, removed) for d, removed in done] == [
        ("bury/housing/2026-09-30", True),
        ("bury/housing/2026-10-31", True),
        ("bury/housing/2026-07-31", False),
    ]
    assert list((landing / "bury" / "housing").iterdir()) == []  # the feed folder (its ACLs) stays
    assert (elsewhere / "keep.csv").read_text() == "mine\n"
