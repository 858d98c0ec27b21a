"""Products flow: Exact Online items -> eAccounting articles, matched by SKU (item `Code` = article `Number`).

The rule per item: skip what the options or the mapping's filters leave out; map it (`products_exact_to_eaccounting`)
and skip the write when the hash of what would be sent equals the last one written; find the article through the
cross-reference, else by number (never a duplicate: `xref.begin()` before a create); update it read-modify-write
(eAccounting's PUT replaces the whole article) with only what the mapping may overwrite, or create it. Every
read-modify-write of an article holds the article's lock (`ARTICLE_LOCK`, shared with the stock flow) from the GET
to the PUT, and an update never sends a StockBalance of its own: the stock flow owns the stock, and the PUT carries
the balance read inside the lock. An item that is deleted in Exact deactivates its article; one with an `EndDate`
is inactive through the mapping. See docs/flows/products.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

from pydantic import Field

from app.xref import content_hash
from connectors.eaccounting.wire import to_wire
from connectors.errors import NotFound
from flows.base import (
    ARTICLE_LOCK,
    MAX_REFRESH_SECONDS,
    FlowContext,
    FlowDefinition,
    FlowOptions,
    Outcome,
    PollPage,
    RecordFailed,
    RecordLabel,
    label_value,
)
from flows.limits import MAX_ENTRIES, UNSTATED, ArticleLabel, EAccountingName, ExactCode
from flows.products_refs import Refs, company_currency, load_refs
from mapping import MappingError, MapResult

KIND = "exact:item>ea:article"
# One lock per eAccounting article, held by the products and the stock flow around every read-modify-write of it:
# eAccounting's PUT replaces the whole article, so a write between another run's GET and PUT would be undone.
# What an update never sends of its own: the stock is the stock flow's (create-only in the mapping, and dropped even
# when an override asks for it); the PUT carries the balance of the article read inside the lock.
STOCK_FIELDS = ("StockBalance", "StockBalanceReserved", "StockBalanceAvailable", "StockBalanceManuallyChangedUtc")
DELETED = "_deleted"  # marks the stand-in record of an item that no longer exists in Exact
MAPPING = "products_exact_to_eaccounting"
ITEMS_ENTITY_TYPE = 9  # sync/Deleted EntityType of logistics/Items (docs/exact-online-api.md §7)
_HASH_VERSION = 1  # bump when the flow changes what it writes, so every article is compared once more
_DELETED_HASH = content_hash({"deleted": True})
_PRICES = ("NetPrice", "GrossPrice")

DEFAULT_UNITS = {"pc": "PCS", "pcs": "PCS", "piece": "PCS", "stuk": "PCS", "st": "PCS", "kg": "KGM", "h": "HUR"}


class ProductsOptions(FlowOptions):
    """What to transfer, what an update may change, and how Exact's codes become eAccounting's."""

    create_missing: bool = Field(True, description="Create an article for an item that has none")
    update_existing: bool = Field(
        True, description="Update articles that exist (linked or found by number); off: existing ones are left alone"
    )
    item_groups: list[ExactCode] = Field(
        default_factory=list,
        max_length=MAX_ENTRIES,
        description="Only items of these Exact item group codes (empty: every group)",
    )
    deactivate_deleted: bool = Field(True, description="An item deleted in Exact makes its article inactive")
    deactivate_blocked: bool = Field(
        True, description="An item with an EndDate is inactive in eAccounting (the mapping's IsActive); off: never"
    )
    price_includes_vat: bool = Field(
        False, description="Exact's StandardSalesPrice includes VAT: sent as GrossPrice instead of NetPrice"
    )
    exact_currency: str = Field("EUR", min_length=3, max_length=3, description="Currency of the Exact administration")
    exchange_rate: Decimal | None = Field(
        None,
        ge=Decimal("0.000001"),
        le=Decimal(1_000_000),
        description="eAccounting company-currency units per unit of exact_currency (0.000001 to 1,000,000); unset "
        "and the currencies differ: prices are not sent",
    )
    item_group_labels: bool = Field(True, description="Put the article label of the item's group on the article")
    label_by_item_group: dict[ExactCode, ArticleLabel] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Exact item group code -> eAccounting label (name or id); default: the label named like the "
        "group's description or code",
    )
    coding_by_item_group: dict[ExactCode, EAccountingName] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Exact item group code -> eAccounting article coding (name or id)",
    )
    coding_by_vat_code: dict[ExactCode, EAccountingName] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Exact sales VAT code -> eAccounting coding (name or id); default: an active coding with the "
        "same VAT percentage",
    )
    default_coding: str | None = Field(
        None, max_length=UNSTATED, description="Coding (name or id) when nothing else gives one"
    )
    unit_by_code: dict[ExactCode, EAccountingName] = Field(
        default_factory=lambda: dict(DEFAULT_UNITS),
        max_length=MAX_ENTRIES,
        description="Exact unit code -> eAccounting unit (id, code, abbreviation or name); other codes are "
        "matched by the same code, abbreviation or name",
    )
    default_unit: str | None = Field(
        None, max_length=UNSTATED, description="eAccounting unit when the item's unit matches none"
    )
    refs_refresh_seconds: float = Field(
        900.0,
        ge=0,
        le=MAX_REFRESH_SECONDS,
        description="Reference data (codings, units, labels, VAT codes, item groups) is re-read this often (0 to "
        "86,400)",
    )


def _dump(item: Any) -> dict[str, Any]:
    data: dict[str, Any] = item.model_dump(by_alias=True, mode="json")
    data.pop("__metadata", None)
    data["ID"] = str(data["ID"]).lower()
    return data


def _cursor(cursor: str | None) -> dict[str, int]:
    """`{"items": Timestamp, "deleted": Timestamp}`; a bare number (a manual `since`) restarts both there."""
    if not cursor:
        return {"items": 1, "deleted": 1}
    if cursor.strip().isdigit():
        return {"items": int(cursor), "deleted": int(cursor)}
    state = json.loads(cursor)
    return {"items": int(state.get("items", 1)), "deleted": int(state.get("deleted", 1))}


async def _with_prices(ctx: FlowContext, opts: ProductsOptions, payloads: dict[str, dict[str, Any]]) -> None:
    """`sync/Logistics/Items` has no `StandardSalesPrice` (the reference lists it on `logistics/Items` only): read the
    page's prices there (60 items a call), unless prices are not sent anyway (the currencies differ, no rate)."""
    if not payloads:
        return
    theirs = await company_currency(ctx, opts.refs_refresh_seconds)
    if theirs is not None and theirs != opts.exact_currency.upper() and opts.exchange_rate is None:
        return
    prices = await ctx.exact.item_prices(payloads)
    for item_id, payload in payloads.items():
        price = prices.get(item_id)
        payload["StandardSalesPrice"] = None if price is None else str(price)


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Items changed since the cursor through `sync/Logistics/Items` (1,000 a call; from Timestamp 1 the whole
    catalogue), the items travelling with the page with their prices (`_with_prices`); then deletions of linked items
    from `sync/Deleted`."""
    opts: ProductsOptions = ctx.options
    state = _cursor(cursor)
    initial = state["items"] <= 1
    pages = total = 0
    async for page in ctx.exact.sync_items(state["items"]):
        payloads = {row["ID"]: row for row in map(_dump, page.rows)}
        await _with_prices(ctx, opts, payloads)
        state["items"] = page.timestamp
        pages += 1
        total += len(payloads)
        ctx.log.info("products.items_page", page=pages, items=len(payloads), total=total, initial=initial)
        yield PollPage(list(payloads), json.dumps(state), payloads)
    if not opts.deactivate_deleted:
        return
    async for deleted in ctx.exact.sync_deleted(state["deleted"]):
        keys = [r.entity_key.lower() for r in deleted.rows if r.entity_type == ITEMS_ENTITY_TYPE and r.entity_key]
        linked = await ctx.xref.targets(KIND, keys)
        state["deleted"] = deleted.timestamp
        stubs = {key: {"ID": key, DELETED: True} for key in keys if key in linked}
        yield PollPage(list(stubs), json.dumps(state), stubs)


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The item, or a stand-in marked deleted. A filtered read by ID: a deleted item costs an empty answer, not a 404
    (Exact blocks an app for an hour after 10 errors an hour on one endpoint)."""
    item_id = record_id.lower()
    item = await ctx.exact.find_item(item_id)
    if item is not None:
        return _dump(item)
    code = await ctx.xref.last_value(KIND, item_id)  # the SKU the link remembers, for the activity log
    return {"ID": item_id, **({"Code": code} if code else {}), DELETED: True}


