"""Shipments flow: Exact Online goods deliveries -> the eAccounting orders they ship.

Triggered by the Exact `GoodsDeliveries` webhook and by polling `sync/SalesOrder/GoodsDeliveries`. Per delivery:
find each sales order it ships (by number), the eAccounting order behind it (the orders flow's cross-reference
`ea:order>exact:salesorder`, else the sales order's YourRef = eAccounting order number), and record the delivery
there: delivered quantities per row (Exact's running totals), a text row with date, items, carrier and tracking
number, the carrier as delivery method, and Status 3 (Shipped) with `ShippedDateTime` once every line is
delivered. See docs/flows/shipments.md.
"""

from __future__ import annotations

import json
import string
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from app.xref import content_hash
from connectors.eaccounting.wire import to_wire
from connectors.errors import NotFound
from connectors.exact.wire import AMSTERDAM, exact_datetime
from flows.base import (
    ORDER_LOCK,
    Action,
    FlowContext,
    FlowDefinition,
    FlowOptions,
    Outcome,
    PollPage,
    RecordFailed,
    RecordLabel,
    label_value,
    source_record,
)
from flows.limits import MAX_ENTRIES, ORDER_ROW_TEXT, DeliveryMethodCode, ExactCode
from flows.shipments_orders import ea_order_by_number, exact_order_by_number
from flows.shipments_rows import (
    NOTE_FIELDS,
    apply_quantities,
    delivered_per_row,
    items_text,
    note_text,
    progress,
    upsert_note,
)

if TYPE_CHECKING:
    from connectors.eaccounting.models import DeliveryMethod
    from connectors.exact import SalesOrder, ShippingMethod

ORDER_KIND = "ea:order>exact:salesorder"  # the orders flow's: eAccounting order Id -> Exact OrderID
DELIVERY_KIND = "exact:goodsdelivery>ea:order"  # Exact EntryID -> eAccounting order Id (first one), hash of facts
_HEADER_FIELDS = frozenset({"Status", "ShippedDateTime", "DeliveryMethodCode", "Rows"})


class ShipmentsOptions(FlowOptions):
    """How a goods delivery is recorded on the eAccounting order."""

    mark_shipped: Literal["when_complete", "on_first_delivery"] = Field(
        "when_complete",
        description="Status 3 (Shipped) once every line is delivered, or already with the first delivery",
    )
    not_delivered_items: list[ExactCode] = Field(
        default_factory=lambda: ["SHIPPING"],
        max_length=MAX_ENTRIES,
        description="Exact item codes that are never delivered (freight); they do not keep an order from completing",
    )
    delivery_method_by_shipping_method: dict[ExactCode, DeliveryMethodCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Exact shipping method code -> eAccounting delivery method code (the carrier on the order); "
        "unlisted codes are looked up as they are among eAccounting's delivery methods",
        examples=[{"PostNL": "PNMP", "DHL": "DHLF"}],
    )
    unknown_shipping_method: Literal["ignore", "fail"] = Field(
        "ignore",
        description="A shipping method without eAccounting delivery method: keep the order's (the note still "
        "names the carrier), or fail the record",
    )
    delivery_note: bool = Field(
        True, description="Add one text row per delivery: date, items, carrier, tracking number and tracking link"
    )
    note_template: str | None = Field(
        None,
        max_length=ORDER_ROW_TEXT,
        description="Text of the delivery note with {delivery_number} {date} {carrier} {tracking_number} "
        "{tracking_url} {items}; None: built-in wording that leaves out what a delivery lacks",
        examples=["Sent {date} with {carrier}: {tracking_url}"],
    )
    tracking_to_our_reference: bool = Field(
        False, description="Also write the tracking number(s) into the order's OurReference (50 characters)"
    )
    yourref_fallback: bool = Field(
        True, description="Without a cross-reference, find the eAccounting order by the sales order's YourRef"
    )
    start_date: date | None = Field(None, description="Ignore deliveries dated before this day")

    @field_validator("note_template")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a template: {exc}") from None
        unknown = names - NOTE_FIELDS
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; use {sorted(NOTE_FIELDS)}")
        return value


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Deliveries changed since the cursor (sync `Timestamp`). Sync rows have no lines, so jobs fetch the delivery."""
    async for page in ctx.exact.sync_goods_deliveries(int(cursor) if cursor else 1):
        ids = [str(d.entry_id).lower() for d in page.rows if d.entry_id]
        yield PollPage(ids, str(page.timestamp))


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The delivery with its lines, or None when it is gone: a filtered read, because a GET by key of a deleted
    delivery is a 404, one of the 10 errors an hour per endpoint Exact allows before it blocks the app."""
    delivery = await ctx.exact.find_goods_delivery(record_id)
    return None if delivery is None else source_record(delivery)


