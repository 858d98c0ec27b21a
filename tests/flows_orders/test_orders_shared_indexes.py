"""Two worker processes of one link share the orders flow's Exact indexes (items by code, accounts by e-mail): the
second process takes what the first read from Redis instead of calling Exact's sync endpoints again."""

from __future__ import annotations

from collections.abc import Callable

from app.flowconfig import resolve
from app.scope import Process
from flows.orders import ORDERS
from flows.orders_exact import items_by_code
from flows.registry import load_flows
from tests.flows_orders.conftest import World
from tests.harness import exact_calls_by_endpoint


def _syncs(world: World) -> dict[str, int]:
    calls = exact_calls_by_endpoint(world.exact_sim)
    return {route: n for route, n in calls.items() if route.startswith("GET sync/")}


async def test_a_second_process_takes_the_first_ones_sync_of_items_and_accounts(
    world: World, make_order: Callable[..., str]
) -> None:
    first = make_order("1009", [("SKU-0001", 2)])
    assert (await world.run(world.ctx(), first)).action == "created"
    assert _syncs(world) == {"GET sync/Logistics/Items": 1, "GET sync/CRM/Accounts": 1}

    base = world.base
    second = Process(base.settings, base.redis, load_flows(), http=base.http, timing=base.process.timing)
    await second.ready()
    engine = second.engine(second.default_link())
    world.exact_sim.reset_counters()
    order = make_order("1010", [("SKU-0001", 1), ("SKU-0002", 1)])
    ctx = engine.context(ORDERS, resolve(ORDERS, {}), "manual")
    source = await ORDERS.fetch(ctx, order)
    assert source is not None
    assert (await ORDERS.handle(ctx, source)).action == "created"
    assert _syncs(world) == {}  # the second process read neither index from Exact


async def test_a_sku_another_process_has_not_seen_is_still_found(world: World, make_order: Callable[..., str]) -> None:
    assert (await world.run(world.ctx(), make_order("1009", [("SKU-0001", 1)]))).action == "created"
    world.exact_sim.upsert_item("SKU-NEW", {"Description": "Nieuw in Exact", "IsSalesItem": True})
    world.exact_sim.reset_counters()
    base = world.base
    second = Process(base.settings, base.redis, load_flows(), http=base.http, timing=base.process.timing)
    await second.ready()
    ctx = second.engine(second.default_link()).context(ORDERS, resolve(ORDERS, {}), "manual")
    found = await items_by_code(ctx, {"SKU-0001", "SKU-NEW"}, 300.0)
    assert set(found) == {"SKU-0001", "SKU-NEW"}
    assert _syncs(world) == {"GET sync/Logistics/Items": 1}  # shared rows first, then one refresh for the miss
