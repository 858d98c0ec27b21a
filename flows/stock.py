"""Stock flow: Exact Online stock (ItemWarehouses) -> eAccounting article `StockBalance`, written only on change.

Record ids: a `StockPositions` webhook names an ItemWarehouse (one item in one warehouse), polls name the item.
50 changes to an item's stock in one warehouse are 50 events with one Key, which the engine coalesces into at most
two runs; every run computes the item's value over its selected warehouses and writes only when it differs from the
last value written (kept with the `Modified` it was read at, so an older reading never replaces a newer one). The
poll is the reconciliation: incremental through `sync/Inventory/ItemWarehouses` with the flow's stock index
(`flows/stock_index.py`), in full every `full_reconcile_hours`; it enqueues only items whose value changed, with
their rows, so those runs make no Exact call. See docs/flows/stock.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

import mapping
from app.xref import content_hash
from connectors.errors import NotFound
from flows.base import FlowContext, FlowDefinition, FlowOptions, Outcome, PollPage, RecordFailed
from flows.products import KIND as ARTICLE_KIND
from flows.products import link_article
from flows.stock_index import StockState, compact, summed, version

STOCK_KIND = "exact:stock>ea:article"
MAPPING = "stock_exact_to_eaccounting"
PAGE = 500
BULK_ARTICLE_LOOKUP = 200  # more unlinked items than this: list all articles (1,000 a call) instead of finding each

Calculation = Literal["available", "on_hand", "on_hand_minus_reserved_plus_planned_in"]
# The calculation modes as the StockBalance rule of the mapping ("available" is the shipped default's own rule).
_FORMULAS: dict[str, dict[str, Any]] = {
    "on_hand": {"source": "CurrentStock", "transforms": ["to_decimal", {"round": 2}], "if_missing": "error"},
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
        True,
        description="eAccounting keeps the stock of these articles; off: their StockBalance is never written "
        "(the 2018 API has no per-article stock switch)",
    )
    calculation: Calculation = Field(
        "available",
        description="available = on hand - planned out for sales orders; on_hand; "
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
    if opts.calculation == "available":
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


async def _remember(ctx: FlowContext, item_id: str, value: Decimal, read_version: int) -> None:
    await ctx.xref.set_last_value(STOCK_KIND, item_id, json.dumps({"v": _text(value), "m": read_version}))


# -- one record -------------------------------------------------------------------------------------------------


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The item's stock rows from Exact. A webhook's record id is an ItemWarehouse: its item is known from the
    index (or read once); any other id is the item."""
    rid = record_id.lower()
    state = _state(ctx)
    item_id = await state.item_of(rid)
    if item_id is None and ctx.trigger == "webhook":
        try:
            row = await ctx.exact.get_item_warehouse(rid)
        except NotFound:
            return None
        item_id = str(row.item).lower()
        await state.remember_owner(rid, item_id)
    item_id = item_id or rid
    rows = await ctx.exact.item_warehouses(item_id)
    code = next((r.item_code for r in rows if r.item_code), None)
    return {"Item": item_id, "ItemCode": code, "ItemWarehouses": [compact(r) for r in rows]}


async def _article(ctx: FlowContext, item_id: str, code: str) -> Any:
    """The item's article: through the link the products flow (or this flow) made, else by number (then linked)."""
    target = await ctx.xref.target(ARTICLE_KIND, item_id)
    if target is not None:
        try:
            return await ctx.eaccounting.get_article(target)
        except NotFound:
            await ctx.xref.unlink(ARTICLE_KIND, item_id)
    article = await ctx.eaccounting.find_article_by_number(code)
    if article is not None:
        await link_article(ctx, item_id, code, article.id)
    return article


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
    read = version(rows)
    async with _state(ctx).item_lock(item_id):
        last = await _last(ctx, item_id)
        if last is not None and read < last[1]:
            return Outcome("unchanged", reason=f"a newer stock reading of {code} ({_text(last[0])}) was written")
        if last is not None and last[0] == value:
            if read > last[1]:
                await _remember(ctx, item_id, value, read)
            return Outcome("unchanged", reason=f"stock of {code} is still {_text(value)}")
        article = await _article(ctx, item_id, code)
        if article is None:
            reason = f"SKU {code} has no eAccounting article (the products flow creates it)"
            if opts.missing_article == "fail":
                raise RecordFailed(reason, sku=code)
            return Outcome.skipped(reason)
        sent = {"Number": code, "StockBalance": value}
        before = article.stock_balance
        if before is not None and Decimal(str(before)) == value:
            await _remember(ctx, item_id, value, read)
            return Outcome("unchanged", target_id=article.id, reason=f"eAccounting already has {_text(value)}")
        payload = article.to_payload()
        payload["StockBalance"] = value
        ctx.target_payload = sent
        await ctx.eaccounting.update_article(article.id, payload)
        await _remember(ctx, item_id, value, read)
    where = ", ".join(opts.warehouses) if opts.warehouses else "all warehouses"
    reason = f"StockBalance {_text(Decimal(str(before or 0)))} -> {_text(value)} ({opts.calculation}, {where})"
    return Outcome("updated", target_id=article.id, reason=reason, target_payload=sent)


