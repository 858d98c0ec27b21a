"""eAccounting's article codings, as the orders flow needs them to read an order's VAT: per article (by id and by
number) the coding's VAT rate and whether it codes a service.

Loaded once (`/v2/articleaccountcodings`, then `/v2/articles` 1,000 a page) and refreshed incrementally by
`ChangedUtc` at most every `refresh_seconds`, or when an order names an article the index does not know yet (one
refresh per miss, not per row). Orders whose rows state their own rate (customer invoices) need no index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flows.base import FlowContext
from flows.orders_vat import ArticleVat

KEY = "orders:ea_article_vat"


@dataclass(slots=True)
class ArticleIndex:
    by_id: dict[str, ArticleVat] = field(default_factory=dict)
    by_number: dict[str, ArticleVat] = field(default_factory=dict)
    changed_since: datetime | None = None
    refreshed_at: float = float("-inf")

    def lookup(self, row: Mapping[str, Any]) -> ArticleVat | None:
        found = self.by_id.get(str(row.get("ArticleId") or "").lower())
        return found if found is not None else self.by_number.get(str(row.get("ArticleNumber") or ""))

    async def refresh(self, ctx: FlowContext) -> None:
        codings = {
            c.id.lower(): ArticleVat(c.vat_rate_percent or Decimal(0), (c.type or "").lower() == "service")
            for c in await ctx.eaccounting.article_account_codings()
        }
        newest = self.changed_since
        async for article in ctx.eaccounting.iter_articles(modified_since=self.changed_since):
            vat = codings.get(str(article.coding_id or "").lower())
            if vat is None:
                continue
            self.by_id[article.id.lower()] = vat
            if article.number:
                self.by_number[article.number] = vat
            if article.changed_utc is not None and (newest is None or article.changed_utc > newest):
                newest = article.changed_utc
        # Overlap a second: an article changed in the same second as the newest one read is read again.
        self.changed_since = newest - timedelta(seconds=1) if newest is not None else None
        self.refreshed_at = time.monotonic()


async def article_vat(
    ctx: FlowContext, rows: Sequence[Mapping[str, Any]], refresh_seconds: float
) -> Callable[[Mapping[str, Any]], ArticleVat | None]:
    """A lookup of the article facts of `rows`, the index refreshed when stale or missing one of them."""

    async def fresh() -> ArticleIndex:
        return ArticleIndex()

    index: ArticleIndex = await ctx.cache.get(KEY, fresh, ttl=float("inf"))
    wanted = [r for r in rows if not r.get("IsTextRow") and r.get("PercentVat") is None]
    stale = time.monotonic() - index.refreshed_at >= refresh_seconds
    if wanted and (stale or any(index.lookup(r) is None for r in wanted)):
        await index.refresh(ctx)
    return index.lookup
