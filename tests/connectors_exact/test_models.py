"""Models against the simulator's entity table (built to the reference) and against real simulator answers."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors import exact
from connectors.exact import (
    Account,
    Deleted,
    Division,
    ExactClient,
    ExactModel,
    GeneralJournalEntry,
    Item,
    Me,
    SalesOrder,
    StockPosition,
)
from sandbox.exact.api import _DELETED_KINDS, _me, _view_kinds
from sandbox.exact.entities import ENTITIES, SYNC_VIEWS
from sandbox.exact.wire import dumps

from .conftest import START, Harness

MODELS = [m for _, m in inspect.getmembers(exact, inspect.isclass) if issubclass(m, ExactModel) and m.__entity__]
BY_PATH = {spec.path: spec for spec in ENTITIES.values()}


def _known_properties(model: type[ExactModel]) -> set[str]:
    """What the simulator (and the reference) has on the endpoint the model describes."""
    if model is Me:
        return set(_me_row())
    if model is Deleted:
        return set(_DELETED_KINDS) - {"__type__"}
    if model is StockPosition:
        return (set(_view_kinds(SYNC_VIEWS["sync/inventory/stockpositions"])) - {"__type__"}) | {"InStock"}
    spec = BY_PATH[model.__entity__]
    names = set(spec.kinds) | ({spec.lines.nav} if spec.lines else set())
    if spec.has_sync:
        names |= {"Timestamp", "ID"}
    return names


def _me_row() -> dict[str, object]:
    from sandbox.exact import ExactSim

    return {k: v for k, v in _me(ExactSim()).items() if k != "__metadata"}


def test_every_entity_of_the_brief_has_a_model() -> None:
    names = {m.__name__ for m in MODELS}
    assert {
        "Me", "Division", "Account", "Contact", "Item", "ItemGroup", "Unit", "Warehouse", "ItemWarehouse",
        "StockPosition", "SalesOrder", "SalesOrderLine", "SalesInvoice", "SalesInvoiceLine", "SalesEntry",
        "SalesEntryLine", "GeneralJournalEntry", "GeneralJournalEntryLine", "GoodsDelivery", "GoodsDeliveryLine",
        "VATCode", "PaymentCondition", "ShippingMethod", "Costcenter", "Costunit", "GLAccount", "Journal",
        "WebhookSubscription", "Deleted",
    } <= names  # fmt: skip


@pytest.mark.parametrize("model", [m for m in MODELS if m is not Division], ids=lambda m: m.__name__)
def test_aliases_are_properties_the_endpoint_has(model: type[ExactModel]) -> None:
    aliases = {info.alias or "" for info in model.model_fields.values()}
    assert "" not in aliases
    unknown = aliases - _known_properties(model)
    assert not unknown, f"{model.__name__} names properties the endpoint does not have: {sorted(unknown)}"
    if model.__entity__ in BY_PATH:  # complete, too: every property of the entity is modelled
        missing = set(BY_PATH[model.__entity__].kinds) - aliases
        assert not missing, f"{model.__name__} misses {sorted(missing)}"


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
        await exact.units(), await exact.warehouses(), await exact.journals(),
    ):  # fmt: skip
        assert rows and all(r.created == START for r in rows)
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
