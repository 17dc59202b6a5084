"""The one parser of ``abfss://`` URLs (ADLS Gen2 through the Hadoop ABFS driver)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABFSS = re.compile(r"^abfss://(?P<fs>[^@/]+)@(?P<account>[^./]+)\.dfs\.core\.windows\.net/?(?P<path>.*)$")


@dataclass(frozen=True)
class AbfssUrl:
    """``abfss://<filesystem>@<account>.dfs.core.windows.net/<path>``: ``path`` has no leading or
    trailing slash ("" at the container root)."""

    account: str
    filesystem: str
    path: str

    @property
    def is_container_root(self) -> bool:
        return self.path == ""


def parse_abfss(url: str) -> AbfssUrl | None:
    """The parts of an ``abfss://`` URL, or None when ``url`` is not one."""
    m = _ABFSS.match(url)
    if not m:
        return None
    return AbfssUrl(account=m["account"], filesystem=m["fs"], path=m["path"].strip("/"))
