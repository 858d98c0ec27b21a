"""The stock flow's reconciliation (its poll): read the changed stock positions (all of them when a full read is
due), keep them in the stock index, and enqueue the items whose value differs, their rows travelling with them.

Differs from what: a full read, a manual `since`, and the articles eAccounting changed itself since the last poll
compare with the article's StockBalance in eAccounting; the other items of an incremental poll with the last value
written (no eAccounting call). See docs/flows/stock.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.xref import content_hash
from flows.base import ARTICLE_LOCK, FlowContext, PollPage, RecordFailed
from flows.products import KIND as ARTICLE_KIND
from flows.products import link_article
from flows.stock_index import from_position, now_ms, row_key
from flows.stock_target import changed_articles
from flows.stock_value import (
    COMPARE_WITH_ARTICLE,
    MAPPING,
    STOCK_KIND,
    StockOptions,
    last_written,
    remember,
    state,
    stock_value,
)

PAGE = 500
BULK_ARTICLE_LOOKUP = 200  # more items than this: list all articles (1,000 a call) instead of finding them by number


def _cursor(cursor: str | None) -> dict[str, Any]:
    """`{"ts": Timestamp, "full_at": epoch seconds of the last full read, "calc": what the values were computed
    with, "ea": eAccounting's time of its last article listing}`; a bare number (a manual `since`) continues after
    that Timestamp, 0 or 1 reads everything."""
    if not cursor:
        return {"ts": 0, "full_at": 0.0, "calc": None, "ea": None}
    if cursor.strip().isdigit():
        return {"ts": int(cursor), "full_at": 0.0 if int(cursor) <= 1 else time.time(), "calc": None, "ea": None}
    state: dict[str, Any] = json.loads(cursor)
    return {
        "ts": int(state.get("ts", 0)),
        "full_at": float(state.get("full_at", 0.0)),
        "calc": state.get("calc"),
        "ea": state.get("ea"),
    }


def _calculation(ctx: FlowContext, opts: StockOptions) -> str:
    """A fingerprint of everything the values depend on: when it changes, the next poll compares every item."""
    overrides = ctx.config.mapping_overrides.get(MAPPING, {})
    basis = {"c": opts.calculation, "w": sorted(opts.warehouses), "z": opts.floor_at_zero, "o": overrides}
    return content_hash(basis)[:16]


async def _read(ctx: FlowContext, since: int) -> tuple[dict[str, dict[str, Any]], int]:
    """Every stock position changed after `since`, grouped per item (an item's rows may span pages)."""
    entries: dict[str, dict[str, Any]] = {}
    newest = since
    pages = rows = 0
    async for page in ctx.exact.sync_stock_positions(max(since, 1)):
        for sp in page.rows:
            if sp.item_id is None:
                continue
            entry = entries.setdefault(str(sp.item_id).lower(), {"code": sp.item_code, "rows": {}})
            row = from_position(sp)
            entry["rows"][row_key(row)] = row
        newest = page.timestamp
        pages += 1
        rows += len(page.rows)
        ctx.log.info("stock.rows_page", page=pages, rows=len(page.rows), total=rows, full=since <= 1)
    return entries, newest


async def _link_missing(ctx: FlowContext, codes: Mapping[str, str]) -> None:
    """Link changed items to their articles in bulk, so their runs need not look them up one by one."""
    linked = await ctx.xref.targets(ARTICLE_KIND, list(codes))
    missing = {item: code for item, code in codes.items() if item not in linked}
    if not missing:
        return
    if len(missing) > BULK_ARTICLE_LOOKUP:
        numbers = {a.number: a.id async for a in ctx.eaccounting.iter_articles() if a.number}
    else:
        numbers = {n: a.id for n, a in (await ctx.eaccounting.articles_by_numbers(missing.values())).items()}
    for item, code in missing.items():
        if code in numbers:
            await link_article(ctx, item, code, numbers[code])


async def _listed(
    ctx: FlowContext, codes: Mapping[str, str], *, everything: bool
) -> tuple[dict[str, Any], datetime | None]:
    """The article of each item (item -> code) as eAccounting has it now: every article listed (1,000 a call), or,
    for a few items, those with their numbers; and the server's time of a full listing. Unlinked items found by
    number are linked. Items missing from the answer have no article, or a linked one that is gone."""
    linked = await ctx.xref.targets(ARTICLE_KIND, list(codes))
    listed_at = None
    if everything or len(codes) > BULK_ARTICLE_LOOKUP:
        pages = ctx.eaccounting.iter_articles()
        articles = [a async for a in pages]
        listed_at = pages.server_time_utc
    else:
        articles = list((await ctx.eaccounting.articles_by_numbers(codes.values())).values())
    by_id = {a.id.lower(): a for a in articles}
    by_number = {a.number: a for a in articles if a.number}
    found: dict[str, Any] = {}
    for item, code in codes.items():
        target = linked.get(item)
        article = by_id.get(target.lower()) if target is not None else by_number.get(code)
        if article is None:
            continue
        if target is None:
            await link_article(ctx, item, code, article.id)
        found[item] = article
    return found, listed_at


async def _adopt(ctx: FlowContext, item_id: str, article_id: str, value: Decimal, read: int) -> None:
    """The article has the item's value, but the last value written says otherwise (or nothing): remember the value,
    so incremental polls compare with what eAccounting has. Under the article's lock, never over a newer reading."""
    async with ctx.xref.lock(ARTICLE_LOCK, article_id):
        last = await last_written(ctx, item_id)
        if last is None or last[1] <= read:
            await remember(ctx, item_id, value, read)


async def _changed_in_eaccounting(ctx: FlowContext, since: str | None) -> tuple[dict[str, Any], str | None]:
    """Items whose article eAccounting changed since the last poll (item -> article), and the next `ea` cursor."""
    articles, server_time = await changed_articles(ctx, datetime.fromisoformat(since) if since else None)
    found: dict[str, Any] = {}
    for article_id, article in articles.items():
        item = await ctx.xref.source(ARTICLE_KIND, article_id)
        if item is not None:
            found[item.lower()] = article
    return found, server_time.isoformat() if server_time else since


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Reconcile: read the changed stock positions (all of them when a full read is due), update the index, and
    enqueue the items whose value differs, their rows travelling with them. Differs from what: a full read, a manual
    `since`, and the articles eAccounting changed itself compare with the article's StockBalance; the other items of
    an incremental poll with the last value written (no eAccounting call)."""
    opts: StockOptions = ctx.options
    position = _cursor(cursor)
    store = state(ctx)
    now = time.time()
    calc = _calculation(ctx, opts)
    full = (
        position["ts"] <= 1
        or now - position["full_at"] >= opts.full_reconcile_hours * 3600
        or (position["calc"] is not None and position["calc"] != calc)
        or not await store.has_index()
    )
    compare = full or bool(cursor and cursor.strip().isdigit())
    read_at = now_ms()
    read, newest = await _read(ctx, 1 if full else position["ts"])
    touched: dict[str, Any] = {}
    ea_cursor = position["ea"]
    if full:
        entries = read
    else:
        if opts.manage_stock:
            touched, ea_cursor = await _changed_in_eaccounting(ctx, position["ea"])
        entries = await store.entries(list({*read, *touched}))
        for item, fresh in read.items():
            entry = entries.setdefault(item, {"code": fresh["code"], "rows": {}})
            entry["code"] = fresh["code"] or entry.get("code")
            entry["rows"].update(fresh["rows"])
    await store.store({item: entries[item] for item in read if item in entries} if not full else entries, replace=full)
    written = await ctx.xref.last_values(STOCK_KIND, list(entries))
    lasts = {item: Decimal(json.loads(raw)["v"]) for item, raw in written.items()}
    codes = {item: str(entry["code"]) for item, entry in entries.items() if entry["rows"] and entry.get("code")}
    articles: dict[str, Any] = dict(touched)
    if compare and opts.manage_stock:
        articles, listed_at = await _listed(ctx, codes, everything=full)
        ea_cursor = listed_at.isoformat() if listed_at else ea_cursor
    cursor_out = json.dumps(
        {"ts": newest, "full_at": now if full else position["full_at"], "calc": calc, "ea": ea_cursor}
    )
    if not opts.manage_stock:
        yield PollPage([], cursor_out)
        return
    changed: dict[str, dict[str, Any]] = {}
    adopted = 0
    for item, code in codes.items():
        rows = list(entries[item]["rows"].values())
        payload = {"Item": item, "ItemCode": code, "ItemWarehouses": rows, "ReadAt": read_at}
        try:
            value = stock_value(ctx, opts, item, code, rows)
        except RecordFailed:
            changed[item] = payload  # the run reports it
            continue
        if not compare and item not in touched:
            if lasts.get(item) != value:
                changed[item] = payload
            continue
        article = articles.get(item)
        balance = article.stock_balance if article is not None else None
        if article is None or balance is None or Decimal(str(balance)) != value:
            changed[item] = {**payload, COMPARE_WITH_ARTICLE: True}
        elif lasts.get(item) != value:
            await _adopt(ctx, item, article.id, value, read_at)
            adopted += 1
    ctx.log.info(
        "stock.reconcile",
        full=full,
        compared_with="eaccounting" if compare else "last_written",
        items=len(entries),
        changed=len(changed),
        rows_read=sum(len(e["rows"]) for e in read.values()),
        changed_in_eaccounting=len(touched),
        articles_found=len(articles),
        adopted=adopted,
    )
    if not compare:
        await _link_missing(ctx, {item: str(p["ItemCode"]) for item, p in changed.items()})
    ids = list(changed)
    for start in range(0, len(ids), PAGE):
        chunk = ids[start : start + PAGE]
        yield PollPage(chunk, None, {item: changed[item] for item in chunk})
    yield PollPage([], cursor_out)
