"""The stock flow's eAccounting side: whether `StockBalance` can be written at all, whether a write took, and which
articles eAccounting changed itself since the last poll.

- **The stock module.** Since 2020 the description says of `ArticleApi.StockBalance`: "When stock module is active,
  this is read only" (docs/eaccounting-api.md §6, eaccounting-facts.md). Whether such a PUT is refused or ignored is
  not documented; the simulator accepts it and keeps the old value (the stricter reading: nothing tells the client).
  The company settings name the activated modules (`ActivatedModules`, strings); the name of the stock module is not
  documented either (?), so any module whose name says stock (`stock`, `inventory`, `lager`, `voorraad`, `varasto`)
  counts. Detected: every run fails with `STOCK_MODULE_REASON` (an alert, the activity log) and writes nothing.
- **A write that did nothing** is never reported as success: the PUT's answer (the 2020 description answers
  `ArticleApi`) must carry the balance sent; when it does not, the run fails with the same plain reason, whatever the
  module is called.
- **Articles eAccounting changed itself.** eAccounting lowers `StockBalance` itself when one of its orders is marked
  shipped. An incremental poll lists the articles changed since its last eAccounting read (`ChangedUtc`, 1,000 a
  call) so the next poll puts Exact's figure back (docs/flows/stock.md, "Stock in the headline setup").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flows.base import FlowContext, RecordFailed

__all__ = [
    "OVERLAP",
    "STOCK_MODULE_REASON",
    "changed_articles",
    "check_written",
    "require_writable_stock",
    "stock_module",
]

_STOCK_MODULE = re.compile(r"stock|inventory|lager|voorraad|varasto", re.IGNORECASE)
_SETTINGS_TTL = 900.0
OVERLAP = timedelta(seconds=5)
STOCK_MODULE_REASON = (
    "eAccounting keeps this company's stock itself (its stock module is active), so the API ignores a StockBalance "
    "written to an article: nothing was written. Either turn the stock module off in eAccounting, or keep the stock "
    "in eAccounting and switch this flow off (option manage_stock: false)."
)


async def stock_module(ctx: FlowContext) -> str | None:
    """The activated eAccounting module that makes `StockBalance` read-only, or None (company settings, cached)."""
    settings = await ctx.cache.get("ea:companysettings", ctx.eaccounting.company_settings, ttl=_SETTINGS_TTL)
    return next((m for m in settings.activated_modules or () if _STOCK_MODULE.search(m)), None)


async def require_writable_stock(ctx: FlowContext) -> None:
    module = await stock_module(ctx)
    if module is not None:
        raise RecordFailed(STOCK_MODULE_REASON, module=module)


def check_written(ctx: FlowContext, sent: Decimal, answer: Any, code: str) -> None:
    """The article eAccounting answered must carry the balance sent; else the write did nothing."""
    kept = getattr(answer, "stock_balance", None)
    if kept is not None and Decimal(str(kept)) == sent:
        return
    ctx.cache.invalidate("ea:companysettings")  # read the modules again: one may have been switched on
    raise RecordFailed(STOCK_MODULE_REASON, sku=code, sent=str(sent), kept=None if kept is None else str(kept))


async def changed_articles(ctx: FlowContext, since: datetime | None) -> tuple[dict[str, Any], datetime | None]:
    """Articles changed in eAccounting after `since` (by id), and the server's time to read from next time.
    Without a `since` nothing is read: the first poll is a full reconcile, which compares every article anyway.
    The read starts `OVERLAP` before `since`: a change stamped in the same instant as the last listing is not missed
    (an article read twice is compared with the last value written, which costs nothing)."""
    if since is None:
        return {}, None
    pages = ctx.eaccounting.iter_articles(modified_since=since - OVERLAP)
    found = {a.id.lower(): a async for a in pages}
    return found, pages.server_time_utc or since
