"""Orders through the engine and real arq workers while both simulators fail: delays, never a loss or a duplicate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from app.engine import enqueue_record
from sandbox.eaccounting.state import Fault as EAFault
from tests.flows_orders.conftest import World
from tests.harness import drain


def _sales_orders_by_ref(world: World) -> Counter[str]:
    orders = world.exact_sim.division().store("SalesOrders").records.values()
    return Counter(str(order["Description"]).removeprefix("eAccounting order ") for order in orders)


async def test_5xx_and_429_from_both_systems_delay_but_lose_nothing(
    world: World, make_order: Callable[..., str]
) -> None:
    base = world.base
    order_ids = [make_order(customer, [("SKU-0001", 1), ("SKU-0002", 2)]) for customer in ("1001", "1009", "1010")]
    numbers = {str(world.ea_sim.get("orders", o)["Number"]) for o in order_ids}
    # Exact answers the first two order POSTs with 503 (not processed), and another process of ours has spent this
    # minute's budget; eAccounting fails a customer read and an order read with 500.
    world.exact_sim.add_fault(path="salesorder/SalesOrders", method="POST", status=503, times=2)
    world.exact_sim.rate.exhaust(world.exact_sim.config.division)
    world.ea_sim.add_fault(EAFault(status=500, path="/v2/customers/", method="GET", times=1))
    world.ea_sim.add_fault(EAFault(status=500, path="/v2/orders/", method="GET", times=1))

    for order_id in order_ids:
        assert await enqueue_record(base.redis, base.settings, "orders", order_id, "manual")
    await drain(base, workers=2)

    refs = _sales_orders_by_ref(world)
    assert {number: refs[number] for number in numbers} == dict.fromkeys(numbers, 1)  # each once, none lost
    entries, _ = await base.engine.activity.query(flow="orders", limit=100)
    outcomes = Counter(e.outcome for e in entries)
    assert outcomes["created"] == 3
    assert outcomes["retrying"] >= 2  # the two 503s on POST came back as retries, not failures
    assert "failed" not in outcomes
    # Our budget could not know the minute was spent elsewhere: the first calls met 429s, waited for the reset
    # the 429 named, and went through (the requests in flight at that moment each met one).
    assert 1 <= world.exact_sim.counters()["rate_limited"] <= 3
    assert await base.engine.dead_letters.list("orders") == []
