"""Stock flow: Exact Online stock -> eAccounting article `StockBalance`, written only on change.

Modules: this one (one record: fetch and handle, and the definition), `flows/stock_value.py` (options, the value,
the last value written), `flows/stock_reconcile.py` (the poll), `flows/stock_index.py` (Redis state),
`flows/stock_target.py` (eAccounting's side).

Exact's figures come from the endpoints that carry them: the poll reads `sync/Inventory/StockPositions` (per item
and warehouse: CurrentStock, PlanningIn, PlanningOut, ReservedStock; `sync/Inventory/ItemWarehouses` has none),
a webhook run reads the item's `inventory/ItemWarehouses` rows (CurrentStock, PlannedStockIn/Out, ReservedStock).
Record ids: polls name the item; a `StockPositions` webhook's Key is resolved to its item (an ItemWarehouse, a stock
row the index knows, or the item itself: which one Exact sends is not documented, all are handled). Every run
computes the item's value over its selected warehouses (default: on hand, `CurrentStock`; docs/flows/stock.md says
why) and writes only when it differs from the last value written (kept with the time it was read, so an older
reading never replaces a newer one). The write holds the article's lock (`flows.base.ARTICLE_LOCK`, shared with the
products flow) from the GET to the PUT, and fails loudly when eAccounting's stock module makes `StockBalance`
read-only or the PUT's answer does not carry the value (`flows/stock_target.py`).

The poll is the reconciliation: incremental through the stock index (`flows/stock_index.py`), comparing with the last
value written, plus the articles eAccounting changed itself since the last poll (it lowers a balance when one of its
orders ships); in full every `full_reconcile_hours` (and on the first poll, and from a manual `since`), comparing
with every article's `StockBalance`. It enqueues only items whose value differs, with their rows, so those runs make
no Exact call.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.errors import NotFound
from flows.base import ARTICLE_LOCK, FlowContext, FlowDefinition, Outcome, RecordFailed, RecordLabel, label_value
from flows.products import KIND as ARTICLE_KIND
from flows.products import link_article
from flows.stock_index import from_item_warehouse, now_ms
from flows.stock_reconcile import poll
from flows.stock_target import check_written, require_writable_stock
from flows.stock_value import (
    COMPARE_WITH_ARTICLE,
    MAPPING,
    StockOptions,
    last_written,
    remember,
    state,
    stock_value,
    text,
)

__all__ = ["FLOWS", "STOCK", "StockOptions", "fetch", "handle", "poll"]

# -- one record -------------------------------------------------------------------------------------------------


async def _item_of_key(ctx: FlowContext, key: str) -> str | None:
    """The item a record id names. Poll ids are items. Any other run's id may be a webhook Key (a webhook run, and its
    follow-ups and replays): a stock row or Key already resolved, an item the index knows, else an ItemWarehouse
    or an item, by filtered reads (a deleted record answers empty, not a 404 on Exact's error budget); the
    resolution is remembered. None: nothing has that id (any more)."""
    if ctx.trigger in ("poll", "reconcile"):
        return key
    store = state(ctx)
    item_id = await store.item_of(key)
    if item_id is not None:
        return item_id
    if await store.entries([key]):
        return key
    row = await ctx.exact.find_item_warehouse(key)
    if row is not None and row.item is not None:
        item_id = str(row.item).lower()
    elif await ctx.exact.find_item(key) is not None:
        item_id = key
    else:
        return None
    await store.remember_owner(key, item_id)
    return item_id


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The item's stock rows from `inventory/ItemWarehouses`, dated by when they were read; the record id resolved to
    its item first (`_item_of_key`). None: neither exists (any more)."""
    item_id = await _item_of_key(ctx, record_id.lower())
    if item_id is None:
        return None
    read_at = now_ms()
    rows = await ctx.exact.item_warehouses(item_id)
    code = next((r.item_code for r in rows if r.item_code), None)
    return {
        "Item": item_id,
        "ItemCode": code,
        "ItemWarehouses": [from_item_warehouse(r) for r in rows],
        "ReadAt": read_at,
    }


async def _article_id(ctx: FlowContext, item_id: str, code: str) -> str | None:
    """The item's article: the link the products flow (or this flow) made, else found by number (then linked)."""
    target = await ctx.xref.target(ARTICLE_KIND, item_id)
    if target is not None:
        return target
    article = await ctx.eaccounting.find_article_by_number(code)
    if article is None:
        return None
    await link_article(ctx, item_id, code, article.id)
    return article.id


async def _write(
    ctx: FlowContext, item_id: str, code: str, article_id: str, value: Decimal, read: int, *, compare: bool
) -> Outcome | None:
    """Under the article's lock: compare and write. `compare`: with the article itself, not the last value written.
    None: the linked article no longer exists (it is unlinked)."""
    last = await last_written(ctx, item_id)
    if last is not None and read < last[1]:
        return Outcome("unchanged", reason=f"a newer stock reading of {code} ({text(last[0])}) was written")
    if not compare and last is not None and last[0] == value:
        await remember(ctx, item_id, value, read)
        return Outcome("unchanged", reason=f"stock of {code} is still {text(value)}")
    try:
        article = await ctx.eaccounting.get_article(article_id)
    except NotFound:
        await ctx.xref.unlink(ARTICLE_KIND, item_id)
        return None
    sent = {"Number": code, "StockBalance": value}
    before = article.stock_balance
    if before is not None and Decimal(str(before)) == value:
        await remember(ctx, item_id, value, read)
        return Outcome("unchanged", target_id=article.id, reason=f"eAccounting already has {text(value)}")
    await require_writable_stock(ctx)
    payload = article.to_payload()
    payload["StockBalance"] = value
    ctx.target_payload = sent
    answer = await ctx.eaccounting.update_article(article.id, payload)
    check_written(ctx, value, answer, code)
    await remember(ctx, item_id, value, read)
    opts: StockOptions = ctx.options
    where = ", ".join(opts.warehouses) if opts.warehouses else "all warehouses"
    reason = f"StockBalance {text(Decimal(str(before or 0)))} -> {text(value)} ({opts.calculation}, {where})"
    return Outcome("updated", target_id=article.id, reason=reason, target_payload=sent)


async def handle(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    opts: StockOptions = ctx.options
    item_id = str(source["Item"]).lower()
    code = str(source.get("ItemCode") or "").strip()
    rows: list[dict[str, Any]] = list(source.get("ItemWarehouses") or [])
    if not opts.manage_stock:
        return Outcome.skipped("manage_stock is off: eAccounting's stock is not written")
    if not rows or not code:
        return Outcome.skipped("no stock positions in Exact for this item (not a stock item, or deleted)")
    value = stock_value(ctx, opts, item_id, code, rows)
    read = int(source.get("ReadAt") or 0)
    compare = bool(source.get(COMPARE_WITH_ARTICLE))
    for _ in range(2):  # a linked article deleted in eAccounting: unlinked, then looked up by number once more
        article_id = await _article_id(ctx, item_id, code)
        if article_id is None:
            break
        # The article's lock, not the item's: it also keeps the products flow from writing between our GET and PUT,
        # and (the item having one article) serialises a webhook run and a poll run of the item, whose record ids
        # differ, so the comparison with the last value and the write are one step.
        async with ctx.xref.lock(ARTICLE_LOCK, article_id):
            outcome = await _write(ctx, item_id, code, article_id, value, read, compare=compare)
        if outcome is not None:
            return outcome
    reason = f"SKU {code} has no eAccounting article (the products flow creates it)"
    if opts.missing_article == "fail":
        raise RecordFailed(reason, sku=code)
    return Outcome.skipped(reason)


def label(source: Mapping[str, Any]) -> RecordLabel:
    """ "stock of SKU-0001"."""
    return RecordLabel("stock of", label_value(source.get("ItemCode")))


STOCK = FlowDefinition(
    name="stock",
    title="Exact Online stock -> eAccounting article stock",
    source="exact",
    target="eaccounting",
    fetch=fetch,
    handle=handle,
    poll=poll,
    webhook_topics=("StockPositions",),
    options_model=StockOptions,
    default_mapping=MAPPING,
    label=label,
)
FLOWS = (STOCK,)
