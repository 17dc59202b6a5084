"""``manifest.json`` (feeds.md "Landing layout") as a typed model.

The manifest is parsed by pydantic in strict JSON mode, so that every error is collected with its
path (``files[1].rows: Input should be greater than or equal to 0``) and nothing is coerced: a
``rows`` of ``"12"``, ``12.0`` or ``true`` is wrong, not twelve. ``period_start``/``period_end`` are
information, not checks (feeds.md), so any value is accepted; unknown keys are ignored. A manifest
larger than :data:`MAX_MANIFEST_BYTES` is not read at all; one nested too deep is refused by the
JSON parser's recursion limit (it never raises ``RecursionError``).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

MAX_MANIFEST_BYTES = 1 << 20

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _sha256(value: str) -> str:
    v = value.strip().lower()
    if not _HEX64.match(v):
        raise ValueError("should be the 64 hexadecimal digits of a SHA-256")
    return v


class ManifestFile(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    name: Annotated[str, Field(min_length=1)]
    rows: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, AfterValidator(_sha256)]


class Manifest(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    feed: str
    authority: str
    extract_date: date
    period_start: Any = None
    period_end: Any = None
    full_refresh: bool = False
    files: Annotated[list[ManifestFile], Field(min_length=1)]


class ManifestError(ValueError):
    """What is wrong with a manifest, every problem with its path."""


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the document)"


def parse_manifest(data: bytes) -> Manifest:
    """The manifest in ``data``, or :class:`ManifestError` listing every problem."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{len(data):,} bytes, over the {MAX_MANIFEST_BYTES:,}-byte limit for a manifest")
    text = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return Manifest.model_validate_json(text)
    except ValidationError as exc:
        problems = [
            f"{_path(e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False, include_url=False)
        ]
        raise ManifestError("; ".join(problems)) from None
    except RecursionError:  # defence in depth: the parser has its own limit
        raise ManifestError("nested too deeply to read") from None


def unsafe_name(name: str) -> str | None:
    """Why ``name`` is not a plain file name inside the delivery folder, or None when it is.

    A name with a path separator (``/`` or ``\\``), ``.`` or ``..``, a drive (``C:``), a control
    character, or surrounding spaces would name a file somewhere else, or not the one listed.
    """
    if name in (".", ".."):
        return "is . or .."
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if PureWindowsPath(name).drive or PurePosixPath(name).is_absolute():
        return "names a drive or an absolute path"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "holds a control character"
    if name != name.strip():
        return "starts or ends with a space"
    return None
