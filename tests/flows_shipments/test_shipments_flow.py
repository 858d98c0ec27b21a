"""Exact Online goods deliveries -> eAccounting orders, end to end: a sales order in the Exact simulator that came
from an eAccounting order, a delivery made there as a warehouse user would, the flow, the eAccounting simulator.

The sales order is created through the real Exact connector and linked the way the orders flow links it
(`ea:order>exact:salesorder`, YourRef = eAccounting order number), so these tests do not depend on that flow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from app.flowconfig import ConfigInvalid, resolve
from connectors.exact import SalesOrder
from flows.base import ORDER_LOCK, RecordFailed
from flows.registry import load_flows
from flows.shipments import ORDER_KIND, SHIPMENTS
from sandbox.exact.entities import ENTITIES
from tests.harness import World, ea_calls_by_endpoint

FLOW = SHIPMENTS


@dataclass
class Placed:
    ea_id: str
    number: int
    sales_order: SalesOrder

    @property
    def exact_number(self) -> int:
        assert self.sales_order.order_number is not None
        return self.sales_order.order_number


async def _place(
    world: World,
    rows: list[tuple[str, int]],
    *,
    customer: str = "1009",
    link: bool = True,
    your_ref: str | None = None,
    shipping: bool = False,
) -> Placed:
    """An eAccounting order and its Exact sales order, as the orders flow would have transferred it."""
    ea_order = world.ea_sim.create_order(customer, rows, shipping_amount=Decimal("59.00") if shipping else None)
    account = next(iter(world.exact_sim.division().store("Accounts").records))
    lines = [{"Item": world.exact_sim.item_by_code(code)["ID"], "Quantity": qty} for code, qty in rows]
    if shipping:
        item = world.exact_sim.upsert_item("SHIPPING", {"Description": "Shipping", "IsSalesItem": True})
        lines.append({"Item": item["ID"], "Quantity": 1, "UnitPrice": Decimal("6.95")})
    reference = str(ea_order["Number"]) if your_ref is None else your_ref
    sales_order = await world.exact.create_sales_order(
        {"OrderedBy": account, "YourRef": reference, "SalesOrderLines": lines}
    )
    assert sales_order.order_id is not None
    if link:
        await world.engine.xref.link(ORDER_KIND, ea_order["Id"], sales_order.order_id)
    return Placed(ea_order["Id"], int(ea_order["Number"]), sales_order)


def _ea_order(world: World, placed: Placed) -> dict[str, Any]:
    return world.ea_sim.get("orders", placed.ea_id)


def _notes(order: dict[str, Any]) -> list[str]:
    return [str(row["Text"]) for row in order["Rows"] if row.get("IsTextRow")]


def _delivered(order: dict[str, Any]) -> dict[str, Any]:
    return {row["ArticleNumber"]: row.get("DeliveredQuantity") for row in order["Rows"] if not row.get("IsTextRow")}


def test_definition_and_options() -> None:
    assert load_flows()["shipments"] is SHIPMENTS
    assert SHIPMENTS.source == "exact" and SHIPMENTS.target == "eaccounting"
    assert SHIPMENTS.webhook_topics == ("GoodsDeliveries",)
    with pytest.raises(ConfigInvalid, match=r"options\.note_template"):
        resolve(SHIPMENTS, {"options": {"note_template": "Sent {when}"}})
    with pytest.raises(ConfigInvalid, match=r"options\.tracking"):
        resolve(SHIPMENTS, {"options": {"tracking": True}})


async def test_split_delivery_records_each_and_ships_when_all_lines_are_delivered(world: World) -> None:
    placed = await _place(world, [("SKU-0001", 2), ("SKU-0002", 3)])
    first = world.exact_sim.deliver_order(
        placed.exact_number, quantities={"SKU-0001": 2}, tracking_number="3SABC123", shipping_method="PostNL"
    )
    outcome = await world.run(FLOW, first["EntryID"])
    assert outcome.action == "updated"
    assert outcome.target_id == placed.ea_id
    assert outcome.reason == f"1 of 2 lines delivered; eAccounting order {placed.number} stays ongoing"
    order = _ea_order(world, placed)
    assert order["Status"] == 2 and order["ShippedDateTime"] is None
    assert _delivered(order) == {"SKU-0001": Decimal("2"), "SKU-0002": None}
    assert _notes(order) == [
        "Delivery 1 shipped 2026-03-02 via PostNL Pakket, tracking 3SABC123 "
        "https://jouw.postnl.nl/track-and-trace/3SABC123: 2 x SKU-0001"
    ]
    second = world.exact_sim.deliver_order(placed.exact_number, tracking_number="3SDEF456")
    done = await world.run(FLOW, second["EntryID"])
    assert done.reason == f"all 2 lines delivered; eAccounting order {placed.number} marked shipped on 2026-03-02"
    order = _ea_order(world, placed)
    assert order["Status"] == 3
    assert order["ShippedDateTime"].startswith("2026-03-02")
    assert _delivered(order) == {"SKU-0001": Decimal("2"), "SKU-0002": Decimal("3")}
    assert len(_notes(order)) == 2
    assert _notes(order)[1] == "Delivery 2 shipped 2026-03-02, tracking 3SDEF456: 3 x SKU-0002"


async def test_rerun_changes_nothing_and_writes_nothing(world: World) -> None:
    placed = await _place(world, [("SKU-0003", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, tracking_number="JVGL0001")
    assert (await world.run(FLOW, delivery["EntryID"])).action == "updated"
    world.reset_counters()
    again = await world.run(FLOW, delivery["EntryID"])
    assert again.action == "unchanged"
    assert again.reason == "this delivery is already recorded"
    assert world.ea_calls() == 0
    assert world.exact_calls() == 1  # the fetch of the delivery itself
    assert len(_notes(_ea_order(world, placed))) == 1


async def test_tracking_number_added_later_replaces_the_note(world: World) -> None:
    placed = await _place(world, [("SKU-0003", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, shipping_method="DHL")
    await world.run(FLOW, delivery["EntryID"])
    assert "tracking" not in _notes(_ea_order(world, placed))[0]
    division = world.exact_sim.division()
    world.exact_sim.engine.update(
        division, ENTITIES["GoodsDeliveries"], delivery["EntryID"], {"TrackingNumber": "JD01"}
    )
    outcome = await world.run(FLOW, delivery["EntryID"])
    assert outcome.action == "updated"
    [note] = _notes(_ea_order(world, placed))
    assert "via DHL Parcel, tracking JD01 https://www.dhl.com/nl-en/home/tracking.html?tracking-id=JD01" in note


async def test_carrier_from_the_shipping_method_map_and_tracking_in_our_reference(world: World) -> None:
    placed = await _place(world, [("SKU-0004", 2)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, tracking_number="3SXYZ", shipping_method="PostNL")
    options = {"delivery_method_by_shipping_method": {"postnl": "PNP"}, "tracking_to_our_reference": True}
    await world.run(FLOW, delivery["EntryID"], options=options)
    order = _ea_order(world, placed)
    assert order["DeliveryMethodCode"] == "PNP"
    assert order["DeliveryMethodName"] == "PostNL Pakket"
    assert order["OurReference"] == "3SXYZ"


async def test_unknown_shipping_method_is_ignored_or_fails_as_configured(world: World) -> None:
    placed = await _place(world, [("SKU-0004", 2)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, shipping_method="UPS")
    await world.configure(FLOW, options={"unknown_shipping_method": "fail"})
    assert await world.engine.run_record(FLOW.name, delivery["EntryID"], "webhook") == "failed"
    entries, _ = await world.engine.activity.query(flow=FLOW.name, source_id=delivery["EntryID"])
    assert entries[0].reason == (
        "Exact shipping method UPS has no eAccounting delivery method; add it to delivery_method_by_shipping_method"
    )
    assert _ea_order(world, placed)["Status"] == 2 and not _notes(_ea_order(world, placed))
    ignored = await world.run(FLOW, delivery["EntryID"])
    assert ignored.action == "updated"
    assert _ea_order(world, placed)["DeliveryMethodCode"] is None
    assert "via UPS Standard" in _notes(_ea_order(world, placed))[0]


async def test_mapped_delivery_method_that_eaccounting_lacks_fails_naming_the_option(world: World) -> None:
    placed = await _place(world, [("SKU-0004", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, shipping_method="DHL")
    with pytest.raises(RecordFailed, match="delivery_method_by_shipping_method: eAccounting has no delivery method"):
        await world.run(FLOW, delivery["EntryID"], options={"delivery_method_by_shipping_method": {"DHL": "NOPE"}})


async def test_order_found_by_yourref_without_cross_reference(world: World) -> None:
    placed = await _place(world, [("SKU-0005", 1)], link=False)
    delivery = world.exact_sim.deliver_order(placed.exact_number)
    skipped = await world.run(FLOW, delivery["EntryID"], options={"yourref_fallback": False})
    assert skipped.action == "skipped"
    outcome = await world.run(FLOW, delivery["EntryID"])
    assert outcome.action == "updated" and outcome.target_id == placed.ea_id
    assert _ea_order(world, placed)["Status"] == 3


async def test_sales_order_not_from_eaccounting_is_skipped(world: World) -> None:
    demo = next(o for o in world.exact_sim.division().store("SalesOrders").records.values() if o["YourRef"])
    delivery = world.exact_sim.deliver_order(demo["OrderNumber"])
    outcome = await world.run(FLOW, delivery["EntryID"])
    assert outcome.action == "skipped"
    assert outcome.reason == (
        f"sales order {demo['OrderNumber']} did not come from eAccounting (no cross-reference, no eAccounting "
        "order by YourRef)"
    )


async def test_invoiced_order_is_skipped(world: World) -> None:
    placed = await _place(world, [("SKU-0006", 1)])
    world.ea_sim.put("orders", {**_ea_order(world, placed), "Status": 4})
    delivery = world.exact_sim.deliver_order(placed.exact_number)
    outcome = await world.run(FLOW, delivery["EntryID"])
    assert outcome.action == "skipped"
    assert outcome.reason == f"eAccounting order {placed.number} is invoiced and can no longer change"
    assert "PUT /v2/orders/{orderId}" not in ea_calls_by_endpoint(world.ea_sim)
    again = await world.run(FLOW, delivery["EntryID"])
    assert again.action == "skipped" and again.reason == outcome.reason  # not "already recorded"


async def test_filters_start_date_and_mapping_filter(world: World) -> None:
    placed = await _place(world, [("SKU-0007", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number)
    early = await world.run(FLOW, delivery["EntryID"], options={"start_date": "2026-04-01"})
    assert early.action == "skipped"
    assert early.reason == "delivered 2026-03-02, before start date 2026-04-01"
    overrides = {
        "shipments_exact_to_eaccounting": {
            "filters": [{"path": "TrackingNumber", "op": "exists", "reason": "no tracking number yet"}]
        }
    }
    waiting = await world.run(FLOW, delivery["EntryID"], mapping_overrides=overrides)
    assert waiting.action == "skipped" and waiting.reason == "no tracking number yet"
    assert _ea_order(world, placed)["Status"] == 2 and not _notes(_ea_order(world, placed))


async def test_freight_line_does_not_keep_the_order_open(world: World) -> None:
    placed = await _place(world, [("SKU-0008", 2)], shipping=True)
    delivery = world.exact_sim.deliver_order(placed.exact_number, quantities={"SKU-0008": 2})
    outcome = await world.run(FLOW, delivery["EntryID"])
    assert outcome.reason is not None and outcome.reason.startswith("all 1 lines delivered")
    order = _ea_order(world, placed)
    assert order["Status"] == 3
    assert _delivered(order) == {"SKU-0008": Decimal("2"), "SHIPPING": Decimal("1")}
    strict = await _place(world, [("SKU-0008", 1)], shipping=True)
    partial = world.exact_sim.deliver_order(strict.exact_number, quantities={"SKU-0008": 1})
    held = await world.run(FLOW, partial["EntryID"], options={"not_delivered_items": []})
    assert held.reason is not None and held.reason.startswith("1 of 2 lines delivered")


async def test_mark_shipped_on_first_delivery_and_custom_note(world: World) -> None:
    placed = await _place(world, [("SKU-0009", 2), ("SKU-0010", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, quantities={"SKU-0010": 1}, tracking_number="T1")
    options = {"mark_shipped": "on_first_delivery", "note_template": "Sent {date}: {items} ({tracking_number})"}
    outcome = await world.run(FLOW, delivery["EntryID"], options=options)
    assert outcome.reason is not None and outcome.reason.endswith("marked shipped on 2026-03-02")
    order = _ea_order(world, placed)
    assert order["Status"] == 3
    assert _notes(order) == ["Sent 2026-03-02: 1 x SKU-0010 (T1)"]
    assert _delivered(order)["SKU-0010"] == Decimal("1")


async def test_delivery_of_a_deleted_eaccounting_order_fails_clearly(world: World) -> None:
    placed = await _place(world, [("SKU-0011", 1)])
    world.ea_sim.remove("orders", placed.ea_id)
    delivery = world.exact_sim.deliver_order(placed.exact_number)
    with pytest.raises(RecordFailed, match=f"eAccounting order {placed.ea_id} no longer exists"):
        await world.run(FLOW, delivery["EntryID"])


async def test_webhook_through_the_engine_then_unchanged(world: World) -> None:
    placed = await _place(world, [("SKU-0012", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, tracking_number="W1")
    key = str(delivery["EntryID"]).lower()
    assert await world.engine.run_record(FLOW.name, key, "webhook") == "updated"
    assert await world.engine.run_record(FLOW.name, key, "webhook") == "unchanged"
    entries, _ = await world.engine.activity.query(flow=FLOW.name, source_id=key)
    assert [e.outcome for e in entries] == ["unchanged", "updated"]
    assert entries[1].target_payload["Status"] == 3


async def test_poll_lists_changed_deliveries_and_advances_the_cursor(world: World) -> None:
    ctx = world.ctx(FLOW, trigger="poll")
    assert FLOW.poll is not None
    empty = [page async for page in FLOW.poll(ctx, None)]
    assert [i for p in empty for i in p.record_ids] == []  # the demo division has no deliveries
    placed = await _place(world, [("SKU-0013", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number)
    pages = [page async for page in FLOW.poll(ctx, None)]
    assert [i for p in pages for i in p.record_ids] == [str(delivery["EntryID"]).lower()]
    cursor = pages[-1].cursor
    assert cursor is not None
    assert [i for p in [page async for page in FLOW.poll(ctx, cursor)] for i in p.record_ids] == []


async def test_seeded_demo_orders_delivered_are_skipped_not_failed(world: World) -> None:
    """`make run` polls this flow against the seeded division: its orders did not come from eAccounting."""
    assert FLOW.poll is not None
    for order in list(world.exact_sim.division().store("SalesOrders").records.values()):
        world.exact_sim.deliver_order(order["OrderNumber"])
    ctx = world.ctx(FLOW, trigger="poll")
    ids = [i for page in [p async for p in FLOW.poll(ctx, None)] for i in page.record_ids]
    assert len(ids) == 3
    assert [await world.engine.run_record(FLOW.name, i, "poll") for i in ids] == ["skipped"] * 3
    assert await world.engine.dead_letters.list(FLOW.name) == []


async def test_one_delivery_of_two_sales_orders_records_both(world: World) -> None:
    one = await _place(world, [("SKU-0014", 1)])
    two = await _place(world, [("SKU-0015", 2)])
    division = world.exact_sim.division()
    lines = [
        {"SalesOrderLineID": line["ID"], "QuantityDelivered": str(line["Quantity"])}
        for placed in (one, two)
        for line in world.exact_sim.engine.order_lines(division, placed.sales_order.order_id)
    ]
    delivery = world.exact_sim.engine.create(
        division,
        ENTITIES["GoodsDeliveries"],
        {"DeliveryDate": "2026-03-02T12:00:00", "TrackingNumber": "BOTH1", "GoodsDeliveryLines": lines},
    )
    outcome = await world.run(FLOW, delivery["EntryID"])
    assert outcome.action == "updated" and outcome.target_id == one.ea_id
    for placed, code in ((one, "SKU-0014"), (two, "SKU-0015")):
        order = _ea_order(world, placed)
        assert order["Status"] == 3
        [note] = _notes(order)
        assert note.endswith(f"x {code}") and "BOTH1" in note


async def test_webhook_of_a_deleted_delivery_is_skipped_without_a_404(world: World) -> None:
    """Exact allows 10 errors an hour per endpoint, then blocks the app for an hour (the orders flow too)."""
    placed = await _place(world, [("SKU-0016", 1)])
    delivery = world.exact_sim.deliver_order(placed.exact_number)
    key = str(delivery["EntryID"]).lower()
    world.exact_sim.engine.delete(world.exact_sim.division(), ENTITIES["GoodsDeliveries"], delivery["EntryID"])
    world.reset_counters()
    for _ in range(3):
        assert await world.engine.run_record(FLOW.name, key, "webhook") == "skipped"
    by_status: dict[str, int] = world.exact_sim.counters()["by_status"]
    assert not [status for status in by_status if status.startswith("4")], by_status
    assert _ea_order(world, placed)["Status"] == 2 and not _notes(_ea_order(world, placed))


async def test_recording_waits_for_another_read_modify_write_of_the_order(world: World) -> None:
    """The order's read-modify-write holds `xref.lock(ORDER_LOCK, id)`, the lock every writer of a whole
    eAccounting order takes (a PUT replaces the order, rows included): one written meanwhile is not undone."""
    placed = await _place(world, [("SKU-0017", 2)])
    delivery = world.exact_sim.deliver_order(placed.exact_number, tracking_number="L1")
    async with world.engine.xref.lock(ORDER_LOCK, placed.ea_id):
        order = await world.ea.get_order(placed.ea_id)  # another writer's read ...
        recording = asyncio.create_task(world.run(FLOW, delivery["EntryID"]))
        await asyncio.wait({recording}, timeout=1.0)  # (time for a run that does not wait to write)
        await world.ea.update_order(placed.ea_id, {**order.to_payload(), "OurReference": "called the customer"})
    outcome = await recording  # ... and its write, then the delivery is recorded on top of it
    assert outcome.action == "updated"
    written = _ea_order(world, placed)
    assert written["OurReference"] == "called the customer"
    assert written["Status"] == 3 and _delivered(written) == {"SKU-0017": Decimal("2")}
    assert len(_notes(written)) == 1


async def test_two_deliveries_of_one_order_recorded_at_once_keep_each_others_rows(world: World) -> None:
    placed = await _place(world, [("SKU-0018", 1), ("SKU-0019", 1)])
    first = world.exact_sim.deliver_order(placed.exact_number, quantities={"SKU-0018": 1}, tracking_number="A1")
    second = world.exact_sim.deliver_order(placed.exact_number, quantities={"SKU-0019": 1}, tracking_number="B2")
    outcomes = await asyncio.gather(world.run(FLOW, first["EntryID"]), world.run(FLOW, second["EntryID"]))
    assert {o.action for o in outcomes} == {"updated"}
    order = _ea_order(world, placed)
    assert _delivered(order) == {"SKU-0018": Decimal("1"), "SKU-0019": Decimal("1")}
    assert order["Status"] == 3
    assert sorted(note.split(", tracking ")[1][:2] for note in _notes(order)) == ["A1", "B2"]
