"""The stock flow against what the vendors' descriptions allow: eAccounting's stock module making StockBalance
read-only, a StockPositions Key naming either the item-warehouse row or the item, and (issue 13) the headline setup,
where eAccounting's own orders reach Exact and their shipments lower eAccounting's StockBalance too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import ArqRedis
from structlog.testing import capture_logs

from app.settings import Settings
from flows.shipments import ORDER_KIND, SHIPMENTS
from flows.stock import STOCK
from flows.stock_target import STOCK_MODULE_REASON
from sandbox.exact import ExactSimConfig
from tests.harness import START, World, drain, make_world, poll_and_handle, webhook_bridge


def _balance(world: World, number: str) -> Decimal:
    article = world.ea_sim.by_unique("articles", number)
    assert article is not None
    return Decimal(str(article["StockBalance"]))


def _on_hand(world: World, code: str) -> Decimal:
    div = world.exact_sim.division()
    rows = world.exact_sim.engine.item_warehouses(div, str(world.exact_sim.item_by_code(code)["ID"]))
    return sum((r["CurrentStock"] for r in rows), Decimal(0))


def _item_id(world: World, code: str) -> str:
    return str(world.exact_sim.item_by_code(code)["ID"]).lower()


async def _reconciled(world: World) -> str | None:
    _, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"))
    world.reset_counters()
    return cursor


# -- eAccounting's stock module -----------------------------------------------------------------------------------


async def test_with_the_stock_module_active_a_write_fails_with_what_to_do_and_an_alert(world: World) -> None:
    code = "SKU-0031"
    before = _balance(world, code)
    world.ea_sim.set_stock_module(True)
    world.exact_sim.set_stock(code, before + 5)
    with capture_logs() as logs:
        assert await world.engine.run_record("stock", _item_id(world, code), "manual") == "failed"
    entries, _ = await world.engine.activity.query(flow="stock", source_id=_item_id(world, code))
    assert entries[0].outcome == "failed" and entries[0].reason == STOCK_MODULE_REASON
    assert "manage_stock: false" in STOCK_MODULE_REASON and "stock module" in STOCK_MODULE_REASON
    assert _balance(world, code) == before  # nothing was written, and nothing claims it was
    assert "PUT /v2/articles/{articleId}" not in world.ea_sim.counters()["calls"]
    alerts = [e for e in logs if e["event"] == "alert" and e["kind"] == "record_failed"]
    assert alerts and STOCK_MODULE_REASON in alerts[0]["alert_message"]
    # An item whose balance is already right needs no write: it is not a failure.
    world.exact_sim.set_stock(code, before)
    assert await world.engine.run_record("stock", _item_id(world, code), "manual") == "unchanged"


async def test_a_write_the_answer_does_not_confirm_is_a_failure_whatever_the_module_is_called(world: World) -> None:
    """The module's name in ActivatedModules is not documented: if eAccounting ignores the balance under a name the
    flow does not recognise, the PUT's answer (which keeps the old balance) still makes the run fail."""
    code = "SKU-0032"
    before = _balance(world, code)
    world.ea_sim.stock_module = True  # active, but not listed under a name with "stock" in it
    world.exact_sim.set_stock(code, before + 3)
    assert await world.engine.run_record("stock", _item_id(world, code), "manual") == "failed"
    entries, _ = await world.engine.activity.query(flow="stock", source_id=_item_id(world, code))
    assert entries[0].reason == STOCK_MODULE_REASON
    assert _balance(world, code) == before
    assert world.ea_sim.counters()["calls"].get("PUT /v2/articles/{articleId}") == 1  # sent once, not repeated


# -- what a StockPositions Key names ---------------------------------------------------------------------------


