"""Models against the vendor reference (`exact-entities.json`: picqer's entity list, regular and sync endpoints
apart) and against real simulator answers. The wire contract test (tests/contract/) checks what is actually sent;
this one points at the model when it fails."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors import exact
from connectors.exact import (
    Account,
    Contact,
    Costcenter,
    Costunit,
    Deleted,
    Division,
    ExactClient,
    ExactModel,
    GeneralJournalEntry,
    GeneralJournalEntryLine,
    GLAccount,
    GoodsDelivery,
    GoodsDeliveryLine,
    Item,
    ItemGroup,
    ItemWarehouse,
    Journal,
    Me,
    PaymentCondition,
    SalesEntry,
    SalesEntryLine,
    SalesInvoice,
    SalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
    ShippingMethod,
    StockPosition,
    Unit,
    VATCode,
    Warehouse,
    WebhookSubscription,
)
from connectors.exact.base import select_of
from sandbox.exact.reference import reference
from sandbox.exact.wire import dumps

from .conftest import START, Harness

MODELS = [m for _, m in inspect.getmembers(exact, inspect.isclass) if issubclass(m, ExactModel) and m.__entity__]

# Every (model, endpoint, sync) the client reads: the model's `$select` there must name only the endpoint's fields.
USES: list[tuple[type[ExactModel], str, bool]] = [
    (Me, "current/Me", False),
    (Account, "crm/Accounts", False),
    (Account, "sync/CRM/Accounts", True),
    (Contact, "crm/Contacts", False),
    (Item, "logistics/Items", False),
    (Item, "sync/Logistics/Items", True),
    (ItemGroup, "logistics/ItemGroups", False),
    (Unit, "logistics/Units", False),
    (Warehouse, "inventory/Warehouses", False),
    (ItemWarehouse, "inventory/ItemWarehouses", False),
    (StockPosition, "sync/Inventory/StockPositions", True),
    (SalesOrder, "salesorder/SalesOrders", False),
    (SalesOrder, "sync/SalesOrder/SalesOrderHeaders", True),
    (SalesOrderLine, "salesorder/SalesOrderLines", False),
    (SalesInvoice, "salesinvoice/SalesInvoices", False),
    (SalesInvoiceLine, "salesinvoice/SalesInvoiceLines", False),
    (SalesEntry, "salesentry/SalesEntries", False),
    (SalesEntryLine, "salesentry/SalesEntryLines", False),
    (GeneralJournalEntry, "generaljournalentry/GeneralJournalEntries", False),
    (GeneralJournalEntryLine, "generaljournalentry/GeneralJournalEntryLines", False),
    (GoodsDelivery, "salesorder/GoodsDeliveries", False),
    (GoodsDelivery, "sync/SalesOrder/GoodsDeliveries", True),
    (GoodsDeliveryLine, "salesorder/GoodsDeliveryLines", False),
    (VATCode, "vat/VATCodes", False),
    (PaymentCondition, "cashflow/PaymentConditions", False),
    (ShippingMethod, "sales/ShippingMethods", False),
    (Costcenter, "hrm/Costcenters", False),
    (Costunit, "hrm/Costunits", False),
    (GLAccount, "sync/Financial/GLAccounts", True),
    (Journal, "financial/Journals", False),
    (WebhookSubscription, "webhooks/WebhookSubscriptions", False),
    (Deleted, "sync/Deleted", True),
]


def test_every_entity_of_the_brief_has_a_model() -> None:
    names = {m.__name__ for m in MODELS}
    assert {
        "Me", "Division", "Account", "Contact", "Item", "ItemGroup", "Unit", "Warehouse", "ItemWarehouse",
        "StockPosition", "SalesOrder", "SalesOrderLine", "SalesInvoice", "SalesInvoiceLine", "SalesEntry",
        "SalesEntryLine", "GeneralJournalEntry", "GeneralJournalEntryLine", "GoodsDelivery", "GoodsDeliveryLine",
        "VATCode", "PaymentCondition", "ShippingMethod", "Costcenter", "Costunit", "GLAccount", "Journal",
        "WebhookSubscription", "Deleted",
    } <= names  # fmt: skip


@pytest.mark.parametrize(("model", "url", "sync"), USES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_the_select_names_only_fields_the_endpoint_has(model: type[ExactModel], url: str, sync: bool) -> None:
    fields = reference().fields(url)
    selected = set(select_of(model, sync=sync).split(","))
    assert selected <= set(fields), f"{model.__name__} on {url}: {sorted(selected - set(fields))}"
    if model.__lines__ and not sync:
        assert fields[model.__lines__].endswith("[]")


def test_every_model_is_used_somewhere() -> None:
    assert {m for m, _, _ in USES} | {Division} == set(MODELS)


def test_division_parses_the_reference_shape() -> None:
    # system/Divisions is not simulated: the row is written by the simulator's serialiser in the reference's shape.
    move = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    raw = dumps({"Code": 1234567, "Description": "Demo", "Current": True, "CustomerCode": "            42",
                 "Status": 1, "DivisionMoveDate": move, "Hid": 7})  # fmt: skip
    division = Division.model_validate_json(raw)
    assert division.code == 1234567 and division.customer_code == "42"
    assert division.division_move_date == move
    assert division.model_extra == {"Hid": 7}


async def test_simulator_answers_parse_with_aware_utc_dates_and_exact_decimals(
    exact: ExactClient, harness: Harness
) -> None:
    me = await exact.me()
    assert me.current_division == 1234567 and me.server_time == START
    item = await exact.find_item_by_code("SKU-0001")
    assert isinstance(item, Item)
    assert item.standard_sales_price == Decimal("24.95") and isinstance(item.standard_sales_price, Decimal)
    assert item.cost_price_standard == Decimal("11.23")
    # The simulator writes Amsterdam wall-clock time (12:00 on 4 May) into /Date(); it reads back as 10:00Z.
    assert item.created == START and item.created.tzinfo is UTC
    assert item.model_extra is not None and "__metadata" in item.model_extra

    account = await exact.find_account_by_email("sanne@koffiebardeboon.nl")
    assert isinstance(account, Account)
    assert account.code == "1" and account.status == "C" and account.is_sales is True

    order = await exact.find_sales_order_by_yourref("DEMO-1001")
    assert order is not None
    full = await exact.get_sales_order(order.order_id or "")
    assert full.sales_order_lines and all(isinstance(line.amount_fc, Decimal) for line in full.sales_order_lines)
    assert full.amount_fc == sum((line.amount_fc or 0) + (line.vat_amount or 0) for line in full.sales_order_lines)
    assert order.sales_order_lines is None  # deferred when not expanded

    position = await exact.stock_position(item.id)
    assert position.in_stock is not None and position.planning_out is not None
    assert position.available == position.in_stock - position.planning_out

    for rows in (
        await exact.vat_codes(), await exact.payment_conditions(), await exact.shipping_methods(),
        await exact.cost_centers(), await exact.cost_units(), await exact.gl_accounts(), await exact.item_groups(),
        await exact.warehouses(), await exact.journals(),
    ):  # fmt: skip
        assert rows and all(r.created == START for r in rows)
    assert {u.code for u in await exact.units()} >= {"pc"}  # units have no audit fields in the reference
    vat = {v.code: v for v in await exact.vat_codes()}
    assert vat["2"].percentage == Decimal("0.21")


async def test_journal_entry_model_round_trips_through_the_simulator(exact: ExactClient) -> None:
    gl = {g.code: g.id for g in await exact.gl_accounts()}
    entry = await exact.create_general_journal_entry(
        GeneralJournalEntry(
            journal_code="90",
            general_journal_entry_lines=[
                {"GLAccount": gl["8000"], "AmountFC": Decimal("-100.10"), "Description": "Revenue"},
                {"GLAccount": gl["1300"], "AmountFC": Decimal("100.10"), "Description": "Debtor"},
            ],
        )
    )
    assert entry.entry_id and entry.journal_code == "90" and entry.status == 20
    assert entry.type == 90 and entry.financial_year == 2026


async def test_sync_rows_parse_timestamps_and_key_ids(exact: ExactClient) -> None:
    page = await anext(exact.sync_sales_orders(1))
    assert page.rows and all(isinstance(o, SalesOrder) and o.timestamp and o.id == o.order_id for o in page.rows)
    assert page.timestamp == max(o.timestamp or 0 for o in page.rows)
    stock = await anext(exact.sync_stock_positions(1))
    assert stock.rows and all(s.item_id and s.warehouse and isinstance(s.current_stock, Decimal) for s in stock.rows)
    assert all(s.available == (s.current_stock or 0) - (s.planning_out or 0) for s in stock.rows)