def _facts(source: dict[str, Any]) -> str:
    """What of a delivery we record: a change to anything else (its Remarks, say) is not written again."""
    lines = sorted(
        (str(line.get("SalesOrderLineID")), str(line.get("QuantityDelivered")), str(line.get("TrackingNumber") or ""))
        for line in source.get("GoodsDeliveryLines") or []
    )
    keys = ("DeliveryDate", "TrackingNumber", "ShippingMethod", "DeliveryNumber")
    return content_hash({**{k: source.get(k) for k in keys}, "lines": lines})


async def _shipping_methods(ctx: FlowContext) -> dict[str, ShippingMethod]:
    async def load() -> dict[str, ShippingMethod]:
        return {m.id.lower(): m for m in await ctx.exact.shipping_methods()}

    table: dict[str, ShippingMethod] = await ctx.cache.get("shipments:shipping_methods", load)
    return table


async def _delivery_methods(ctx: FlowContext) -> dict[str, DeliveryMethod]:
    async def load() -> dict[str, DeliveryMethod]:
        return {m.code.upper(): m for m in await ctx.eaccounting.delivery_methods() if m.code}

    table: dict[str, DeliveryMethod] = await ctx.cache.get("shipments:delivery_methods", load)
    return table


async def _carrier(
    ctx: FlowContext, opts: ShipmentsOptions, source: dict[str, Any], code: str | None
) -> tuple[str, str | None, DeliveryMethod | None]:
    """(carrier description for the note, tracking URL template, eAccounting delivery method or None)."""
    method = (await _shipping_methods(ctx)).get(str(source.get("ShippingMethod") or "").lower())
    code = code or (method.code if method else None)
    description = str((method.description if method else None) or source.get("ShippingMethodDescription") or code or "")
    url_template = method.tracking_url if method else None
    if not code:
        return description, url_template, None
    explicit = {k.strip().upper(): v for k, v in opts.delivery_method_by_shipping_method.items()}
    wanted = explicit.get(code.strip().upper(), code)
    found = (await _delivery_methods(ctx)).get(wanted.strip().upper())
    if found is None and code.strip().upper() in explicit:
        raise RecordFailed(
            f"delivery_method_by_shipping_method: eAccounting has no delivery method {wanted!r} (for {code})"
        )
    if found is None and opts.unknown_shipping_method == "fail":
        raise RecordFailed(
            f"Exact shipping method {code} has no eAccounting delivery method; add it to "
            "delivery_method_by_shipping_method",
            shipping_method=code,
        )
    if found is None:
        # Left as it is in eAccounting (option unknown_shipping_method: ignore); a preview shows this as a warning.
        ctx.log.warning(
            "shipments.unmapped_shipping_method",
            message=f"Exact shipping method {code} has no eAccounting delivery method: the order's is left as it is",
        )
    return description, url_template, found


