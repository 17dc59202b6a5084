"""The storage layout of custodianship.md, as functions of the lake root.

``landing/<a>/<feed>``, ``bronze/<a>/<feed>``, ``silver/<a>/<table>``, ``silver/_platform/<table>``,
``gold/<a>/<table>``; plus ``bronze/_platform/delivery_log`` (outputs.md) and the quarantine table
``bronze/<a>/_quarantine``.
"""

from __future__ import annotations

from dataclasses import dataclass

PLATFORM = "_platform"
QUARANTINE = "_quarantine"


def join(root: str, *parts: str) -> str:
    """Join path segments with ``/`` for local paths and URLs alike."""
    out = root.rstrip("/")
    for p in parts:
        out = f"{out}/{p.strip('/')}"
    return out


@dataclass(frozen=True)
class Lake:
    root: str

    def bronze(self, authority: str, feed: str) -> str:
        return join(self.root, "bronze", authority, feed)

    def quarantine(self, authority: str) -> str:
        return join(self.root, "bronze", authority, QUARANTINE)

    @property
    def delivery_log(self) -> str:
        return join(self.root, "bronze", PLATFORM, "delivery_log")

    def silver(self, authority: str, table: str) -> str:
        return join(self.root, "silver", authority, table)

    def platform(self, table: str) -> str:
        return join(self.root, "silver", PLATFORM, table)

    def gold(self, authority: str, table: str) -> str:
        return join(self.root, "gold", authority, table)

    def audit(self, table: str) -> str:
        return join(self.root, "bronze", PLATFORM, table)
