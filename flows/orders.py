"""Orders flow: eAccounting orders (or customer invoices) -> Exact Online sales order, invoice or journal entry.

The rule per record: skip what is not selected or already transferred (cross-reference first, then Exact's
`Description` reference key only when an earlier attempt may have written), check every SKU against the items
cache, read the VAT eAccounting charged as Exact VAT codes (flows/orders_vat.py), resolve the customer
(cross-reference, else match by e-mail / customer number / VAT number, else create with that VAT code), map with
the selected `orders_to_exact_<document>` mapping, create header and lines in ONE POST, and compare the totals of
Exact's answer with the source's (a difference: `created`, flagged `mismatch`). See docs/flows/orders.md.

Reference fields: Exact's `YourRef` carries the customer's own reference (eAccounting `YourReference`); the flow's
reference key, `eAccounting order <number>` (`eAccounting invoice <number>`), is the document's `Description`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.xref import content_hash
from connectors.eaccounting import OrderStatus
from connectors.errors import ConnectorError, NotFound
from flows.base import (
    ORDER_LOCK,
    FlowContext,
    FlowDefinition,
    Outcome,
    PollPage,
    RecordFailed,
    RecordLabel,
    label_value,
    source_record,
)
from flows.orders_articles import article_vat
from flows.orders_customers import order_customer
from flows.orders_exact import item_vat_code, payment_conditions, table_by_code, vat_codes
from flows.orders_items import complete_items, known_items
from flows.orders_options import OrdersOptions
from flows.orders_payment import payment_condition
from flows.orders_totals import (
    describe_mismatch,
    estimated_exact_totals,
    exact_totals,
    mismatch,
    source_rounding,
    source_totals,
)
from flows.orders_vat import EU, ArticleVat, DocumentVat, VatRules, document_vat, rounding_code

PAGE = 50
CURSOR_OVERLAP = timedelta(seconds=1)

_ORDER_KINDS: dict[str, str] = {
    "sales_order": "ea:order>exact:salesorder",
    "sales_invoice": "ea:order>exact:salesinvoice",
    "direct_invoice": "ea:order>exact:salesinvoice",
    "journal_entry": "ea:order>exact:salesentry",
}
# Per document: the Exact client's create and find-by-Description methods, and the answer's key and number attributes.
_EXACT_CALLS: dict[str, tuple[str, str, str, str]] = {
    "sales_order": ("create_sales_order", "find_sales_order_by_description", "order_id", "order_number"),
    "sales_invoice": ("create_sales_invoice", "find_sales_invoice_by_description", "invoice_id", "invoice_number"),
    "direct_invoice": ("create_sales_invoice", "find_sales_invoice_by_description", "invoice_id", "invoice_number"),
    "journal_entry": ("create_sales_entry", "find_sales_entry_by_description", "entry_id", "entry_number"),
}
LINES = {"sales_order": "SalesOrderLines", "journal_entry": "SalesEntryLines"}


def lines_key(document: str) -> str:
    return LINES.get(document, "SalesInvoiceLines")


def reference_key(source: str, number: str) -> str:
    """The flow's own key of a transferred document, kept in the Exact document's `Description`."""
    return f"eAccounting {'invoice' if source == 'customer_invoices' else 'order'} {number}"


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


def _prepared(opts: OrdersOptions, source: dict[str, Any]) -> dict[str, Any]:
    """The record as the mapping should see it: freight rows (the shipping article) carry the configured Exact
    shipping item, and invoice prices that include VAT are made exclusive (Exact's lines are excluding VAT)."""
    record = dict(source)
    rows = [
        {**r, "ArticleNumber": opts.shipping_item_code, "SourceArticleNumber": r["ArticleNumber"]}
        if r.get("ArticleNumber") == opts.shipping_article_number
        else r
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


def vat_rules(opts: OrdersOptions, *, oss_first: bool = False) -> VatRules:
    return VatRules(
        home_country=opts.home_country,
        by_situation={str(k): v for k, v in opts.vat_code_by_situation.items()},
        by_country={k.upper(): v for k, v in opts.vat_code_by_country.items()},
        reverse_charge_code=opts.reverse_charge_vat_code,
        shipping_article=opts.shipping_item_code,
        oss_first=oss_first,
    )


async def _oss_first(ctx: FlowContext, opts: OrdersOptions, record: dict[str, Any]) -> bool:
    """Read an EU private person's VAT as One Stop Shop rates first? Asks eAccounting (once per cache TTL) only
    for a taxed sale to another EU country under `eu_private_vat: auto`."""
    country = str(record.get("InvoiceCountryCode") or opts.home_country).upper()
    taxed = bool(record.get("VatAmount") or record.get("TotalVatAmountInvoiceCurrency"))
    if opts.eu_private_vat != "auto" or not taxed or country == opts.home_country or country not in EU:
        return opts.eu_private_vat == "oss"

    async def load() -> bool:
        return bool(await ctx.eaccounting.uses_one_stop_shop())

    uses: bool = await ctx.cache.get("orders:ea_uses_oss", load)
    return uses


async def source_vat(ctx: FlowContext, opts: OrdersOptions, record: dict[str, Any]) -> DocumentVat:
    """The record's VAT as Exact codes (`RecordFailed` when it cannot be read back exactly)."""
    articles = await article_vat(ctx, source_rows(record), opts.items_refresh_seconds)
    codes = await vat_codes(ctx)
    rules = vat_rules(opts, oss_first=await _oss_first(ctx, opts, record))

    def lookup(row: Mapping[str, Any]) -> ArticleVat | None:
        original = row.get("SourceArticleNumber") or row.get("ArticleNumber")
        return articles({**row, "ArticleNumber": original})

    return document_vat(record, lookup, codes, rules, lambda sku: item_vat_code(ctx, sku))


def source_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = record.get("Rows") or []
    return rows


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
    key = reference_key(opts.source, number)
    if await ctx.xref.pending(kind, record_id):
        answer = await getattr(ctx.exact, find_name)(key)
        found = getattr(answer, key_attr, None) if answer is not None else None
        if found:  # an earlier run wrote it and died before link()
            found = str(found).lower()
            await ctx.xref.link(kind, record_id, found)
            exact_no = getattr(answer, number_attr, None) or found
            reason = f"exists in Exact as {opts.document.replace('_', ' ')} {exact_no} ({key})"
            return Outcome.skipped(reason, target_id=found)
    record = _prepared(opts, source)
    # SKUs and VAT first: a record that must fail should not create a customer on its way
    items = await known_items(ctx, opts, record)
    vat = await source_vat(ctx, opts, record)
    rounding = source_rounding(source)
    if opts.document != "journal_entry":
        codes = await vat_codes(ctx)
        items = await complete_items(ctx, opts, record, items, vat, codes, vat_rules(opts), rounding=bool(rounding))
    account, customer = await order_customer(ctx, opts, source, vat.account_code)
    condition = payment_condition(opts, customer, await payment_conditions(ctx))
    tables = await _lookups(ctx, opts, record, account, items)
    record["Rows"] = [dict(row) for row in record["Rows"]]
    amounts = vat.line_vats()
    for row_vat in vat.rows:
        record["Rows"][row_vat.index]["ExactVatCode"] = row_vat.code
        record["Rows"][row_vat.index]["ExactVatAmount"] = amounts[row_vat.index]
    mapping = ctx.mappings(f"orders_to_exact_{opts.document}")
    result = mapping.map(record, mode="create", lookups=tables)
    if result.payload is None:
        return Outcome.skipped(result.skipped or "filtered by the mapping")
    payload: dict[str, Any] = dict(result.payload)
    payload["Description"] = key
    if opts.warehouse_code and opts.document == "direct_invoice":
        warehouse = tables.get("warehouses_by_code", {}).get(opts.warehouse_code)
        if warehouse is None:
            raise RecordFailed(f"warehouse {opts.warehouse_code} does not exist in Exact")
        payload["Warehouse"] = warehouse
    if opts.journal_code and "Journal" in payload:
        payload["Journal"] = opts.journal_code
    if rounding:
        no_vat = rounding_code(await vat_codes(ctx), vat_rules(opts))
        payload[lines_key(opts.document)].append(_rounding_line(opts, payload, items, rounding, no_vat))
    if condition:
        payload["PaymentCondition"] = condition
    ctx.target_payload = payload
    await ctx.xref.begin(kind, record_id)
    created = await getattr(ctx.exact, create_name)(payload)
    target_key = getattr(created, key_attr, None)
    if not target_key:
        raise RecordFailed("Exact did not return an id for the created document")
    target = str(target_key).lower()
    await ctx.xref.link(kind, record_id, target, payload_hash=content_hash(payload))
    notes: list[str] = []
    exact = exact_totals(created.model_dump(by_alias=True))
    differs = mismatch(source_totals(source), exact) if exact is not None else None
    if differs is not None:
        notes.append(describe_mismatch(differs))
    elif exact is None:
        notes.append("totals not checked: Exact's answer carries none")
    if opts.write_back and opts.source == "orders":
        note = await _write_back(ctx, record_id, f"Exact {_LABELS[opts.document]} {getattr(created, number_attr, '')}")
        notes.append(note or "")
    reason = "; ".join(n for n in notes if n) or None
    return Outcome("created", target_id=target, reason=reason, target_payload=payload, mismatch=differs)


def _rounding_line(
    opts: OrdersOptions, payload: dict[str, Any], items: dict[str, str], rounding: Decimal, code: str
) -> dict[str, Any]:
    """The document's rounding (eAccounting `RoundingsAmount`) as a line without VAT."""
    line: dict[str, Any] = {"Description": "Rounding", "VATCode": code}
    if opts.document == "journal_entry":
        first = (payload.get("SalesEntryLines") or [{}])[0]
        return {**line, "GLAccount": first.get("GLAccount"), "AmountFC": rounding}
    return {**line, "Item": items[opts.rounding_item_code], "Quantity": Decimal(1), "UnitPrice": rounding,
            "Discount": Decimal(0)}  # fmt: skip


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


async def preview_check(ctx: FlowContext, source: dict[str, Any], payload: Any) -> list[str]:
    """A preview's totals check: what Exact will compute for `payload` (its VAT codes' types and rates) against the
    source's totals, to the cent; a run compares Exact's answer instead (`mismatch` on the outcome)."""
    opts: OrdersOptions = ctx.options
    if not isinstance(payload, dict):
        return []
    codes = {c.code.strip(): (c.type, c.percentage or Decimal(0)) for c in await vat_codes(ctx) if c.code}
    estimate = estimated_exact_totals(payload, lines_key(opts.document), codes)
    differs = mismatch(source_totals(source), estimate)
    return [f"Exact would compute other totals than eAccounting's: {describe_mismatch(differs)}"] if differs else []


def label(source: Mapping[str, Any]) -> RecordLabel:
    """ "order 1007 - Jansen BV" (a customer invoice: "invoice 2041 - Jansen BV")."""
    invoice = label_value(source.get("InvoiceNumber"))
    kind, key = ("invoice", invoice) if invoice else ("order", label_value(source.get("Number")))
    name = label_value(source.get("InvoiceCustomerName") or source.get("CustomerName"))
    return RecordLabel(
        kind,
        key,
        name or label_value(source.get("DeliveryCustomerName")),
        person=source.get("CustomerIsPrivatePerson") is True,
    )


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
    label=label,
    preview_check=preview_check,
    mapping_choices=(
        "orders_to_exact_sales_order",
        "orders_to_exact_sales_invoice",
        "orders_to_exact_direct_invoice",
        "orders_to_exact_journal_entry",
    ),
)
FLOWS = (ORDERS,)