@pytest.fixture
async def keyed_world(settings: Settings, redis: ArqRedis, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    config = ExactSimConfig(
        start_time=START, minutely_limit=100_000, daily_limit=1_000_000, stock_positions_key=request.param
    )
    async with make_world(settings, redis, exact_config=config) as built:
        yield built


@pytest.mark.parametrize("keyed_world", ["item_warehouse", "item"], indirect=True)
async def test_a_stock_positions_event_is_handled_whether_its_key_names_the_row_or_the_item(keyed_world: World) -> None:
    """No source says which entity a StockPositions Key names (docs/exact-online-api.md §8.2): the simulator sends
    either, and the flow resolves both to the item, with no 404 on Exact's error budget."""
    world = keyed_world
    code = "SKU-0033"
    async with webhook_bridge(world, {"stock": STOCK}) as bridge:
        await bridge.subscribe(world, "StockPositions")
        world.exact_sim.set_stock(code, 21)
        assert await bridge.flush(world) == 1
        await drain(world)
    assert _balance(world, code) == 21
    assert "404" not in world.exact_sim.counters()["by_status"]
    entries, _ = await world.engine.activity.query(flow="stock")
    assert [e.outcome for e in entries] == ["updated"]


# -- issue 13: stock in the headline setup does not drift --------------------------------------------------------


async def _transfer(world: World, customer: str, rows: list[tuple[str, int]]) -> tuple[dict[str, Any], int]:
    """An eAccounting order and its Exact sales order, as the orders flow transfers it (YourRef = the eAccounting
    order number, linked for the shipments flow)."""
    ea_order = world.ea_sim.create_order(customer, rows)
    account = next(iter(world.exact_sim.division().store("Accounts").records))
    lines = [{"Item": world.exact_sim.item_by_code(code)["ID"], "Quantity": qty} for code, qty in rows]
    order = await world.exact.create_sales_order(
        {"OrderedBy": account, "YourRef": str(ea_order["Number"]), "SalesOrderLines": lines}
    )
    assert order.order_id is not None and order.order_number is not None
    await world.engine.xref.link(ORDER_KIND, ea_order["Id"], order.order_id)
    return ea_order, order.order_number


async def _poll(world: World, cursor: str | None) -> str | None:
    world.ea_sim.advance_clock(1)
    world.exact_sim.clock.advance(1)
    _, stored = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    return stored


def _eaccounting_available(world: World, number: str) -> Decimal:
    """What eAccounting itself shows as available: StockBalance minus its own open orders."""
    article = world.ea_sim.by_unique("articles", number)
    assert article is not None
    reserved = world.ea_sim.tables["orders"]
    held = sum(
        (
            Decimal(str(row["Quantity"]))
            for order in reserved.values()
            if order.get("Status") in (1, 2)
            for row in order.get("Rows") or ()
            if row.get("ArticleId") == article["Id"]
        ),
        Decimal(0),
    )
    return Decimal(str(article["StockBalance"])) - held


async def test_the_headline_story_leaves_eaccounting_with_exacts_stock_at_every_step(world: World) -> None:
    """Orders from eAccounting go to Exact as sales orders, deliveries come back through the shipments flow, stock
    flows from Exact: after the transfer, a partial and a full delivery (in either order against the stock flow's
    runs) and a cancellation, eAccounting's StockBalance is Exact's on-hand stock, and eAccounting's own available
    figure (StockBalance minus its open orders) is Exact's on hand minus what those orders still take."""
    code, other = "SKU-0034", "SKU-0035"
    cursor = await _reconciled(world)
    start = _on_hand(world, code)
    assert _balance(world, code) == start

    ea_order, number = await _transfer(world, "1002", [(code, 3), (other, 1)])
    cursor = await _poll(world, cursor)  # Exact's PlannedStockOut rose; on hand did not
    assert _balance(world, code) == _on_hand(world, code) == start
    assert _eaccounting_available(world, code) == start - 3  # eAccounting subtracts its open order once

    # Partly shipped: Exact's on hand drops by 2; eAccounting's order stays ongoing (no StockBalance change there).
    first = world.exact_sim.deliver_order(number, quantities={code: 2})
    assert (await world.run(SHIPMENTS, first["EntryID"])).action == "updated"
    cursor = await _poll(world, cursor)
    assert _balance(world, code) == _on_hand(world, code) == start - 2

    # Shipped: the stock flow writes Exact's new on hand first, then the shipments flow marks the eAccounting order
    # shipped and eAccounting takes the delivered quantities off StockBalance itself: too low, until the next poll.
    world.exact_sim.deliver_order(number)
    cursor = await _poll(world, cursor)
    assert _balance(world, code) == _on_hand(world, code) == start - 3
    last = world.exact_sim.division().store("GoodsDeliveries").records
    delivery = max(last.values(), key=lambda d: d["DeliveryNumber"])
    assert "all" in ((await world.run(SHIPMENTS, delivery["EntryID"])).reason or "")
    assert world.ea_sim.get("orders", ea_order["Id"])["Status"] == 3
    assert _balance(world, code) == start - 3 - 3  # eAccounting's own subtraction of what was already written
    cursor = await _poll(world, cursor)
    assert _balance(world, code) == _on_hand(world, code) == start - 3
    assert _balance(world, other) == _on_hand(world, other)

    # Cancelled: an order transferred and then deleted in eAccounting (its sales order stays open in Exact until
    # someone cancels it there). On hand does not move: eAccounting keeps Exact's figure, and its available figure
    # no longer counts the order.
    cancelled, _ = await _transfer(world, "1002", [(code, 4)])
    cursor = await _poll(world, cursor)
    assert _eaccounting_available(world, code) == start - 3 - 4
    await world.ea.api.request("DELETE", f"orders/{cancelled['Id']}")
    cursor = await _poll(world, cursor)
    assert _balance(world, code) == _on_hand(world, code) == start - 3
    assert _eaccounting_available(world, code) == start - 3


async def test_with_available_the_headline_setup_counts_eaccountings_orders_twice(world: World) -> None:
    """Why `available` is no longer the default: eAccounting subtracts its own open orders from StockBalance, so a
    StockBalance that already had Exact's planned-out taken off counts the order twice."""
    code = "SKU-0036"
    options = {"calculation": "available"}
    _, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll", options=options))
    start = _on_hand(world, code)
    await _transfer(world, "1002", [(code, 2)])
    world.exact_sim.clock.advance(1)
    await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll", options=options), cursor)
    assert _balance(world, code) == start - 2
    assert _eaccounting_available(world, code) == start - 4  # the order counted twice


async def test_delivered_dates_go_out_with_a_time(world: World) -> None:
    """The shipments flow's write-back sends ShippedDateTime as a date-time (the description's format)."""
    ea_order, number = await _transfer(world, "1002", [("SKU-0037", 1)])
    delivery = world.exact_sim.deliver_order(number)
    await world.run(SHIPMENTS, delivery["EntryID"])
    shipped = world.ea_sim.get("orders", ea_order["Id"])
    assert shipped["Status"] == 3 and shipped["ShippedDateTime"] == f"{date(2026, 3, 2).isoformat()}T00:00:00"


@pytest.mark.parametrize("trigger", ["webhook", "followup", "retry"])
async def test_every_run_of_a_webhook_key_resolves_it_to_the_item(world: World, trigger: str) -> None:
    """A webhook's record id is its Key; the engine's follow-up runs and replays of that record carry the same id,
    so they must resolve it too (they once read the Key as an item and found no stock)."""
    row = world.exact_sim.set_stock("SKU-0038", 17)
    outcome = await world.run(STOCK, str(row["ID"]), trigger=trigger)
    assert outcome.action == "updated" and _balance(world, "SKU-0038") == 17