def _tracking(source: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    numbers = [str(source.get("TrackingNumber") or "").strip()]
    numbers += [str(line.get("TrackingNumber") or "").strip() for line in lines]
    return ", ".join(dict.fromkeys(n for n in numbers if n))


async def _ea_order_for(ctx: FlowContext, opts: ShipmentsOptions, number: int) -> tuple[str | None, str]:
    """(eAccounting order Id or None, Exact OrderID or "") for the Exact sales order `number`."""
    found = await exact_order_by_number(ctx, number)
    if found is None:
        return None, ""
    order_id, your_ref = found
    linked = await ctx.xref.source(ORDER_KIND, order_id)
    if linked is None and opts.yourref_fallback and your_ref.isdigit():
        linked = await ea_order_by_number(ctx, int(your_ref))
    return linked, order_id


async def _record(
    ctx: FlowContext,
    opts: ShipmentsOptions,
    source: dict[str, Any],
    ea_order_id: str,
    sales_order: SalesOrder,
    shipment: dict[str, Any],
    previous_note: str | None,
) -> tuple[Action, str, str | None]:
    """Write the delivery onto the eAccounting order; (action, reason, note text written)."""
    lines = list(sales_order.sales_order_lines or [])
    done = progress(lines, opts.not_delivered_items)
    ship = done.complete or opts.mark_shipped == "on_first_delivery"
    delivery_lines = [
        line
        for line in source.get("GoodsDeliveryLines") or []
        if line.get("SalesOrderNumber") == sales_order.order_number
    ]
    description, url_template, method = await _carrier(ctx, opts, source, shipment.get("DeliveryMethodCode"))
    tracking = _tracking(source, delivery_lines)
    first = tracking.split(", ")[0] if tracking else ""
    url = url_template.replace("{TrackingNumber}", first) if url_template and first and "{" in url_template else ""
    fields = {
        "delivery_number": str(source.get("DeliveryNumber") or source.get("EntryNumber") or ""),
        "date": str(shipment.get("ShippedDateTime") or ""),
        "carrier": description,
        "tracking_number": tracking,
        "tracking_url": url,
        "items": items_text(shipment.get("Rows") or []),
    }
    note = note_text(opts.note_template, fields) if opts.delivery_note else None
    async with ctx.xref.lock(ORDER_LOCK, ea_order_id):
        try:
            order = await ctx.eaccounting.get_order(ea_order_id)
        except NotFound:
            raise RecordFailed(f"eAccounting order {ea_order_id} no longer exists", order_id=ea_order_id) from None
        if order.status is not None and order.status >= 4:
            return "skipped", f"eAccounting order {order.number} is invoiced and can no longer change", None
        before = order.to_payload()
        body = json.loads(json.dumps(before))
        rows: list[dict[str, Any]] = body.get("Rows") or []
        apply_quantities(rows, delivered_per_row(rows, lines), shipped=ship)
        if note is not None:
            upsert_note(rows, note, previous_note)
        body["Rows"] = rows
        for key, value in shipment.items():
            if key not in _HEADER_FIELDS and value is not None:
                body[key] = to_wire(value)
        if method is not None:
            body["DeliveryMethodCode"], body["DeliveryMethodName"] = method.code, method.name
        if opts.tracking_to_our_reference and tracking:
            body["OurReference"] = tracking[:50]
        if ship:
            body["Status"] = max(int(body.get("Status") or 0), int(shipment.get("Status") or 3))
            shipped_on = str(shipment.get("ShippedDateTime") or "")
            body["ShippedDateTime"] = max(shipped_on, str(before.get("ShippedDateTime") or ""))
        state = (
            f"all {done.lines} lines delivered"
            if done.complete
            else f"{done.delivered_lines} of {done.lines} lines delivered"
        )
        if content_hash(body) == content_hash(before):
            return "unchanged", f"eAccounting order {order.number} already records this delivery ({state})", note
        ctx.target_payload = body
        await ctx.eaccounting.update_order(ea_order_id, body)
    outcome = f"marked shipped on {body['ShippedDateTime']}" if ship else "stays ongoing"
    return "updated", f"{state}; eAccounting order {order.number} {outcome}", note


async def handle(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    opts: ShipmentsOptions = ctx.options
    entry_id = str(source.get("EntryID") or source.get("ID")).lower()
    delivered_on = source.get("DeliveryDate")
    if opts.start_date and isinstance(delivered_on, str):
        when = _delivery_day(delivered_on)
        if when is not None and when < opts.start_date:
            return Outcome.skipped(f"delivered {when}, before start date {opts.start_date}")
    lines = source.get("GoodsDeliveryLines") or []
    if not lines:
        return Outcome.skipped("the delivery has no lines")
    facts = _facts(source)
    linked = await ctx.xref.target(DELIVERY_KIND, entry_id)
    if linked is not None and facts == await ctx.xref.last_hash(DELIVERY_KIND, entry_id):
        return Outcome("unchanged", target_id=linked, reason="this delivery is already recorded")
    numbers = sorted({int(line["SalesOrderNumber"]) for line in lines if line.get("SalesOrderNumber") is not None})
    notes: dict[str, str] = json.loads(await ctx.xref.last_value(DELIVERY_KIND, entry_id) or "{}")
    results: list[tuple[Action, str, str]] = []
    unknown: list[str] = []
    for number in numbers:
        ea_order_id, order_id = await _ea_order_for(ctx, opts, number)
        if ea_order_id is None:
            unknown.append(str(number))
            continue
        group = {**source, "GoodsDeliveryLines": [line for line in lines if line.get("SalesOrderNumber") == number]}
        mapped = ctx.mapping.map(group, mode="update")
        if mapped.payload is None:
            return Outcome.skipped(mapped.skipped or "filtered by the mapping")
        sales_order = await ctx.exact.get_sales_order(order_id, lines=True)
        action, reason, note = await _record(
            ctx, opts, source, ea_order_id, sales_order, mapped.payload, notes.get(ea_order_id)
        )
        if note is not None:
            notes[ea_order_id] = note
        results.append((action, reason, ea_order_id))
    if not results:
        what = ", ".join(unknown)
        return Outcome.skipped(
            f"sales order {what} did not come from eAccounting (no cross-reference, no eAccounting order by YourRef)"
        )
    target = results[0][2]
    if any(done != "skipped" for done, _, _ in results):  # a skipped one (invoiced) is looked at again next time
        await ctx.xref.link(DELIVERY_KIND, entry_id, target, payload_hash=facts)
        await ctx.xref.set_last_value(DELIVERY_KIND, entry_id, json.dumps(notes))
    reasons = "; ".join(reason for _, reason, _ in results)
    if unknown:
        reasons += f"; sales order {', '.join(unknown)} not from eAccounting"
    actions = {done for done, _, _ in results}
    overall: Action = "updated" if "updated" in actions else "unchanged" if "unchanged" in actions else "skipped"
    return Outcome(overall, target_id=target, reason=reasons, target_payload=ctx.target_payload)


def _delivery_day(value: str) -> date | None:
    moment = exact_datetime(value)
    return moment.astimezone(AMSTERDAM).date() if isinstance(moment, datetime) else None


def label(source: Mapping[str, Any]) -> RecordLabel:
    """ "delivery 42 - Jansen BV" (Exact's goods delivery number and the customer delivered to)."""
    return RecordLabel(
        "delivery", label_value(source.get("DeliveryNumber")), label_value(source.get("DeliveryAccountName"))
    )


SHIPMENTS = FlowDefinition(
    name="shipments",
    title="Exact Online goods deliveries -> eAccounting orders",
    source="exact",
    target="eaccounting",
    fetch=fetch,
    handle=handle,
    poll=poll,
    webhook_topics=("GoodsDeliveries",),
    options_model=ShipmentsOptions,
    default_mapping="shipments_exact_to_eaccounting",
    label=label,
)
FLOWS = (SHIPMENTS,)
