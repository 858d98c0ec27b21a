"""Orders flow: eAccounting orders (or customer invoices) -> Exact Online sales order, invoice or journal entry.

The rule per record: skip what is not selected or already transferred (cross-reference first, then Exact's
`YourRef` only when an earlier attempt may have written), resolve the customer (cross-reference, else match by
e-mail / customer number / VAT number, else create), check every SKU against the items cache, map with the
selected `orders_to_exact_<document>` mapping and create header and lines in ONE POST. See docs/flows/orders.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.xref import content_hash
from connectors.eaccounting import OrderStatus
from connectors.errors import ConnectorError, NotFound, Rejected
from flows.base import ORDER_LOCK, FlowContext, FlowDefinition, Outcome, PollPage, RecordFailed, source_record
from flows.orders_customers import order_customer
from flows.orders_exact import items_by_code, remember_item, table_by_code
from flows.orders_options import OrdersOptions

PAGE = 50
CURSOR_OVERLAP = timedelta(seconds=1)

_ORDER_KINDS: dict[str, str] = {
    "sales_order": "ea:order>exact:salesorder",
    "sales_invoice": "ea:order>exact:salesinvoice",
    "direct_invoice": "ea:order>exact:salesinvoice",
    "journal_entry": "ea:order>exact:salesentry",
}
# Per document: the Exact client's create and find-by-YourRef methods, and the answer's key and number attributes.
_EXACT_CALLS: dict[str, tuple[str, str, str, str]] = {
    "sales_order": ("create_sales_order", "find_sales_order_by_yourref", "order_id", "order_number"),
    "sales_invoice": ("create_sales_invoice", "find_sales_invoice_by_yourref", "invoice_id", "invoice_number"),
    "direct_invoice": ("create_sales_invoice", "find_sales_invoice_by_yourref", "invoice_id", "invoice_number"),
    "journal_entry": ("create_sales_entry", "find_sales_entry_by_yourref", "entry_id", "entry_number"),
}
_LINES = {"sales_order": "SalesOrderLines", "journal_entry": "SalesEntryLines"}
_EU = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)


def _kind(opts: OrdersOptions) -> str:
    if opts.source == "customer_invoices":
        return "ea:invoice>exact:salesinvoice"
    return _ORDER_KINDS[opts.document]


def _kinds_of_source(opts: OrdersOptions) -> list[str]:
    """Every kind a record of this source may be linked under: an order transferred as a sales order must not be
    transferred again as an invoice after the `document` option changed. The configured one first."""
    if opts.source == "customer_invoices":
        return [_kind(opts)]
    return [_kind(opts), *sorted(set(_ORDER_KINDS.values()) - {_kind(opts)})]


def _parse_ts(cursor: str | None) -> datetime | None:
    return datetime.fromisoformat(cursor) if cursor else None


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Orders changed since the cursor (`ModifiedUtc`), one listing per selected status; rows travel along.

    The next cursor is eAccounting's own clock when the first listing began (`Meta.ServerTimeUtc` of its first
    page), less a second: an order changed while the listings run (say, it moved from one status's listing to
    another's after that one was read) has a later `ModifiedUtc`, so the next poll sees it. Never the newest
    `ModifiedUtc` read, which can run ahead of a change not yet read. Orders read twice cost nothing in Exact:
    the cross-reference answers them.
    """
    opts: OrdersOptions = ctx.options
    since = _parse_ts(cursor)
    listings: list[Any]
    if opts.source == "customer_invoices":
        listings = [ctx.eaccounting.list_customer_invoices(modified_since=since)]
    else:
        listings = [ctx.eaccounting.list_orders(status=s, modified_since=since) for s in opts.statuses]
    started: datetime | None = None
    for listing in listings:
        batch: dict[str, dict[str, Any]] = {}
        async for record in listing:
            payload = source_record(record)
            batch[str(payload["Id"])] = payload
            if len(batch) >= PAGE:
                yield PollPage(list(batch), None, batch)
                batch = {}
        if batch:
            yield PollPage(list(batch), None, batch)
        if started is None:
            started = listing.server_time_utc
    next_cursor = (started - CURSOR_OVERLAP).isoformat() if started is not None else cursor
    yield PollPage([], next_cursor)


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The order (or invoice) with its rows; None when it was deleted in eAccounting."""
    opts: OrdersOptions = ctx.options
    try:
        if opts.source == "customer_invoices":
            return source_record(await ctx.eaccounting.get_customer_invoice(record_id))
        return source_record(await ctx.eaccounting.get_order(record_id))
    except NotFound:
        return None


def _number(source: dict[str, Any]) -> str:
    return str(source.get("Number") or source.get("InvoiceNumber") or source["Id"])


def _selection_skip(opts: OrdersOptions, source: dict[str, Any]) -> str | None:
    status = source.get("Status")
    if opts.source == "orders" and status not in opts.statuses:
        return f"status {status} not selected (statuses {opts.statuses})"
    raw = source.get("OrderDate") or source.get("InvoiceDate")
    if opts.start_date and raw and date.fromisoformat(str(raw)[:10]) < opts.start_date:
        return f"dated {str(raw)[:10]}, before start date {opts.start_date}"
    return None


def _skus(source: dict[str, Any]) -> set[str]:
    return {
        str(r["ArticleNumber"]) for r in source.get("Rows") or [] if not r.get("IsTextRow") and r.get("ArticleNumber")
    }


def _new_item(opts: OrdersOptions, code: str, row: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"Code": code, "Description": str(row.get("Text") or code)[:60], "IsSalesItem": True}
    if opts.created_item_vat_code:
        item["SalesVatCode"] = opts.created_item_vat_code
    return item


def _prepared(opts: OrdersOptions, source: dict[str, Any]) -> dict[str, Any]:
    """The record as the mapping should see it: freight rows (the shipping article) carry the configured Exact
    shipping item, `ShippingItemCode` names it for the mapping's shipping line, and invoice prices that include
    VAT are made exclusive (Exact's lines are excluding VAT)."""
    record = dict(source)
    record["ShippingItemCode"] = opts.shipping_item_code
    rows = [
        {**r, "ArticleNumber": opts.shipping_item_code} if r.get("ArticleNumber") == opts.shipping_article_number else r
        for r in source.get("Rows") or []
    ]
    if source.get("IncludesVat"):
        rows = [_excluding_vat(r) for r in rows]
    record["Rows"] = rows
    return record


def _excluding_vat(row: dict[str, Any]) -> dict[str, Any]:
    """A customer-invoice row whose `UnitPrice` includes VAT (`IncludesVat` on the invoice), excluding it, to 4
    decimals (half up); `PercentVat` is read as a fraction (0.25), or as a percentage when 1 or more (25)."""
    price, rate = row.get("UnitPrice"), row.get("PercentVat")
    if price is None or row.get("IsTextRow"):
        return row
    if rate is None:
        raise RecordFailed(f"row {row.get('LineNumber')}: the price includes VAT but the row has no PercentVat")
    fraction = Decimal(str(rate))
    if fraction >= 1:
        fraction /= 100
    net = (Decimal(str(price)) / (1 + fraction)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return {**row, "UnitPrice": str(net)}


async def _create_item(ctx: FlowContext, opts: OrdersOptions, code: str, row: dict[str, Any]) -> str:
    """Create a missing item once: concurrent jobs of this process share one create (single-flight cache), and one
    of another process that won the race is found by its code instead of failing the record."""

    async def create() -> str:
        try:
            created = await ctx.exact.create_item(_new_item(opts, code, row))
        except Rejected:
            existing = await ctx.exact.find_item_by_code(code)
            if existing is None:
                raise
            return existing.id.lower()
        return created.id.lower()

    item_id: str = await ctx.cache.get(f"orders:created_item:{code}", create)
    remember_item(ctx, code, item_id)
    return item_id


async def _items(ctx: FlowContext, opts: OrdersOptions, source: dict[str, Any]) -> dict[str, str]:
    wanted = _skus(source)
    if source.get("ShippingAmount"):
        wanted.add(opts.shipping_item_code)
    if opts.discount_item_code and source.get("DiscountAmount"):
        wanted.add(opts.discount_item_code)
    found = await items_by_code(ctx, wanted, opts.items_refresh_seconds)
    missing = sorted(wanted - found.keys())
    creatable = missing if opts.missing_sku == "create_item" else [c for c in missing if c == opts.shipping_item_code]
    if creatable:
        for code in creatable:
            row: dict[str, Any] = next((r for r in source.get("Rows") or [] if r.get("ArticleNumber") == code), {})
            found[code] = await _create_item(ctx, opts, code, row)
        missing = sorted(wanted - found.keys())
    if missing:
        raise RecordFailed(f"SKU {', '.join(missing)} does not exist in Exact", sku=missing)
    return found


def _vat_code(opts: OrdersOptions, source: dict[str, Any], customer: dict[str, Any]) -> str | None:
    country = str(source.get("InvoiceCountryCode") or customer.get("InvoiceCountryCode") or "").upper()
    business = not (source.get("CustomerIsPrivatePerson") or customer.get("IsPrivatePerson"))
    vat_no = source.get("VatNumber") or customer.get("VatNumber")
    if opts.reverse_charge_vat_code and business and vat_no and country in _EU and country != opts.home_country:
        return opts.reverse_charge_vat_code
    return opts.vat_code_by_country.get(country)


def _payment_condition(opts: OrdersOptions, customer: dict[str, Any]) -> str | None:
    """The customer's eAccounting terms of payment as an Exact payment condition code (by terms id or days)."""
    days = customer.get("TermsDays", (customer.get("TermsOfPayment") or {}).get("NumberOfDays"))
    for key in (customer.get("TermsOfPaymentId"), None if days is None else str(days)):
        if key is not None and str(key) in opts.payment_condition_by_terms:
            return opts.payment_condition_by_terms[str(key)]
    return None


def _extra_lines(opts: OrdersOptions, source: dict[str, Any], items: dict[str, str]) -> list[dict[str, Any]]:
    """An order-level discount as a line of its own (a `ShippingAmount` line comes from the mapping)."""
    lines: list[dict[str, Any]] = []
    discount = Decimal(str(source.get("DiscountAmount") or 0))
    if discount and opts.discount_item_code:
        lines.append({"Item": items[opts.discount_item_code], "Quantity": Decimal(1), "UnitPrice": -abs(discount)})
    return lines


async def _lookups(
    ctx: FlowContext, opts: OrdersOptions, source: dict[str, Any], account: str, items: dict[str, str]
) -> dict[str, Any]:
    tables: dict[str, Any] = {
        "accounts_by_customer_id": {str(source.get("CustomerId")): account},
        "items_by_code": items,
    }
    if opts.document in ("sales_invoice", "direct_invoice", "journal_entry"):
        tables["gl_accounts_by_code"] = await table_by_code(ctx, "gl_accounts")
    if opts.document == "direct_invoice":
        tables["warehouses_by_code"] = await table_by_code(ctx, "warehouses")
    return tables


async def handle(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    opts: OrdersOptions = ctx.options
    kind = _kind(opts)
    record_id = str(source["Id"])
    number = _number(source)
    reason = _selection_skip(opts, source)
    if reason:
        return Outcome.skipped(reason)
    for other in _kinds_of_source(opts):
        existing = await ctx.xref.target(other, record_id)
        if existing:
            what = other.rsplit(":", 1)[1]
            return Outcome("unchanged", target_id=existing, reason=f"already transferred (Exact {what} {existing})")
    create_name, find_name, key_attr, number_attr = _EXACT_CALLS[opts.document]
    if await ctx.xref.pending(kind, record_id):
        answer = await getattr(ctx.exact, find_name)(number)
        found = getattr(answer, key_attr, None) if answer is not None else None
        if found:  # an earlier run wrote it and died before link()
            found = str(found).lower()
            await ctx.xref.link(kind, record_id, found)
            exact_no = getattr(answer, number_attr, None) or found
            reason = f"exists in Exact as {opts.document.replace('_', ' ')} {exact_no} (YourRef {number})"
            return Outcome.skipped(reason, target_id=found)
    record = _prepared(opts, source)
    if opts.source == "customer_invoices":
        record.setdefault("Status", 2)
    # SKUs first: a record that must fail should not create a customer on its way
    items = await _items(ctx, opts, record) if opts.document != "journal_entry" else {}
    account, customer = await order_customer(ctx, opts, source)
    tables = await _lookups(ctx, opts, record, account, items)
    mapping = ctx.mappings(f"orders_to_exact_{opts.document}")
    result = mapping.map(record, mode="create", lookups=tables)
    if result.payload is None:
        return Outcome.skipped(result.skipped or "filtered by the mapping")
    payload: dict[str, Any] = dict(result.payload)
    payload["YourRef"] = number
    if opts.warehouse_code and opts.document == "direct_invoice":
        warehouse = tables.get("warehouses_by_code", {}).get(opts.warehouse_code)
        if warehouse is None:
            raise RecordFailed(f"warehouse {opts.warehouse_code} does not exist in Exact")
        payload["Warehouse"] = warehouse
    if opts.journal_code and "Journal" in payload:
        payload["Journal"] = opts.journal_code
    lines_key = _LINES.get(opts.document, "SalesInvoiceLines")
    if opts.document != "journal_entry":
        payload[lines_key] = [*payload.get(lines_key, []), *_extra_lines(opts, record, tables.get("items_by_code", {}))]
    condition = _payment_condition(opts, customer)
    if condition:
        payload["PaymentCondition"] = condition
    vat = _vat_code(opts, source, customer)
    if vat:
        for line in payload.get(lines_key, []):
            line["VATCode"] = vat
    ctx.target_payload = payload
    await ctx.xref.begin(kind, record_id)
    created = await getattr(ctx.exact, create_name)(payload)
    key = getattr(created, key_attr, None)
    if not key:
        raise RecordFailed("Exact did not return an id for the created document")
    target = str(key).lower()
    await ctx.xref.link(kind, record_id, target, payload_hash=content_hash(payload))
    note = None
    if opts.write_back and opts.source == "orders":
        note = await _write_back(ctx, record_id, f"Exact {_LABELS[opts.document]} {getattr(created, number_attr, '')}")
    return Outcome("created", target_id=target, reason=note, target_payload=payload)


_LABELS = {
    "sales_order": "sales order",
    "sales_invoice": "invoice",
    "direct_invoice": "invoice",
    "journal_entry": "entry",
}


async def _write_back(ctx: FlowContext, order_id: str, text: str) -> str | None:
    """Tell eAccounting where the order went, in `OurReference` (the OrderApi's one free header field).

    After the Exact write and its link: a failure here is reported in the outcome's reason, never retried, as a
    retry would find the order transferred and do nothing. An invoiced order cannot change and is left alone.
    """
    try:
        # The PUT replaces the whole order: hold it from the GET, as the shipments flow does when it writes.
        async with ctx.xref.lock(ORDER_LOCK, order_id):
            order = await ctx.eaccounting.get_order(order_id)
            if order.status == OrderStatus.INVOICED:
                return "not written back: the eAccounting order is invoiced"
            body = order.to_payload()
            body["OurReference"] = text[:50]
            await ctx.eaccounting.update_order(order_id, body)
    except ConnectorError as exc:
        ctx.log.warning("orders.write_back_failed", order_id=order_id, error=str(exc))
        return f"transferred, but writing back to eAccounting failed: {exc}"
    return f"written back to eAccounting: OurReference '{text[:50]}'"


ORDERS = FlowDefinition(
    name="orders",
    title="eAccounting orders -> Exact Online",
    source="eaccounting",
    target="exact",
    fetch=fetch,
    handle=handle,
    poll=poll,
    options_model=OrdersOptions,
    default_mapping="orders_to_exact_sales_order",
    mapping_choices=(
        "orders_to_exact_sales_order",
        "orders_to_exact_sales_invoice",
        "orders_to_exact_direct_invoice",
        "orders_to_exact_journal_entry",
    ),
)
FLOWS = (ORDERS,)
