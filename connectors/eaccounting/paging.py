"""Paging and filters of the eAccounting client: `Paged` (every item of a list endpoint, page by page), `or_chunks`
(`Field eq 'a' or ...` clauses short enough for a query string) and `and_` (clauses joined)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

from connectors.eaccounting.models import Page
from connectors.eaccounting.wire import odata_string
from connectors.errors import PermanentError

__all__ = ["PAGE_GUARD", "Paged", "and_", "or_chunks"]

M = TypeVar("M", bound=BaseModel)

# A `$filter` with many `or`ed numbers goes into the query string; stay well below common URL limits (2 KB+).
_FILTER_BUDGET = 1500
PAGE_GUARD = 100_000  # no real company has this many pages; a server that never ends paging is a bug


class Paged(Generic[M], AsyncIterator[M]):
    """Every item of a list endpoint, page by page, as an async iterator.

    Pages are fetched lazily; an item whose `Id` was already yielded (it moved to a later page while we paged) is
    skipped. After the first page, `server_time_utc` holds `Meta.ServerTimeUtc` (the cursor for the next
    incremental read) and `total` the number of results the server reported.
    """

    def __init__(self, fetch: Callable[[int], Awaitable[Page[M]]]) -> None:
        self._fetch = fetch
        self._items: AsyncIterator[M] | None = None
        self.server_time_utc: datetime | None = None
        self.total: int | None = None
        self.pages_fetched = 0

    def __aiter__(self) -> Paged[M]:
        return self

    async def __anext__(self) -> M:
        if self._items is None:
            self._items = self._iterate()
        return await self._items.__anext__()

    async def _iterate(self) -> AsyncIterator[M]:
        seen: set[str] = set()
        number = 1
        while number <= PAGE_GUARD:
            page = await self._fetch(number)
            self.pages_fetched += 1
            if number == 1:
                self.server_time_utc = page.meta.server_time_utc
                self.total = page.meta.total_number_of_results
            for item in page.data:
                ident = getattr(item, "id", None)
                if isinstance(ident, str):
                    if ident.lower() in seen:
                        continue
                    seen.add(ident.lower())
                yield item
            if not page.data or number >= page.meta.total_number_of_pages:
                return
            number += 1
        raise PermanentError(f"paging did not end after {PAGE_GUARD} pages", system="eaccounting")

    async def all(self) -> list[M]:
        """Every item in a list (reference data, small collections)."""
        return [item async for item in self]


def and_(*clauses: str | None) -> str | None:
    parts = [c for c in clauses if c]
    return " and ".join(parts) if parts else None


def or_chunks(field: str, values: list[str]) -> list[str]:
    """`Field eq 'a' or Field eq 'b' ...` clauses, each short enough for a query string."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for value in values:
        clause = f"{field} eq {odata_string(value)}"
        if current and size + len(clause) + 4 > _FILTER_BUDGET:
            chunks.append(" or ".join(current))
            current, size = [], 0
        current.append(clause)
        size += len(clause) + 4
    if current:
        chunks.append(" or ".join(current))
    return chunks
