"""Stock flow: Exact Online stock (ItemWarehouses) -> eAccounting article `StockBalance`, written only on change.

Record ids: a `StockPositions` webhook's Key names an ItemWarehouse in the simulator (an item ID is accepted too),
polls name the item. 50 changes to an item's stock in one warehouse are 50 events with one Key, which the engine
coalesces into at most two runs; every run computes the item's value over its selected warehouses and writes only
when it differs from the last value written (kept with the `Modified` it was read at, so an older reading never
replaces a newer one). The write holds the article's lock (`flows.base.ARTICLE_LOCK`, shared with the products
flow) from the GET to the PUT. The poll is the reconciliation: incremental through `sync/Inventory/ItemWarehouses`
with the flow's stock index (`flows/stock_index.py`), comparing with the last value written; in full every
`full_reconcile_hours` (and on the first poll, and from a manual `since`), comparing with the `StockBalance` the
articles have in eAccounting, so a balance eAccounting changed itself is corrected. It enqueues only items whose
value differs, with their rows, so those runs make no Exact call. See docs/flows/stock.md.
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
from flows.base import ARTICLE_LOCK, FlowContext, FlowDefinition, FlowOptions, Outcome, PollPage, RecordFailed
from flows.products import KIND as ARTICLE_KIND
from flows.products import link_article
from flows.stock_index import StockState, compact, summed, version

STOCK_KIND = "exact:stock>ea:article"
MAPPING = "stock_exact_to_eaccounting"
PAGE = 500
BULK_ARTICLE_LOOKUP = 200  # more items than this: list all articles (1,000 a call) instead of finding them by number
# In a poll page's payload: compare with the article's StockBalance in eAccounting, not with the last value written
# (the reconcile found them different).
COMPARE_WITH_ARTICLE = "CompareWithArticle"

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
    """The item's stock rows from Exact. A webhook's record id is an ItemWarehouse (known from the index, or read
    once), or else an item; any other id is the item. Lookups are filtered reads: a deleted record costs an empty
    answer, not a 404 on Exact's error budget. None: neither exists (any more)."""
    rid = record_id.lower()
    state = _state(ctx)
    item_id = await state.item_of(rid)
    if item_id is None and ctx.trigger == "webhook":
        row = await ctx.exact.find_item_warehouse(rid)
        if row is not None and row.item is not None:
            item_id = str(row.item).lower()
        elif await ctx.exact.find_item(rid) is not None:
            # The reference does not say what a StockPositions Key names (docs/exact-online-api.md §8.2, §9.5): the
            # simulator sends the ItemWarehouse; an item ID is accepted as well.
            item_id = rid
        else:
            return None
        await state.remember_owner(rid, item_id)
    item_id = item_id or rid
    rows = await ctx.exact.item_warehouses(item_id)
    code = next((r.item_code for r in rows if r.item_code), None)
    return {"Item": item_id, "ItemCode": code, "ItemWarehouses": [compact(r) for r in rows]}


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
        if read > last[1]:
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
    payload = article.to_payload()
    payload["StockBalance"] = value
    ctx.target_payload = sent
    await ctx.eaccounting.update_article(article.id, payload)
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
    read = version(rows)
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


async def _listed(ctx: FlowContext, codes: Mapping[str, str], *, everything: bool) -> dict[str, Any]:
    """The article of each item (item -> code) as eAccounting has it now: every article listed (1,000 a call), or,
    for a few items, those with their numbers. Unlinked items found by number are linked. Items missing from the
    answer have no article, or a linked one that is gone (or renumbered, when not everything was listed)."""
    linked = await ctx.xref.targets(ARTICLE_KIND, list(codes))
    if everything or len(codes) > BULK_ARTICLE_LOOKUP:
        articles = [a async for a in ctx.eaccounting.iter_articles()]
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
    return found


async def _adopt(ctx: FlowContext, item_id: str, article_id: str, value: Decimal, read: int) -> None:
    """The article has the item's value, but the last value written says otherwise (or nothing): remember the value,
    so incremental polls compare with what eAccounting has. Under the article's lock, never over a newer reading."""
    async with ctx.xref.lock(ARTICLE_LOCK, article_id):
        last = await _last(ctx, item_id)
        if last is None or last[1] <= read:
            await _remember(ctx, item_id, value, read)


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Reconcile: read the changed stock rows (all of them when a full read is due), update the index, and enqueue
    the items whose value differs, their rows travelling with them. Differs from what: a full read, and a manual
    `since`, compare with the StockBalance the article has in eAccounting (so a balance eAccounting changed itself
    is corrected); an incremental poll compares with the last value written (no eAccounting call)."""
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
    codes = {item: str(entry["code"]) for item, entry in entries.items() if entry["rows"] and entry.get("code")}
    articles = await _listed(ctx, codes, everything=full) if compare else {}
    changed: dict[str, dict[str, Any]] = {}
    adopted = 0
    for item, code in codes.items():
        rows = list(entries[item]["rows"].values())
        payload = {"Item": item, "ItemCode": code, "ItemWarehouses": rows}
        try:
            value = stock_value(ctx, opts, item, code, rows)
        except RecordFailed:
            changed[item] = payload  # the run reports it
            continue
        if not compare:
            if lasts.get(item) != value:
                changed[item] = payload
            continue
        article = articles.get(item)
        balance = article.stock_balance if article is not None else None
        if article is None or balance is None or Decimal(str(balance)) != value:
            changed[item] = {**payload, COMPARE_WITH_ARTICLE: True}
        elif lasts.get(item) != value:
            await _adopt(ctx, item, article.id, value, version(rows))
            adopted += 1
    ctx.log.info(
        "stock.reconcile",
        full=full,
        compared_with="eaccounting" if compare else "last_written",
        items=len(entries),
        changed=len(changed),
        rows_read=len(read),
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
