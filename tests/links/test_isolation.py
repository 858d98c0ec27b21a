"""Two links in one installation: each administration's records go to its own division and company, and a record of
one link can never be read, written, retried or logged under the other (these tests try)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis

from app.jobs import enqueue_record
from app.settings import Settings
from tests.harness import drain
from tests.links.world import DIVISION_NORTH, DIVISION_SOUTH, NORTH, SOUTH, LinksWorld, make_links_world


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[LinksWorld]:
    async with make_links_world(settings, redis) as built:
        yield built


def _refs(world: LinksWorld, division: int) -> list[str]:
    """The eAccounting order numbers of the division's sales orders (the flow's key, in `Description`)."""
    key = "eAccounting order "
    orders = world.exact_records(division, "SalesOrders")
    return sorted(str(o["Description"]).removeprefix(key) for o in orders if str(o.get("Description")).startswith(key))


async def _order(world: LinksWorld, company: str) -> dict[str, Any]:
    return world.ea_sim(company).create_order("1001", [("SKU-0001", 2)], status=2)


async def test_each_links_orders_land_in_its_own_division(world: LinksWorld) -> None:
    north, south = await _order(world, NORTH), await _order(world, SOUTH)
    before = {d: _refs(world, d) for d in (DIVISION_NORTH, DIVISION_SOUTH)}
    for link, order in (("default", north), ("south", south)):
        assert await enqueue_record(
            world.redis, world.settings, "orders", str(order["Id"]).lower(), "manual", link=link
        )
    await drain(world)  # type: ignore[arg-type]
    new = {d: sorted(set(_refs(world, d)) - set(before[d])) for d in (DIVISION_NORTH, DIVISION_SOUTH)}
    # Both companies number their orders alike, so the keys are the same: the division tells them apart.
    assert new == {DIVISION_NORTH: [str(north["Number"])], DIVISION_SOUTH: [str(south["Number"])]}
    default, other = world.engine("default"), world.engine("south")
    assert await default.xref.target("ea:order>exact:salesorder", str(north["Id"]).lower()) is not None
    assert await default.xref.target("ea:order>exact:salesorder", str(south["Id"]).lower()) is None
    assert await other.xref.target("ea:order>exact:salesorder", str(south["Id"]).lower()) is not None
    assert await other.xref.target("ea:order>exact:salesorder", str(north["Id"]).lower()) is None


async def test_logs_dead_letters_configs_and_cursors_are_per_link_in_the_api(world: LinksWorld) -> None:
    order = await _order(world, SOUTH)
    record = str(order["Id"]).lower()
    run = await world.api.post("/links/south/flows/orders/run", json={"record_id": record})
    assert run.status_code == 202 and run.json()["queued"] is True
    await drain(world)  # type: ignore[arg-type]

    south_logs = (await world.api.get("/links/south/logs", params={"source_id": record})).json()["items"]
    assert [e["outcome"] for e in south_logs] == ["created"]
    entry = south_logs[0]["id"]
    # The other link (and the old paths, which are link default) cannot see, read or replay it.
    assert (await world.api.get("/logs", params={"source_id": record})).json()["items"] == []
    assert (await world.api.get(f"/logs/{entry}")).status_code == 404
    assert (await world.api.post(f"/logs/{entry}/retry")).status_code == 404
    assert (await world.api.get(f"/links/south/logs/{entry}")).status_code == 200
    assert (await world.api.post(f"/links/south/logs/{entry}/retry")).status_code == 202

    changed = await world.api.put("/links/south/flows/orders/config", json={"enabled": False})
    assert changed.status_code == 200
    south = {f["name"]: f for f in (await world.api.get("/links/south/flows")).json()}
    north = {f["name"]: f for f in (await world.api.get("/flows")).json()}
    assert south["orders"]["enabled"] is False and north["orders"]["enabled"] is True
    assert (await world.api.get("/links/nowhere/flows")).status_code == 404


async def test_a_record_id_of_one_link_run_under_the_other_touches_nothing_of_the_first(world: LinksWorld) -> None:
    order = await _order(world, SOUTH)
    record = str(order["Id"]).lower()
    before = _refs(world, DIVISION_SOUTH), _refs(world, DIVISION_NORTH)
    # Someone asks link default for the south company's order: default's eAccounting token cannot reach it.
    outcome = await world.engine("default").run_record("orders", record, "manual")
    assert outcome in ("failed", "skipped")
    assert (_refs(world, DIVISION_SOUTH), _refs(world, DIVISION_NORTH)) == before
    assert await world.engine("south").xref.target("ea:order>exact:salesorder", record) is None
    south_log, _ = await world.engine("south").activity.query(source_id=record)
    assert south_log == []


async def test_the_links_dead_letters_and_retries_stay_apart(world: LinksWorld) -> None:
    bad = world.ea_sim(SOUTH).create_order("1001", [("SKU-9999", 1)], status=2)  # no such Exact item
    record = str(bad["Id"]).lower()
    await world.engine("south").run_record("orders", record, "manual")
    assert [d.source_id for d in await world.engine("south").dead_letters.list()] == [record]
    assert await world.engine("default").dead_letters.list() == []
    assert (await world.api.post("/flows/orders/retry-failed")).json() == {"queued": 0}
    assert (await world.api.post("/links/south/flows/orders/retry-failed")).json() == {"queued": 1}
    dead = (await world.api.get("/links/south/dead-letters")).json()["items"]
    assert [d["source_id"] for d in dead] == [record]
    assert (await world.api.get("/dead-letters")).json()["items"] == []
