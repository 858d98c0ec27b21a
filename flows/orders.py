"""Orders flow: eAccounting orders (or customer invoices) -> Exact Online sales order, invoice or journal entry.

The rule per record: skip what is not selected or already transferred (cross-reference first, then Exact's
`YourRef` only when an earlier attempt may have written), resolve the customer (cross-reference, else match by
e-mail / customer number / VAT number, else create), check every SKU against the items cache, map with the
selected `orders_to_exact_<document>` mapping and create header and lines in ONE POST. See docs/flows/orders.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from app.xref import content_hash
from connectors.errors import NotFound, Rejected
from flows.base import FlowContext, FlowDefinition, FlowOptions, Outcome, PollPage, RecordFailed
from flows.exact_accounts import CUSTOMER_KIND, create_contact_person, profile, remember_profile
from flows.orders_exact import account_by_key, items_by_code, remember_account, remember_item, table_by_code

Document = Literal["sales_order", "sales_invoice", "direct_invoice", "journal_entry"]
PAGE = 50

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


class OrdersOptions(FlowOptions):
    """What to transfer, as what, and how to find customers and items in Exact."""

    document: Document = Field("sales_order", description="Exact document; selects mapping orders_to_exact_<document>")
    source: Literal["orders", "customer_invoices"] = "orders"
    statuses: list[int] = Field(default_factory=lambda: [2, 3], description="eAccounting order statuses to transfer")
    start_date: date | None = Field(None, description="Ignore orders dated before this day")
    customer_match: Literal["email", "customer_number", "vat_number"] = "email"
    update_customers: bool = Field(
        False, description="Re-read a known customer per order (1 eAccounting call) and update Exact when it changed"
    )
    default_debtor_code: str | None = Field(None, description="Exact account code all orders go to (no lookup)")
    missing_sku: Literal["fail", "create_item"] = "fail"
    created_item_vat_code: str | None = Field(
        "2", description="Exact SalesVatCode of items the flow creates (2 = 21 % sales VAT in a Dutch administration)"
    )
    shipping_article_number: str = Field("SHIPPING", description="eAccounting article web shops put freight on")
    shipping_item_code: str | None = Field(
        "SHIPPING", description="Exact item for freight rows / ShippingAmount; created once when missing"
    )
    discount_item_code: str | None = Field(None, description="Exact item code for an order-level discount line")
    warehouse_code: str | None = Field(None, description="Exact warehouse code (direct invoice)")
    journal_code: str | None = Field(None, description="Exact sales journal code (invoice/entry); None: mapping's")
    vat_code_by_country: dict[str, str] = Field(default_factory=dict, description="ISO country -> Exact VAT code")
    payment_condition_by_terms: dict[str, str] = Field(
        default_factory=dict,
        description="eAccounting TermsOfPaymentId, or its number of days ('30'), -> Exact payment condition code",
    )
    reverse_charge_vat_code: str | None = Field(None, description="VAT code for EU business customers abroad")
    home_country: str = Field("NL", description="The Exact administration's country (reverse charge test)")
    write_back: bool = Field(False, description="Not supported by the eAccounting API; see docs/flows/orders.md")
    create_contact_person: bool = Field(True, description="New company accounts get their contact person (1 call)")
    accounts_refresh_seconds: float = Field(60.0, ge=0, description="Accounts-by-e-mail sync at most this often")
    items_refresh_seconds: float = Field(300.0, ge=0, description="Incremental items sync at most this often")


def _kind(opts: OrdersOptions) -> str:
    if opts.source == "customer_invoices":
        return "ea:invoice>exact:salesinvoice"
    return _ORDER_KINDS[opts.document]


def _dump(model: Any) -> dict[str, Any]:
    if isinstance(model, dict):
        return model
    dumped: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def _parse_ts(cursor: str | None) -> datetime | None:
    return datetime.fromisoformat(cursor) if cursor else None


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    """Orders changed since the cursor (`ModifiedUtc`), one listing per selected status; rows travel along."""
    opts: OrdersOptions = ctx.options
    since = _parse_ts(cursor)
    newest = since
    listings: list[Any]
    if opts.source == "customer_invoices":
        listings = [ctx.eaccounting.list_customer_invoices(modified_since=since)]
    else:
        listings = [ctx.eaccounting.list_orders(status=s, modified_since=since) for s in opts.statuses]
    for listing in listings:
        batch: dict[str, dict[str, Any]] = {}
        async for record in listing:
            payload = _dump(record)
            modified = getattr(record, "modified_utc", None)
            if isinstance(modified, datetime) and (newest is None or modified > newest):
                newest = modified
            batch[str(payload["Id"])] = payload
            if len(batch) >= PAGE:
                yield PollPage(list(batch), None, batch)
                batch = {}
        if batch:
            yield PollPage(list(batch), None, batch)
    yield PollPage([], newest.isoformat() if newest else cursor)


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    """The order (or invoice) with its rows; None when it was deleted in eAccounting."""
    opts: OrdersOptions = ctx.options
    try:
        if opts.source == "customer_invoices":
            return _dump(await ctx.eaccounting.get_customer_invoice(record_id))
        return _dump(await ctx.eaccounting.get_order(record_id))
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


def _with_shipping_item(opts: OrdersOptions, source: dict[str, Any]) -> dict[str, Any]:
    """Freight rows (the shipping article) are sent with the configured Exact shipping item."""
    record = dict(source)
    if opts.shipping_item_code:
        record["Rows"] = [
            {**r, "ArticleNumber": opts.shipping_item_code}
            if r.get("ArticleNumber") == opts.shipping_article_number
            else r
            for r in source.get("Rows") or []
        ]
    return record


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
    if opts.shipping_item_code and source.get("ShippingAmount"):
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


async def _customer(ctx: FlowContext, opts: OrdersOptions, source: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Exact account id of the order's customer, and the eAccounting customer (empty when not read)."""
    debtor = opts.default_debtor_code
    if debtor:

        async def load() -> str:
            account = await ctx.exact.find_account_by_code(debtor)
            if account is None:
                raise RecordFailed(f"default debtor {debtor} does not exist in Exact")
            return account.id.lower()

        return await ctx.cache.get(f"orders:debtor:{debtor}", load), {}
    customer_id = str(source["CustomerId"])
    known = await _linked_customer(ctx, opts, customer_id)
    if known is not None:
        return known
    # One job at a time per customer: two orders of a new customer must not both create its account.
    async with ctx.xref.lock(CUSTOMER_KIND, customer_id):
        return await _resolve_customer(ctx, opts, customer_id)


