"""Stock flow: Exact Online stock -> eAccounting article `StockBalance`, written only on change.

Exact's figures come from the endpoints that carry them: the poll reads `sync/Inventory/StockPositions` (per item and
warehouse: CurrentStock, PlanningIn, PlanningOut, ReservedStock; `sync/Inventory/ItemWarehouses` has no quantities),
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

import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

import mapping
from app.xref import content_hash
from connectors.errors import NotFound
from flows.base import ARTICLE_LOCK, FlowContext, FlowDefinition, FlowOptions, Outcome, PollPage, RecordFailed
from flows.products import KIND as ARTICLE_KIND
from flows.products import link_article
from flows.stock_index import StockState, from_item_warehouse, from_position, now_ms, row_key, summed
from flows.stock_target import changed_articles, check_written, require_writable_stock

STOCK_KIND = "exact:stock>ea:article"
MAPPING = "stock_exact_to_eaccounting"
PAGE = 500
BULK_ARTICLE_LOOKUP = 200  # more items than this: list all articles (1,000 a call) instead of finding them by number
# In a poll page's payload: compare with the article's StockBalance in eAccounting, not with the last value written.
COMPARE_WITH_ARTICLE = "CompareWithArticle"

Calculation = Literal["on_hand", "available", "on_hand_minus_reserved_plus_planned_in"]
# The calculation modes as the StockBalance rule of the mapping ("on_hand" is the shipped default's own rule).
_FORMULAS: dict[str, dict[str, Any]] = {
    "available": {
        "source": "CurrentStock",
        "transforms": ["to_decimal", {"subtract": {"path": "PlannedStockOut", "default": 0}}, {"round": 2}],
        "if_missing": "error",
    },
    "on_hand_minus_reserved_plus_planned_in": {
        "source": "CurrentStock",
        "transforms": [
            "to_decimal",
            {"subtract": {"path": "ReservedStock", "default": 0}},
            {"add": {"path": "PlannedStockIn", "default": 0}},
            {"round": 2},
        ],
        "if_missing": "error",
    },
}
_VARIANTS: dict[tuple[str, str], mapping.CompiledMapping] = {}


class StockOptions(FlowOptions):
    """Which stock number goes to eAccounting, from which warehouses, and how often everything is compared."""

    manage_stock: bool = Field(
        True, description="eAccounting's StockBalance follows Exact; off: it is never written (the flow is idle)"
    )
    calculation: Calculation = Field(
        "on_hand",
        description="on_hand = Exact's CurrentStock (eAccounting subtracts its own open orders and shipments); "
        "available = on hand - planned out for sales orders (only when eAccounting takes no orders); "
        "on_hand_minus_reserved_plus_planned_in",
    )
    warehouses: list[str] = Field(
        default_factory=list,
        description="Exact warehouse codes whose stock is summed (empty: all); one code = that warehouse's stock",
    )
    floor_at_zero: bool = Field(True, description="Write 0 instead of a negative number")
    missing_article: Literal["skip", "fail"] = Field(
        "skip", description="An item without an eAccounting article (by link or number) is skipped, or fails"
    )
    full_reconcile_hours: float = Field(
        24.0, ge=0, description="Read every stock row (1 Exact call per 1,000) this often; 0: on every poll"
    )


def _state(ctx: FlowContext) -> StockState:
    return StockState(ctx.redis, ctx.settings.redis.key_prefix)


def _mapping(ctx: FlowContext, opts: StockOptions) -> mapping.CompiledMapping:
    """The stock mapping with the calculation mode's rule, under the user's overrides (which win)."""
    if opts.calculation == "on_hand":
        compiled: mapping.CompiledMapping = ctx.mapping
        return compiled
    overrides = ctx.config.mapping_overrides.get(MAPPING, {})
    key = (opts.calculation, json.dumps(overrides, sort_keys=True))
    if key not in _VARIANTS:
        spec = mapping.merge_overrides(mapping.load_default(MAPPING), {"fields": {"StockBalance": _FORMULAS[key[0]]}})
        if overrides:
            spec = mapping.merge_overrides(spec, overrides)
        _VARIANTS[key] = mapping.compile_mapping(spec)
    return _VARIANTS[key]


def stock_value(ctx: FlowContext, opts: StockOptions, item_id: str, code: str | None, rows: list[Any]) -> Decimal:
    """The StockBalance for an item's rows: summed over the selected warehouses, mapped, floored at zero."""
    record = summed(item_id, code, rows, opts.warehouses)
    try:
        payload = _mapping(ctx, opts).map(record, mode="update").payload or {}
    except mapping.MappingError as exc:
        raise RecordFailed(f"mapping {MAPPING}: {exc}", field=exc.target_field) from exc
    if payload.get("StockBalance") is None:
        raise RecordFailed(f"mapping {MAPPING} gave no StockBalance for item {code}")
    value = Decimal(str(payload["StockBalance"]))
    return max(value, Decimal(0)) if opts.floor_at_zero else value


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


