"""Paging through Exact's OData collections: follow `__next` literally, refuse a link that repeats or leaves the host.

Exact pages 60 rows on regular endpoints and 1,000 on sync and bulk endpoints; `__next` carries the query of the
first request plus `$skiptoken` (docs/exact-online-api.md §4.3), so it is requested exactly as given, never rebuilt.
`$skip` is not supported on newer endpoints and is never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

from connectors.errors import PermanentError

__all__ = ["NextLinkPaginator", "SyncPage"]

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class SyncPage(Generic[M]):
    """One page of a sync (or bulk) read: the rows and the cursor to store once they are processed.

    `timestamp` is the highest `Timestamp` seen so far in this read (the cursor passed in while no row had one),
    so storing it after each page resumes exactly after that page. Bulk pages have no Timestamps: their
    `timestamp` stays the value passed in (0).
    """

    rows: list[M]
    timestamp: int


class NextLinkPaginator:
    """Hands out the next link to request; raises on a repeated link (a server that would page forever) and on a
    link to another host (the bearer token must not travel there)."""

    def __init__(self, base_url: str, *, system: str = "exact") -> None:
        base = httpx.URL(base_url)
        self._origin = (base.scheme, base.host, base.port)
        self._seen: set[str] = set()
        self._system = system
        self.pages = 0

    def advance(self, link: str | None, endpoint: str) -> str | None:
        """Count one page; return `link` if there is a next page, None when done."""
        self.pages += 1
        if not link:
            return None
        url = httpx.URL(link)
        if (url.scheme, url.host, url.port) != self._origin:
            raise PermanentError(
                f"__next points to another host ({url.host}); refusing to follow it",
                system=self._system,
                endpoint=endpoint,
            )
        if link in self._seen:
            raise PermanentError(
                f"__next repeated after {self.pages} pages; the server would page forever",
                system=self._system,
                endpoint=endpoint,
            )
        self._seen.add(link)
        return link