async def _linked_customer(
    ctx: FlowContext, opts: OrdersOptions, customer_id: str
) -> tuple[str, dict[str, Any]] | None:
    """A returning customer from the cross-reference (no API call), with the profile kept when it was read."""
    linked = await ctx.xref.target(CUSTOMER_KIND, customer_id)
    if linked is None or opts.update_customers:
        return None
    return linked, await profile(ctx, customer_id)


async def _resolve_customer(ctx: FlowContext, opts: OrdersOptions, customer_id: str) -> tuple[str, dict[str, Any]]:
    known = await _linked_customer(ctx, opts, customer_id)  # linked by the job that held the lock before us
    if known is not None:
        return known
    linked = await ctx.xref.target(CUSTOMER_KIND, customer_id)
    customer = _dump(await ctx.eaccounting.get_customer(customer_id))
    await remember_profile(ctx, customer_id, customer)
    if linked:
        await _update_account(ctx, customer_id, linked, customer)
        return linked, customer
    key = {
        "email": customer.get("EmailAddress"),
        "customer_number": customer.get("CustomerNumber"),
        "vat_number": customer.get("VatNumber"),
    }[opts.customer_match]
    refresh = opts.accounts_refresh_seconds
    found = await account_by_key(ctx, opts.customer_match, str(key), refresh) if key else None
    if found is None:
        if await ctx.xref.begin(CUSTOMER_KIND, customer_id) and key:  # an earlier attempt may have created it
            found = await account_by_key(ctx, opts.customer_match, str(key), refresh, verify=True)
        if found is None:
            found = await _create_account(ctx, customer, contact=opts.create_contact_person)
    await ctx.xref.link(CUSTOMER_KIND, customer_id, found, payload_hash=content_hash(_account_update(ctx, customer)))
    return found, customer


def _account_update(ctx: FlowContext, customer: dict[str, Any]) -> dict[str, Any]:
    return dict(ctx.mappings("customers_eaccounting_to_exact").map(customer, mode="update").payload or {})


async def _update_account(ctx: FlowContext, customer_id: str, account: str, customer: dict[str, Any]) -> None:
    """Write the customer's changes to its Exact account, only when the mapped fields changed (hash)."""
    payload = _account_update(ctx, customer)
    digest = content_hash(payload)
    if digest == await ctx.xref.last_hash(CUSTOMER_KIND, customer_id):
        return
    ctx.target_payload = payload
    await ctx.exact.update_account(account, payload)
    await ctx.xref.set_hash(CUSTOMER_KIND, customer_id, digest)


async def _create_account(ctx: FlowContext, customer: dict[str, Any], *, contact: bool) -> str:
    """Company -> account plus contact person; private person -> an account named after the person."""
    mapped = ctx.mappings("customers_eaccounting_to_exact").map(customer, mode="create")
    payload = dict(mapped.payload or {})
    payload.setdefault("Name", customer.get("Name"))
    payload.setdefault("Email", customer.get("EmailAddress"))
    payload.setdefault("Status", "C")
    ctx.target_payload = payload
    account = (await ctx.exact.create_account(payload)).id.lower()
    remember_account(ctx, customer.get("EmailAddress"), account)
    if contact and not customer.get("IsPrivatePerson"):
        await create_contact_person(ctx, account, customer)
    return account


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
    lines: list[dict[str, Any]] = []
    shipping = Decimal(str(source.get("ShippingAmount") or 0))
    if shipping and opts.shipping_item_code:
        lines.append({"Item": items[opts.shipping_item_code], "Quantity": Decimal(1), "UnitPrice": shipping})
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
    existing = await ctx.xref.target(kind, record_id)
    if existing:
        return Outcome("unchanged", target_id=existing, reason=f"already transferred as {existing}")
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
    record = _with_shipping_item(opts, source)
    if opts.source == "customer_invoices":
        record.setdefault("Status", 2)
    # SKUs first: a record that must fail should not create a customer on its way
    items = await _items(ctx, opts, record) if opts.document != "journal_entry" else {}
    account, customer = await _customer(ctx, opts, source)
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
    return Outcome("created", target_id=target, target_payload=payload)


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
