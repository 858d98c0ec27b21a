"""Webhooks routed by their Division to the link(s) of that division; links created, listed, paused and removed
through the admin API (removing a link removes its data)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
from arq.connections import ArqRedis

from app.settings import Settings
from connectors.keys import Keys
from tests.harness import CALLBACK, drain
from tests.links.world import DIVISION_NORTH, DIVISION_SOUTH, SOUTH, LinksWorld, make_links_world


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[LinksWorld]:
    async with make_links_world(settings, redis) as built:
        answers: list[dict[str, object]] = []

        async def deliver(url: str, body: bytes, headers: Mapping[str, str]) -> int:
            assert url == CALLBACK
            response = await built.api.post("/webhooks/exact", content=body, headers=dict(headers))
            if body:
                answers.append(response.json())
            return response.status_code

        built.exact_sim.deliver = deliver
        built.answers = answers  # type: ignore[attr-defined]
        yield built


async def _queued(world: LinksWorld, link: str) -> list[str]:
    mine = Keys.of(world.settings).for_link(link).link_data
    return [m.decode() async for m, _ in world.redis.zscan_iter(world.settings.redis.queue_name, match=mine)]


async def test_an_event_goes_to_the_link_of_its_division_only(world: LinksWorld) -> None:
    for link in ("default", "south"):
        await world.engine(link).exact.subscribe("Items", CALLBACK)
    world.exact_sim.upsert_item("SKU-0003", {"Description": "Renamed in the south"}, division=DIVISION_SOUTH)
    await world.exact_sim.flush_webhooks()
    assert world.answers[-1]["links"] == {"south": ["products"]}  # type: ignore[attr-defined]
    south, north = await _queued(world, "south"), await _queued(world, "default")
    assert len(south) == 1 and north == []
    await drain(world)  # type: ignore[arg-type]
    south_log, _ = await world.engine("south").activity.query(flow="products")
    assert [e.trigger for e in south_log] == ["webhook"]
    assert (await world.engine("default").activity.query(flow="products"))[0] == []


async def test_an_event_of_a_division_no_link_has_is_ignored(world: LinksWorld) -> None:
    await world.engine("default").exact.subscribe("Items", CALLBACK)
    body = await world.api.post("/links/south/pause")
    assert body.status_code == 200 and body.json()["paused"] is True
    await world.engine("south").exact.subscribe("Items", CALLBACK)
    world.exact_sim.upsert_item("SKU-0004", {"Description": "Paused link"}, division=DIVISION_SOUTH)
    world.exact_sim.upsert_item("SKU-0004", {"Description": "North"}, division=DIVISION_NORTH)
    await world.exact_sim.flush_webhooks()
    answers = world.answers  # type: ignore[attr-defined]
    assert {"status": "ignored", "reason": "no link on this division"} in answers
    assert any(a.get("links") == {"default": ["products"]} for a in answers)
    assert await _queued(world, "south") == []


async def test_links_are_created_listed_paused_and_removed_with_their_data(world: LinksWorld) -> None:
    created = await world.api.post("/links", json={"id": "west", "title": "West", "division": DIVISION_SOUTH})
    assert created.status_code == 201
    assert created.json()["eaccounting_connection"] == "west" and created.json()["exact_connection"] == "default"
    assert (await world.api.post("/links", json={"id": "west", "division": 1})).status_code == 409
    assert (await world.api.post("/links", json={"id": "Bad Id!", "division": 1})).status_code == 422
    listed = [link["id"] for link in (await world.api.get("/links")).json()]
    assert listed == ["default", "south", "west"]

    # Connect its company (the consent picks "Koffie Zuid BV"), then give it some data of its own.
    world.ea_host.select(SOUTH)
    authorize = await world.api.get("/links/west/oauth/eaccounting/authorize", follow_redirects=False)
    consent = await world.http.get(authorize.headers["location"])
    location = consent.headers["location"]
    callback = await world.api.get("/oauth/eaccounting/callback" + location[location.index("?") :])
    assert callback.status_code == 200 and callback.json()["company"] == SOUTH
    assert (await world.api.get("/links/west")).json()["company"] == SOUTH
    await world.api.put("/links/west/flows/orders/config", json={"enabled": True, "options": {"statuses": [2]}})
    order = world.ea_sim(SOUTH).create_order("1002", [("SKU-0002", 1)], status=2)
    await world.api.post("/links/west/flows/orders/run", json={"record_id": str(order["Id"])})
    paused = await world.api.post("/links/west/pause")
    assert paused.json()["paused"] is True
    keys = Keys.of(world.settings)
    assert [k async for k in world.redis.scan_iter(match=keys.for_link("west").link_data)]

    removed = await world.api.delete("/links/west")
    assert removed.status_code == 200 and removed.json()["tokens"] == 1 and removed.json()["queued_jobs"] == 1
    assert [k async for k in world.redis.scan_iter(match=keys.for_link("west").link_data)] == []
    assert not await world.redis.exists(keys.token("eaccounting", "west"))
    assert (await world.api.get("/links/west")).status_code == 404
    assert (await world.api.get("/links/west/flows")).status_code == 404
    # The other links and the shared Exact login are untouched.
    assert [link["id"] for link in (await world.api.get("/links")).json()] == ["default", "south"]
    assert (await world.engine("south").exact.auth_status())["connected"] is True
