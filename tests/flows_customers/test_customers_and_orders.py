"""`customers_to_exact` and the orders flow on one new customer at once: they create one Exact account between them.

A new web-shop customer and their first order are polled on the same tick, so both flows find no account and
create one. The sim's Exact answers the first account POST late (as the live one often does), which is when the
two finds and the two creates overlap: without a shared lock the second POST is refused ("Code already exists") or,
when no Code is sent, makes a second account.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.engine import enqueue_record
from flows.base import Outcome
from flows.customers import CUSTOMERS_TO_EXACT
from flows.exact_accounts import CUSTOMER_KIND
from flows.orders import ORDERS
from tests.harness import World, drain

NO_CODE = {"customers_eaccounting_to_exact": {"fields": {"Code": None}}}


def _accounts(world: World, email: str) -> list[dict[str, Any]]:
    return [a for a in world.exact_sim.division().store("Accounts").records.values() if a.get("Email") == email]


def _contacts_of(world: World, account_id: str) -> list[dict[str, Any]]:
    return [c for c in world.exact_sim.division().store("Contacts").records.values() if c["Account"] == account_id]


@pytest.mark.parametrize("overrides", [{}, NO_CODE], ids=["code_sent", "no_code"])
async def test_new_customer_and_its_first_order_at_once_make_one_account(
    world: World, overrides: dict[str, Any]
) -> None:
    customer = world.ea_sim.by_unique("customers", "1009")
    assert customer is not None
    # Both flows ran before, so their caches are warm (the orders flow's accounts index, items, payment conditions).
    await world.run(ORDERS, world.ea_sim.create_order("1010", [("SKU-0001", 1)])["Id"], mapping_overrides=overrides)
    other = world.ea_sim.by_unique("customers", "1011")
    assert other is not None
    await world.run(CUSTOMERS_TO_EXACT, other["Id"], mapping_overrides=overrides)
    order = world.ea_sim.create_order("1009", [("SKU-0001", 2)])
    world.exact_sim.add_fault(path="crm/Accounts", method="POST", delay=0.3)
    world.reset_counters()

    results = await asyncio.gather(
        world.run(CUSTOMERS_TO_EXACT, customer["Id"], mapping_overrides=overrides),
        world.run(ORDERS, order["Id"], mapping_overrides=overrides),
        return_exceptions=True,
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    to_exact, transferred = results
    assert isinstance(to_exact, Outcome) and isinstance(transferred, Outcome)
    [account] = _accounts(world, "inkoop@demolen.nl")
    assert len(_contacts_of(world, account["ID"])) == 1
    assert to_exact.target_id == account["ID"]
    assert transferred.action == "created"
    assert transferred.target_payload["OrderedBy"] == account["ID"]
    assert await world.engine.xref.target(CUSTOMER_KIND, customer["Id"]) == account["ID"]
    assert not await world.engine.xref.pending(CUSTOMER_KIND, customer["Id"])
    # no refused POST: each error counts against Exact's 10 an hour per endpoint
    assert world.exact_sim.counters()["by_endpoint"].get("POST crm/Accounts") == 1
    assert not [s for s in world.exact_sim.counters()["by_status"] if s.startswith("4")]


async def test_through_the_engine_on_two_workers_neither_job_fails(world: World) -> None:
    """The same race as two arq jobs on two workers, engine and all: nothing is dead-lettered."""
    customer = world.ea_sim.by_unique("customers", "1009")
    assert customer is not None
    await world.configure(CUSTOMERS_TO_EXACT, enabled=True)
    await world.run(ORDERS, world.ea_sim.create_order("1010", [("SKU-0001", 1)])["Id"])
    order = world.ea_sim.create_order("1009", [("SKU-0001", 2)])
    world.exact_sim.add_fault(path="crm/Accounts", method="POST", delay=0.3)
    for flow, record_id in ((CUSTOMERS_TO_EXACT.name, customer["Id"]), (ORDERS.name, order["Id"])):
        assert await enqueue_record(world.redis, world.settings, flow, record_id, "poll")
    await drain(world, workers=2)
    assert len(_accounts(world, "inkoop@demolen.nl")) == 1
    assert await world.engine.dead_letters.list(CUSTOMERS_TO_EXACT.name) == []
    assert await world.engine.dead_letters.list(ORDERS.name) == []