async def _last(ctx: FlowContext, item_id: str) -> tuple[Decimal, int] | None:
    raw = await ctx.xref.last_value(STOCK_KIND, item_id)
    if raw is None:
        return None
    data = json.loads(raw)
    return Decimal(data["v"]), int(data["m"])


async def _remember(ctx: FlowContext, item_id: str, value: Decimal, read_at: int) -> None:
    await ctx.xref.set_last_value(STOCK_KIND, item_id, json.dumps({"v": _text(value), "m": read_at}))


# -- one record -------------------------------------------------------------------------------------------------


async def _item_of_key(ctx: FlowContext, key: str) -> str | None:
    """The item a record id names. Poll ids are items. Any other run's id may be a webhook Key (a webhook run, and its
    follow-ups and replays): a stock row or Key already resolved, an item the index knows, else an ItemWarehouse
    or an item, by filtered reads (a deleted record answers empty, not a 404 on Exact's error budget); the
    resolution is remembered. None: nothing has that id (any more)."""
    if ctx.trigger in ("poll", "reconcile"):
        return key
    state = _state(ctx)
    item_id = await state.item_of(key)
    if item_id is not None:
        return item_id
    if await state.entries([key]):
        return key
    row = await ctx.exact.find_item_warehouse(key)
    if row is not None and row.item is not None:
        item_id = str(row.item).lower()
    elif await ctx.exact.find_item(key) is not None:
        item_id = key
    else:
        return None
    await state.remember_owner(key, item_id)
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
    last = await _last(ctx, item_id)
    if last is not None and read < last[1]:
        return Outcome("unchanged", reason=f"a newer stock reading of {code} ({_text(last[0])}) was written")
    if not compare and last is not None and last[0] == value:
        await _remember(ctx, item_id, value, read)
        return Outcome("unchanged", reason=f"stock of {code} is still {_text(value)}")
    try:
        article = await ctx.eaccounting.get_article(article_id)
    except NotFound:
        await ctx.xref.unlink(ARTICLE_KIND, item_id)
        return None
    sent = {"Number": code, "StockBalance": value}
    before = article.stock_balance
    if before is not None and Decimal(str(before)) == value:
        await _remember(ctx, item_id, value, read)
        return Outcome("unchanged", target_id=article.id, reason=f"eAccounting already has {_text(value)}")
    await require_writable_stock(ctx)
    payload = article.to_payload()
    payload["StockBalance"] = value
    ctx.target_payload = sent
    answer = await ctx.eaccounting.update_article(article.id, payload)
    check_written(ctx, value, answer, code)
    await _remember(ctx, item_id, value, read)
    opts: StockOptions = ctx.options
    where = ", ".join(opts.warehouses) if opts.warehouses else "all warehouses"
    reason = f"StockBalance {_text(Decimal(str(before or 0)))} -> {_text(value)} ({opts.calculation}, {where})"
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


# -- reconciliation ---------------------------------------------------------------------------------------------


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
        last = await _last(ctx, item_id)
        if last is None or last[1] <= read:
            await _remember(ctx, item_id, value, read)


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
    state = _cursor(cursor)
    store = _state(ctx)
    now = time.time()
    calc = _calculation(ctx, opts)
    full = (
        state["ts"] <= 1
        or now - state["full_at"] >= opts.full_reconcile_hours * 3600
        or (state["calc"] is not None and state["calc"] != calc)
        or not await store.has_index()
    )
    compare = full or bool(cursor and cursor.strip().isdigit())
    read_at = now_ms()
    read, newest = await _read(ctx, 1 if full else state["ts"])
    touched: dict[str, Any] = {}
    ea_cursor = state["ea"]
    if full:
        entries = read
    else:
        if opts.manage_stock:
            touched, ea_cursor = await _changed_in_eaccounting(ctx, state["ea"])
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
    cursor_out = json.dumps({"ts": newest, "full_at": now if full else state["full_at"], "calc": calc, "ea": ea_cursor})
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
)
FLOWS = (STOCK,)
