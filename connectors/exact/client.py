"""`ExactClient`: typed async operations on one Exact Online division over the shared `ApiClient`.

Reads: lookups are `$filter`ed list calls (a miss is an empty answer, not a 404 that counts against Exact's
10-errors-per-hour budget); incremental reads use the sync API (`Timestamp gt N`, 1,000 rows a page) and yield
`SyncPage`s whose `timestamp` is the cursor to store after each page; deletions come from `sync_deleted`.
Writes: header and lines in ONE POST (deep insert); PUT sends only the properties to change and answers 204.
A POST whose outcome is unknown (dropped connection, 5xx) is never resent: `ApiClient` raises `TransientError`
and the caller re-checks by natural key (`find_*_by_yourref`) before trying again (§10).

Every method raises only `connectors.errors.ConnectorError` subclasses (plus ValueError for arguments that cannot
be sent): `Rejected` carries Exact's message naming the property, `NotFound` a missing record, `AuthError` a
division or scope the connection may not use, `ReauthorizationRequired` a connection a human must renew.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import structlog

from connectors.errors import NotFound, Rejected, TransientError
from connectors.exact.base import PAGE_SIZE, ExactBase, select_of
from connectors.exact.documents import (
    GeneralJournalEntry,
    GoodsDelivery,
    GoodsDeliveryLine,
    SalesEntry,
    SalesInvoice,
    SalesOrder,
)
from connectors.exact.models import (
    Account,
    Contact,
    Deleted,
    Item,
    ItemGroup,
    ItemWarehouse,
    StockPosition,
    Unit,
    Warehouse,
    WebhookSubscription,
)
from connectors.exact.paging import SyncPage
from connectors.exact.policy import SYSTEM
from connectors.exact.reference import (
    Costcenter,
    Costunit,
    GLAccount,
    Journal,
    PaymentCondition,
    ShippingMethod,
    VATCode,
)
from connectors.exact.wire import Payload, body_of, odata_guid, odata_string, pad_account_code, unwrap_one

__all__ = ["DIRECT_INVOICE_TYPES", "ExactClient"]

log = structlog.get_logger("connectors.exact")

DIRECT_INVOICE_TYPES = frozenset({8023, 8024})  # direct sales invoice / credit note: need a Warehouse, move stock


def _with_lines(body: dict[str, Any], nav: str) -> dict[str, Any]:
    """Every transaction needs at least one line (§4.7); refusing here spares a call and an error on the budget."""
    lines = body.get(nav)
    if not isinstance(lines, list) or not lines:
        raise Rejected(f"Mandatory field is missing: {nav} (at least one line)", system=SYSTEM, endpoint=nav)
    return body


def _padded(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body.get("Code"), str) and body["Code"].strip():
        body["Code"] = pad_account_code(body["Code"])
    return body


class ExactClient(ExactBase):
    """Typed operations on one Exact Online division. Build it with `build_exact_client`."""

    # -- accounts and contacts -----------------------------------------------------------------------------------

    async def get_account(self, account_id: str) -> Account:
        """One account by ID; `NotFound` when there is none."""
        return await self._by_key("crm/Accounts", account_id, Account)

    async def find_account(self, account_id: str) -> Account | None:
        """One account by ID, or None when it does not (or no longer) exist(s); never a 404 (see `_find`)."""
        return await self._find("crm/Accounts", Account, "ID", account_id)

    async def find_account_by_email(self, email: str) -> Account | None:
        return await self._first("crm/Accounts", Account, f"Email eq {odata_string(email.strip())}", "email")

    async def find_account_by_code(self, code: str) -> Account | None:
        """The account with this code; the filter carries Exact's 18-character padding (an unpadded one finds
        nothing)."""
        return await self._first("crm/Accounts", Account, f"Code eq {odata_string(pad_account_code(code))}", "code")

    async def find_account_by_vat(self, vat: str) -> Account | None:
        """The account whose `VATNumber` is `vat` as typed in Exact (spaces are not normalised by Exact)."""
        return await self._first("crm/Accounts", Account, f"VATNumber eq {odata_string(vat.strip())}", "vat")

    async def create_account(self, payload: Payload) -> Account:
        """`POST crm/Accounts`: `Name` is mandatory; a customer has `Status` "C" and `IsSales` true. A `Code` is
        sent padded; without one Exact assigns the highest code + 1."""
        return await self._create("crm/Accounts", Account, _padded(body_of(payload)))

    async def update_account(self, account_id: str, payload: Payload) -> None:
        await self._update("crm/Accounts", account_id, _padded(body_of(payload)))

    def sync_accounts(self, timestamp: int) -> AsyncIterator[SyncPage[Account]]:
        """Accounts changed after `timestamp` (`sync/CRM/Accounts`); start at 1 for everything."""
        return self._sync("sync/CRM/Accounts", Account, timestamp)

    async def get_contact(self, contact_id: str) -> Contact:
        return await self._by_key("crm/Contacts", contact_id, Contact)

    async def contacts_of(self, account_id: str) -> list[Contact]:
        """Every contact of an account (60 a page)."""
        return await self._list("crm/Contacts", Contact, filter=f"Account eq {odata_guid(account_id)}")

    async def create_contact(self, payload: Payload) -> Contact:
        """`POST crm/Contacts`: `Account` plus `FirstName` or `LastName`."""
        return await self._create("crm/Contacts", Contact, body_of(payload))

    async def update_contact(self, contact_id: str, payload: Payload) -> None:
        await self._update("crm/Contacts", contact_id, body_of(payload))

    # -- items ---------------------------------------------------------------------------------------------------

    async def get_item(self, item_id: str) -> Item:
        return await self._by_key("logistics/Items", item_id, Item)

    async def find_item(self, item_id: str) -> Item | None:
        """One item by ID, or None; never a 404 (see `_find`)."""
        return await self._find("logistics/Items", Item, "ID", item_id)

    async def find_item_by_code(self, code: str) -> Item | None:
        return await self._first("logistics/Items", Item, f"Code eq {odata_string(code)}", "code")

    async def items_by_codes(self, codes: Iterable[str]) -> dict[str, Item]:
        """Items by `Code` for many SKUs in few calls: `or`ed `Code eq` clauses on `logistics/Items`, as many per
        request as one page holds (60) and the 6,000-character URL allows. Codes that do not exist are absent from
        the answer; codes are matched case-insensitively, as Exact's collation compares them. (Exact's bulk API has
        a `bulk/Logistics/Items`, but the reference does not list it, so it is not used.)"""
        wanted = sorted({c for c in codes if c})
        if not wanted:
            return {}
        by_lower: dict[str, list[str]] = {}
        for code in wanted:
            by_lower.setdefault(code.lower(), []).append(code)
        select = select_of(Item)
        found: dict[str, Item] = {}
        clauses = [f"Code eq {odata_string(code)}" for code in wanted]
        for chunk in await self._or_chunks("logistics/Items", {"$select": select}, clauses, per_chunk=PAGE_SIZE):
            async for page in self._pages("logistics/Items", {"$select": select, "$filter": chunk}):
                for row in page:
                    item = self._valid(Item, row, "logistics/Items")
                    for code in by_lower.get((item.code or "").lower(), []):
                        found[code] = item
        return found

    async def item_prices(self, item_ids: Iterable[str]) -> dict[str, Decimal | None]:
        """`StandardSalesPrice` by item ID, read from `logistics/Items` (the sync endpoint does not carry it), 60
        items a call. Items that no longer exist are absent."""
        ids = sorted({i.lower() for i in item_ids if i})
        fixed = {"$select": "ID,StandardSalesPrice"}
        prices: dict[str, Decimal | None] = {}
        clauses = [f"ID eq {odata_guid(i)}" for i in ids]
        for chunk in await self._or_chunks("logistics/Items", fixed, clauses, per_chunk=PAGE_SIZE):
            async for page in self._pages("logistics/Items", {**fixed, "$filter": chunk}):
                for row in page:
                    item = self._valid(Item, row, "logistics/Items")
                    prices[item.id.lower()] = item.standard_sales_price
        return prices

    async def create_item(self, payload: Payload) -> Item:
        """`POST logistics/Items`: `Code` (unique) and `Description` (at most 60 characters) are mandatory."""
        return await self._create("logistics/Items", Item, body_of(payload))

    async def update_item(self, item_id: str, payload: Payload) -> None:
        await self._update("logistics/Items", item_id, body_of(payload))

    def sync_items(self, timestamp: int) -> AsyncIterator[SyncPage[Item]]:
        """Items changed after `timestamp` (`sync/Logistics/Items`); start at 1 for everything."""
        return self._sync("sync/Logistics/Items", Item, timestamp)

    # -- stock ---------------------------------------------------------------------------------------------------

    async def item_warehouses(self, item_id: str) -> list[ItemWarehouse]:
        """The item's stock per warehouse from `inventory/ItemWarehouses` (CurrentStock, PlannedStockIn/Out,
        ReservedStock; only warehouses that ever had a movement have a row)."""
        return await self._list("inventory/ItemWarehouses", ItemWarehouse, filter=f"Item eq {odata_guid(item_id)}")

    async def find_item_warehouse(self, item_warehouse_id: str) -> ItemWarehouse | None:
        """One stock row by ID (what a `StockPositions` event's Key may name), or None; never a 404 (see `_find`)."""
        return await self._find("inventory/ItemWarehouses", ItemWarehouse, "ID", item_warehouse_id)

    def sync_stock_positions(self, timestamp: int) -> AsyncIterator[SyncPage[StockPosition]]:
        """Stock per item and warehouse changed after `timestamp` (`sync/Inventory/StockPositions`: CurrentStock,
        PlanningIn, PlanningOut, ReservedStock, FreeStock; 1,000 a page). `sync/Inventory/ItemWarehouses` carries no
        quantities, so this is the incremental read of stock."""
        return self._sync("sync/Inventory/StockPositions", StockPosition, timestamp)

    async def stock_position(self, item_id: str) -> StockPosition:
        """`read/logistics/StockPosition?itemId=guid'…'`: the item over all warehouses (`d` is an array)."""
        body = await self._get("read/logistics/StockPosition", {"itemId": odata_guid(item_id)})
        row = unwrap_one(body)
        if row is None:
            raise NotFound(
                f"no stock position for item {item_id}", system=SYSTEM, endpoint="read/logistics/StockPosition"
            )
        return self._valid(StockPosition, row, "read/logistics/StockPosition")

    # -- sales orders --------------------------------------------------------------------------------------------

    async def get_sales_order(self, order_id: str, *, lines: bool = True) -> SalesOrder:
        params = {"$expand": "SalesOrderLines"} if lines else None
        return await self._by_key("salesorder/SalesOrders", order_id, SalesOrder, params)

    async def find_sales_order_by_yourref(self, ref: str, *, ordered_by: str | None = None) -> SalesOrder | None:
        """The order whose `YourRef` is `ref` (optionally of one customer); Exact does not keep YourRef unique, so
        this is the idempotency check before a create (§10). Lines are not included."""
        clause = f"YourRef eq {odata_string(ref)}"
        if ordered_by is not None:
            clause += f" and OrderedBy eq {odata_guid(ordered_by)}"
        return await self._first("salesorder/SalesOrders", SalesOrder, clause, "yourref")

    async def find_sales_order_by_description(self, text: str) -> SalesOrder | None:
        """The first order whose `Description` is `text` (the orders flow's reference key; lines not included)."""
        return await self._first("salesorder/SalesOrders", SalesOrder, f"Description eq {odata_string(text)}", "key")

    async def create_sales_order(self, payload: Payload) -> SalesOrder:
        """`POST salesorder/SalesOrders` with `OrderedBy` and `SalesOrderLines` (each `Item`, `Quantity`) in ONE
        request. The answer is the stored header (numbers, prices and totals computed by Exact)."""
        return await self._create(
            "salesorder/SalesOrders", SalesOrder, _with_lines(body_of(payload), "SalesOrderLines")
        )

    async def update_sales_order(self, order_id: str, payload: Payload) -> None:
        """PUT the header's changed properties (lines change through `SalesOrderLines`; a complete order refuses)."""
        await self._update("salesorder/SalesOrders", order_id, body_of(payload))

    def sync_sales_orders(self, timestamp: int) -> AsyncIterator[SyncPage[SalesOrder]]:
        """Order headers changed after `timestamp` (`sync/SalesOrder/SalesOrderHeaders`; no lines)."""
        return self._sync("sync/SalesOrder/SalesOrderHeaders", SalesOrder, timestamp)

    # -- invoices and entries ------------------------------------------------------------------------------------

    async def create_sales_invoice(self, payload: Payload) -> SalesInvoice:
        """`POST salesinvoice/SalesInvoices` with `Journal`, `OrderedBy` and `SalesInvoiceLines`. `Type` 8020 is a
        sales invoice (the default); 8023 is a direct sales invoice, which moves stock and needs `Warehouse`."""
        body = _with_lines(body_of(payload), "SalesInvoiceLines")
        if body.get("Type") in DIRECT_INVOICE_TYPES and not body.get("Warehouse"):
            raise Rejected(
                "Mandatory field is missing: Warehouse (a direct invoice moves stock)",
                system=SYSTEM,
                endpoint="salesinvoice/SalesInvoices",
            )
        return await self._create("salesinvoice/SalesInvoices", SalesInvoice, body)

    async def find_sales_invoice_by_yourref(self, ref: str) -> SalesInvoice | None:
        filter = f"YourRef eq {odata_string(ref)}"
        return await self._first("salesinvoice/SalesInvoices", SalesInvoice, filter, "yourref")

    async def find_sales_invoice_by_description(self, text: str) -> SalesInvoice | None:
        filter = f"Description eq {odata_string(text)}"
        return await self._first("salesinvoice/SalesInvoices", SalesInvoice, filter, "key")

    async def get_sales_invoice(self, invoice_id: str) -> SalesInvoice:
        """One invoice with its lines."""
        params = {"$expand": "SalesInvoiceLines"}
        return await self._by_key("salesinvoice/SalesInvoices", invoice_id, SalesInvoice, params)

    async def create_sales_entry(self, payload: Payload) -> SalesEntry:
        """`POST salesentry/SalesEntries`: a financial booking with `Customer`, `Journal` and `SalesEntryLines`
        (`GLAccount`, `AmountFC`); no items, no stock."""
        return await self._create(
            "salesentry/SalesEntries", SalesEntry, _with_lines(body_of(payload), "SalesEntryLines")
        )

    async def find_sales_entry_by_yourref(self, ref: str) -> SalesEntry | None:
        return await self._first("salesentry/SalesEntries", SalesEntry, f"YourRef eq {odata_string(ref)}", "yourref")

    async def find_sales_entry_by_description(self, text: str) -> SalesEntry | None:
        filter = f"Description eq {odata_string(text)}"
        return await self._first("salesentry/SalesEntries", SalesEntry, filter, "key")

    async def create_general_journal_entry(self, payload: Payload) -> GeneralJournalEntry:
        """`POST generaljournalentry/GeneralJournalEntries` with `JournalCode` and `GeneralJournalEntryLines`."""
        body = _with_lines(body_of(payload), "GeneralJournalEntryLines")
        return await self._create("generaljournalentry/GeneralJournalEntries", GeneralJournalEntry, body)

    # -- goods deliveries ----------------------------------------------------------------------------------------

    async def get_goods_delivery(self, entry_id: str) -> GoodsDelivery:
        """One delivery with its lines (`$select` is mandatory here, on the lines too)."""
        params = {"$expand": "GoodsDeliveryLines", "$select": select_of(GoodsDelivery, lines=GoodsDeliveryLine)}
        return await self._by_key("salesorder/GoodsDeliveries", entry_id, GoodsDelivery, params)

    async def find_goods_delivery(self, entry_id: str) -> GoodsDelivery | None:
        """One delivery with its lines, or None; never a 404 (see `_find`)."""
        return await self._find(
            "salesorder/GoodsDeliveries", GoodsDelivery, "EntryID", entry_id, lines=GoodsDeliveryLine
        )

    def sync_goods_deliveries(self, timestamp: int) -> AsyncIterator[SyncPage[GoodsDelivery]]:
        """Delivery headers changed after `timestamp` (`sync/SalesOrder/GoodsDeliveries`; no lines)."""
        return self._sync("sync/SalesOrder/GoodsDeliveries", GoodsDelivery, timestamp)

    async def goods_deliveries_of_order(self, order_id: str, *, order_number: int | None = None) -> list[GoodsDelivery]:
        """Every delivery of a sales order, with lines, oldest first.

        A delivery header has no order field; its lines carry `SalesOrderNumber` (the line's `SalesOrderLineID`
        points at the order line). So: the order's number (one call, skipped when `order_number` is given), the
        delivery lines of that number (`$select=EntryID`), then the deliveries by `EntryID` with their lines
        expanded. A delivery can combine several orders of one customer: its lines then include other orders'
        lines (`sales_order_number` tells them apart).
        """
        if order_number is None:
            order = await self._by_key(
                "salesorder/SalesOrders", order_id, SalesOrder, {"$select": "OrderID,OrderNumber"}
            )
            order_number = order.order_number
            if order_number is None:
                return []
        params = {"$select": "EntryID", "$filter": f"SalesOrderNumber eq {int(order_number)}"}
        entries = sorted(
            {str(row["EntryID"]) async for page in self._pages("salesorder/GoodsDeliveryLines", params) for row in page}
        )
        if not entries:
            return []
        select = select_of(GoodsDelivery, lines=GoodsDeliveryLine)
        fixed = {"$select": select, "$expand": "GoodsDeliveryLines"}
        deliveries: list[GoodsDelivery] = []
        clauses = [f"EntryID eq {odata_guid(e)}" for e in entries]
        for chunk in await self._or_chunks("salesorder/GoodsDeliveries", fixed, clauses):
            async for page in self._pages("salesorder/GoodsDeliveries", {**fixed, "$filter": chunk}):
                deliveries += [self._valid(GoodsDelivery, row, "salesorder/GoodsDeliveries") for row in page]
        return sorted(deliveries, key=lambda d: (d.delivery_number or 0, d.entry_id or ""))

    # -- reference data (one call each unless a table outgrows a page) -------------------------------------------

    async def vat_codes(self) -> list[VATCode]:
        return await self._list("vat/VATCodes", VATCode)

    async def payment_conditions(self) -> list[PaymentCondition]:
        return await self._list("cashflow/PaymentConditions", PaymentCondition)

    async def shipping_methods(self) -> list[ShippingMethod]:
        return await self._list("sales/ShippingMethods", ShippingMethod)

    async def cost_centers(self) -> list[Costcenter]:
        return await self._list("hrm/Costcenters", Costcenter)

    async def cost_units(self) -> list[Costunit]:
        return await self._list("hrm/Costunits", Costunit)

    async def gl_accounts(self) -> list[GLAccount]:
        """The chart of accounts through `sync/Financial/GLAccounts` (1,000 a page). The regular endpoint has a sync
        counterpart, so it demands a "mandatory filter" whose field the reference does not name (§4.3); the sync
        endpoint needs only `Timestamp gt 1`."""
        return [row async for page in self._sync("sync/Financial/GLAccounts", GLAccount, 1) for row in page.rows]

    async def item_groups(self) -> list[ItemGroup]:
        return await self._list("logistics/ItemGroups", ItemGroup)

    async def units(self) -> list[Unit]:
        return await self._list("logistics/Units", Unit)

    async def warehouses(self) -> list[Warehouse]:
        return await self._list("inventory/Warehouses", Warehouse)

    async def journals(self) -> list[Journal]:
        return await self._list("financial/Journals", Journal)

    # -- webhooks ------------------------------------------------------------------------------------------------

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """This app's subscriptions in the division (an app cannot see other apps' subscriptions)."""
        return await self._list("webhooks/WebhookSubscriptions", WebhookSubscription)

    async def subscribe(self, topic: str, callback_url: str, *, description: str | None = None) -> WebhookSubscription:
        """`POST webhooks/WebhookSubscriptions`. Exact first POSTs an empty body to `callback_url` and fails the
        subscription unless that answers 2xx (HTTPS, on the redirect URI's domain).

        Idempotent: a topic that is already subscribed makes Exact answer 500 "Data already exists" (§8.1 (?));
        the existing subscription is returned instead (the one with this callback URL if there is one).
        """
        body: dict[str, Any] = {"CallbackURL": callback_url, "Topic": topic}
        if description is not None:
            body["Description"] = description
        try:
            return await self._create("webhooks/WebhookSubscriptions", WebhookSubscription, body)
        except TransientError as exc:
            if exc.status != 500 or "already exists" not in exc.message.lower():
                raise
            existing = [s for s in await self.webhook_subscriptions() if (s.topic or "").lower() == topic.lower()]
            if not existing:
                raise Rejected(
                    f"Exact says a {topic} subscription exists, but this app cannot see it (another app or user?)",
                    system=SYSTEM,
                    status=500,
                    endpoint="webhooks/WebhookSubscriptions",
                ) from exc
            same = [s for s in existing if s.callback_url == callback_url]
            if not same:
                log.warning("exact.webhook_exists_elsewhere", topic=topic, callback_url=existing[0].callback_url)
            return (same or existing)[0]

    async def unsubscribe(self, subscription_id: str) -> None:
        """Delete a subscription; one that is already gone counts as deleted."""
        try:
            await self._delete("webhooks/WebhookSubscriptions", subscription_id)
        except NotFound:
            log.info("exact.webhook_already_gone", subscription_id=subscription_id)

    # -- deletions -----------------------------------------------------------------------------------------------

    def sync_deleted(self, timestamp: int) -> AsyncIterator[SyncPage[Deleted]]:
        """Deletions after `timestamp` (`sync/Deleted`; kept two months, so a longer pause needs a full resync)."""
        return self._sync("sync/Deleted", Deleted, timestamp)
