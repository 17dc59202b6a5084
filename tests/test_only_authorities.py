"""The stage-by-stage bronze (Synapse jobs, ``--authorities``) reads landing through
``pipeline.OnlyAuthorities``: only the authorities asked for are listed, files still stream in
chunks (bounded memory), and a delete outside those authorities is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelerator.io import storage as S
from accelerator.pipeline import OnlyAuthorities


def _landing(root: Path) -> Path:
    for a in ("bury", "wigan"):
        d = root / a / "housing" / "2026-10-31"
        d.mkdir(parents=True)
        (d / "a.csv").write_bytes(b"x" * 100)
    (root / "README.txt").write_text("not an authority")
    return root


def test_only_the_authorities_asked_for_are_listed_and_files_stream(tmp_path: Path) -> None:
    root = _landing(tmp_path / "landing")
    only = OnlyAuthorities(S.LocalStorage(), str(root), ["bury"])
    assert isinstance(only, S.LandingStorage)  # streamed, and the landing lifecycle can run
    assert S.entries(only, str(root)) == [("bury", S.DIR)]
    assert only.list_dirs(str(root)) == ["bury"]
    folder = root / "bury" / "housing" / "2026-10-31"
    assert S.entries(only, str(folder)) == [("a.csv", S.FILE)]
    chunks = list(S.read_chunks(only, str(folder / "a.csv"), 30))
    assert [len(c) for c in chunks] == [30, 30, 30, 10]


def test_a_delete_outside_the_authorities_is_refused(tmp_path: Path) -> None:
    root = _landing(tmp_path / "landing")
    only = OnlyAuthorities(S.LocalStorage(), str(root), ["bury"])
    with pytest.raises(ValueError, match="not under the landing of bury"):
        only.delete(str(root / "wigan" / "housing" / "2026-10-31"))
    assert (root / "wigan" / "housing" / "2026-10-31" / "a.csv").exists()
    assert only.delete(str(root / "bury" / "housing" / "2026-10-31")) is True
    assert not (root / "bury" / "housing" / "2026-10-31").exists()
    with pytest.raises(ValueError, match="unknown authorities"):
        OnlyAuthorities(S.LocalStorage(), str(root), ["atlantis"])