# -- reconciliation ---------------------------------------------------------------------------------------------


def _cursor(cursor: str | None) -> dict[str, Any]:
    """`{"ts": Timestamp, "full_at": epoch seconds of the last full read, "calc": what the values were computed
    with}`; a bare number (a manual `since`) continues after that Timestamp, 0 or 1 reads everything."""
    if not cursor:
        return {"ts": 0, "full_at": 0.0, "calc": None}
    if cursor.strip().isdigit():
        return {"ts": int(cursor), "full_at": 0.0 if int(cursor) <= 1 else time.time(), "calc": None}
    state: dict[str, Any] = json.loads(cursor)
    return {"ts": int(state.get("ts", 0)), "full_at": float(state.get("full_at", 0.0)), "calc": state.get("calc")}


def _calculation(ctx: FlowContext, opts: StockOptions) -> str:
    """A fingerprint of everything the values depend on: when it changes, the next poll compares every item."""
    overrides = ctx.config.mapping_overrides.get(MAPPING, {})
    basis = {"c": opts.calculation, "w": sorted(opts.warehouses), "z": opts.floor_at_zero, "o": overrides}
    return content_hash(basis)[:16]


async def _read(ctx: FlowContext, since: int) -> tuple[dict[str, dict[str, Any]], int]:
    """Every ItemWarehouse row changed after `since`, grouped per item (an item's rows may span pages)."""
    entries: dict[str, dict[str, Any]] = {}
    newest = since
    pages = rows = 0
    async for page in ctx.exact.sync_item_warehouses(max(since, 1)):
        for iw in page.rows:
            if iw.item is None:
                continue
            entry = entries.setdefault(str(iw.item).lower(), {"code": iw.item_code, "rows": {}})
            entry["rows"][str(iw.id).lower()] = compact(iw)
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


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Reconcile: read the changed stock rows (all of them when a full read is due), update the index, and enqueue
    the items whose value differs from the last one written, their rows travelling with them."""
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
    read, newest = await _read(ctx, 1 if full else state["ts"])
    if full:
        entries = read
    else:
        entries = await store.entries(list(read))
        for item, fresh in read.items():
            entry = entries.setdefault(item, {"code": fresh["code"], "rows": {}})
            entry["code"] = fresh["code"] or entry.get("code")
            entry["rows"].update(fresh["rows"])
    await store.store(entries, replace=full)
    cursor_out = json.dumps({"ts": newest, "full_at": now if full else state["full_at"], "calc": calc})
    if not opts.manage_stock:
        yield PollPage([], cursor_out)
        return
    written = await ctx.xref.last_values(STOCK_KIND, list(entries))
    lasts = {item: Decimal(json.loads(raw)["v"]) for item, raw in written.items()}
    changed: dict[str, dict[str, Any]] = {}
    for item, entry in entries.items():
        rows = list(entry["rows"].values())
        code = entry.get("code")
        if not rows or not code:
            continue
        try:
            value = stock_value(ctx, opts, item, code, rows)
        except RecordFailed:
            value = None  # the run reports it
        if value is None or lasts.get(item) != value:
            changed[item] = {"Item": item, "ItemCode": code, "ItemWarehouses": rows}
    ctx.log.info("stock.reconcile", full=full, items=len(entries), changed=len(changed), rows_read=len(read))
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