async def link_article(
    ctx: FlowContext, item_id: str, code: str, article_id: str, *, payload_hash: str | None = None
) -> None:
    """Link an Exact item to its article (shared with the stock flow) and remember the SKU for `fetch`."""
    await ctx.xref.link(KIND, item_id, article_id, payload_hash=payload_hash)
    await ctx.xref.set_last_value(KIND, item_id, code)


def _record(opts: ProductsOptions, refs: Refs, source: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The record the mapping sees: the item, its price in eAccounting's currency; plus a note when prices are not
    sent because the currencies differ and no exchange rate is set."""
    record = dict(source)
    ours, theirs = opts.exact_currency.upper(), refs.company_currency
    if theirs is None or theirs == ours:
        return record, None
    if opts.exchange_rate is None:
        return record, f"prices not sent: Exact's currency {ours} is not eAccounting's {theirs} (set exchange_rate)"
    price = record.get("StandardSalesPrice")
    if price is not None:
        record["StandardSalesPrice"] = Decimal(str(price)) * opts.exchange_rate
    return record, None


def _finish(
    opts: ProductsOptions,
    refs: Refs,
    source: Mapping[str, Any],
    payload: dict[str, Any],
    note: str | None,
    *,
    create: bool,
) -> dict[str, Any]:
    """What the options add to the mapped payload: the price field, the active flag, the item group's label."""
    if note is not None:
        for name in _PRICES:
            payload.pop(name, None)
    elif opts.price_includes_vat and "NetPrice" in payload:
        payload["GrossPrice"] = payload.pop("NetPrice")
    if not opts.deactivate_blocked:
        payload.pop("IsActive", None)
        if create:
            payload["IsActive"] = True
    if opts.item_group_labels:
        group = str(source.get("ItemGroupCode") or "").strip()
        label = refs.label_for(opts, group, source.get("ItemGroupDescription")) if group else None
        # ArticleLabelApi requires the Name (the API refuses a label given by Id alone).
        payload["ArticleLabels"] = [{"Id": label.id, "Name": label.names[0]}] if label and label.names else []
    return payload


def _map(ctx: FlowContext, record: Mapping[str, Any], mode: str, lookups: Mapping[str, Any]) -> MapResult:
    try:
        result: MapResult = ctx.mapping.map(record, mode=mode, lookups=lookups)
    except MappingError as exc:
        raise RecordFailed(f"mapping {MAPPING}: {exc}", field=exc.target_field) from exc
    return result


def _coding_missing(ctx: FlowContext, source: Mapping[str, Any], lookups: Mapping[str, Any]) -> str | None:
    """Why a create would fail for want of a coding, said in the user's terms (None: it will not)."""
    if "codings_by_item_group" not in ctx.mapping.lookup_tables:
        return None
    table = lookups["codings_by_item_group"]
    if "*" in table or str(source.get("ItemGroupCode") or "").strip() in table:
        return None
    vat = source.get("SalesVatCode") or "none"
    return (
        f"no eAccounting article coding for item {source.get('Code')} (Exact VAT code {vat}, item group "
        f"{source.get('ItemGroupCode') or 'none'}): set coding_by_vat_code, coding_by_item_group or default_coding"
    )


async def _article(ctx: FlowContext, article_id: str) -> Any:
    try:
        return await ctx.eaccounting.get_article(article_id)
    except NotFound:
        return None


def _label_ids(labels: Any) -> set[str]:
    return {str(label.get("Id")) for label in labels or [] if isinstance(label, Mapping) and label.get("Id")}


def _merge(current: dict[str, Any], desired: Mapping[str, Any], managed: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The complete article to PUT back (the current one with the desired fields) and the fields that change."""
    merged = dict(current)
    changed: list[str] = []
    for name, value in desired.items():
        if name == "ArticleLabels":
            kept = [label for label in current.get(name) or [] if str(label.get("Id")) not in managed]
            value = [*kept, *(label for label in value if str(label["Id"]) not in _label_ids(kept))]
            if _label_ids(value) != _label_ids(current.get(name)):
                changed.append(name)
        elif to_wire(value) != to_wire(current.get(name)):
            changed.append(name)
            if name in _PRICES:  # let eAccounting derive the other price from the coding's VAT rate
                merged.pop(_PRICES[1 - _PRICES.index(name)], None)
        merged[name] = value
    return merged, changed


async def _matches(
    ctx: FlowContext, refs: Refs, item_id: str, article: Any, desired: dict[str, Any], digest: str
) -> bool:
    """Whether `article` already has what the item wants (then the hash is stored and nothing is written)."""
    opts: ProductsOptions = ctx.options
    if _merge(article.to_payload(), desired, refs.managed_labels(opts))[1]:
        return False
    await ctx.xref.set_hash(KIND, item_id, digest)
    return True


async def _update(
    ctx: FlowContext, refs: Refs, item_id: str, article_id: str, desired: dict[str, Any], digest: str, note: str | None
) -> Outcome | None:
    """Read-modify-write the article under its lock (the GET inside it, so the PUT carries the StockBalance the
    article has now, never one a stock write has replaced meanwhile); None when the article no longer exists."""
    opts: ProductsOptions = ctx.options
    async with ctx.xref.lock(ARTICLE_LOCK, article_id):
        article = await _article(ctx, article_id)
        if article is None:
            return None
        merged, changed = _merge(article.to_payload(), desired, refs.managed_labels(opts))
        if not changed:
            await ctx.xref.set_hash(KIND, item_id, digest)
            return Outcome("unchanged", target_id=article.id, reason="the article already matches the item")
        ctx.target_payload = merged
        await ctx.eaccounting.update_article(article.id, merged)
        await ctx.xref.set_hash(KIND, item_id, digest)
    reason = "; ".join(p for p in (f"changed {', '.join(changed)}", note) if p)
    return Outcome("updated", target_id=article.id, reason=reason, target_payload=merged)


async def _deleted(ctx: FlowContext, opts: ProductsOptions, item_id: str) -> Outcome:
    target = await ctx.xref.target(KIND, item_id)
    if target is None:
        return Outcome.skipped("the item no longer exists in Exact and has no eAccounting article of ours")
    if not opts.deactivate_deleted:
        return Outcome.skipped("the item was deleted in Exact; deactivate_deleted is off", target_id=target)
    if await ctx.xref.last_hash(KIND, item_id) == _DELETED_HASH:
        return Outcome("unchanged", target_id=target, reason="already deactivated after the item was deleted")
    async with ctx.xref.lock(ARTICLE_LOCK, target):
        article = await _article(ctx, target)
        if article is None:
            await ctx.xref.unlink(KIND, item_id)
            return Outcome.skipped("the item was deleted in Exact and its article in eAccounting")
        if article.is_active is not False:
            payload = article.to_payload()
            payload["IsActive"] = False
            ctx.target_payload = payload
            await ctx.eaccounting.update_article(article.id, payload)
        await ctx.xref.set_hash(KIND, item_id, _DELETED_HASH)
    return Outcome(
        "updated" if article.is_active is not False else "unchanged",
        target_id=article.id,
        reason="deactivated: the item was deleted in Exact",
        target_payload={"IsActive": False},
    )


async def handle(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    opts: ProductsOptions = ctx.options
    item_id = str(source["ID"]).lower()
    if source.get(DELETED):
        return await _deleted(ctx, opts, item_id)
    code = str(source.get("Code") or "").strip()
    if not code:
        raise RecordFailed("the Exact item has no Code (the eAccounting article number)")
    group = str(source.get("ItemGroupCode") or "").strip()
    if opts.item_groups and group not in opts.item_groups:
        return Outcome.skipped(f"item group {group or 'none'} is not selected (item_groups: {opts.item_groups})")
    target = await ctx.xref.target(KIND, item_id)
    if target is not None and not opts.update_existing:
        return Outcome.skipped(f"article {code} exists and update_existing is off", target_id=target)
    refs = await load_refs(ctx, opts)
    record, note = _record(opts, refs, source)
    if note is not None:
        ctx.log.warning("products.prices_not_sent", message=note)  # also a preview's warning
    lookups = refs.lookups(opts, source)
    mapped = _map(ctx, record, "update", lookups)
    if mapped.payload is None:
        return Outcome.skipped(mapped.skipped or "left out by the mapping's filters", target_id=target)
    desired = _finish(opts, refs, source, dict(mapped.payload), note, create=False)
    for name in STOCK_FIELDS:
        desired.pop(name, None)
    digest = content_hash({"v": _HASH_VERSION, "article": desired})
    if target is not None:
        if digest == await ctx.xref.last_hash(KIND, item_id):
            return Outcome("unchanged", target_id=target, reason="no change since the last write")
        updated = await _update(ctx, refs, item_id, target, desired, digest, note)
        if updated is not None:
            return updated
        await ctx.xref.unlink(KIND, item_id)  # deleted in eAccounting: look it up by number, else create it again
    found = await ctx.eaccounting.find_article_by_number(code)
    if found is not None:
        await link_article(ctx, item_id, code, found.id)
        if not opts.update_existing:
            return Outcome.skipped(f"article {code} exists and update_existing is off", target_id=found.id)
        if await _matches(ctx, refs, item_id, found, desired, digest):
            return Outcome("unchanged", target_id=found.id, reason="the article already matches the item")
        # The article found was read outside the lock: `_update` reads it again inside.
        updated = await _update(ctx, refs, item_id, found.id, desired, digest, note)
        if updated is not None:
            return updated
        await ctx.xref.unlink(KIND, item_id)  # deleted since it was found: create it again
    if not opts.create_missing:
        return Outcome.skipped(f"article {code} does not exist in eAccounting and create_missing is off")
    missing = _coding_missing(ctx, source, lookups)
    if missing:
        raise RecordFailed(missing, sku=code)
    created = _map(ctx, record, "create", lookups)
    if created.payload is None:
        return Outcome.skipped(created.skipped or "left out by the mapping's filters")
    payload = _finish(opts, refs, source, dict(created.payload), note, create=True)
    ctx.target_payload = payload
    await ctx.xref.begin(KIND, item_id)
    new = await ctx.eaccounting.create_article(payload)
    await link_article(ctx, item_id, code, new.id, payload_hash=digest)
    return Outcome("created", target_id=new.id, reason=note, target_payload=payload)


def label(source: Mapping[str, Any]) -> RecordLabel:
    """ "article SKU-0006 - Espresso beans 1kg": the Exact item's code is the eAccounting article number."""
    return RecordLabel("article", label_value(source.get("Code")), label_value(source.get("Description")))


PRODUCTS = FlowDefinition(
    name="products",
    title="Exact Online items -> eAccounting articles",
    source="exact",
    target="eaccounting",
    fetch=fetch,
    handle=handle,
    poll=poll,
    webhook_topics=("Items",),
    options_model=ProductsOptions,
    default_mapping=MAPPING,
    label=label,
)
FLOWS = (PRODUCTS,)
