"""Each link's alerts reach its own destination (`alert_url`), a link without one the installation's; the URL is
set through `POST /links` and `PATCH /links/{link}`, validated, shown masked, never logged, and goes with the link.

The receivers are small ASGI apps on their own hosts, reached through the same HTTP client the service uses."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from arq.connections import ArqRedis
from pydantic import SecretStr

from app.logging import configure_logging
from app.scope import Process
from app.settings import Settings
from connectors.keys import Keys
from flows.registry import load_flows
from tests.links.world import NORTH, SOUTH, LinksWorld, make_links_world

INSTALLATION_TOKEN = "install-Tok3n-aaaa"
NORTH_TOKEN = "north-Tok3n-bbbb"
SOUTH_TOKEN = "south-Tok3n-cccc"
INSTALLATION_URL = f"https://hooks.installation.test/services/T0/B0/{INSTALLATION_TOKEN}"
NORTH_URL = f"https://hooks.north.test/services/T1/B1/{NORTH_TOKEN}"
SOUTH_URL = f"https://hooks.south.test/webhookb2/x@y/IncomingWebhook/{SOUTH_TOKEN}?sig={SOUTH_TOKEN}"
TOKENS = (INSTALLATION_TOKEN, NORTH_TOKEN, SOUTH_TOKEN)


class Receiver:
    """An incoming-webhook server (ASGI): records what each request posted."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.urls: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http" and scope["method"] == "POST"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope["query_string"].decode()
        self.urls.append(
            f"https://{dict(scope['headers'])[b'host'].decode()}{scope['path']}" + (f"?{query}" * bool(query))
        )
        self.bodies.append(json.loads(raw))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def texts(self) -> list[str]:
        return [str(body["text"]) for body in self.bodies]


@pytest.fixture
def receivers() -> dict[str, Receiver]:
    return {"installation": Receiver(), "north": Receiver(), "south": Receiver()}


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis, receivers: dict[str, Receiver]) -> AsyncIterator[LinksWorld]:
    alerts = settings.alerts.model_copy(update={"webhook_url": SecretStr(INSTALLATION_URL)})
    hosts = {f"hooks.{name}.test": httpx.ASGITransport(app=receiver) for name, receiver in receivers.items()}
    async with make_links_world(settings, redis, settings_update={"alerts": alerts}, extra_hosts=hosts) as built:
        yield built


async def _engine(world: LinksWorld, link: str) -> Any:
    engine = await world.process.engine_of(link)
    assert engine is not None
    return engine


async def test_each_links_alerts_reach_only_its_own_receiver(world: LinksWorld, receivers: dict[str, Receiver]) -> None:
    # Two links with their own destinations (one set at creation, one changed later), one without.
    created = await world.api.post("/links", json={"id": "west", "division": 7654321, "alert_url": SOUTH_URL})
    assert created.status_code == 201, created.text
    changed = await world.api.patch("/links/default", json={"alert_url": NORTH_URL})
    assert changed.status_code == 200, changed.text
    assert changed.json()["alerts_to"] == "link"

    # Real failures in both connected links' engines: an order of an SKU Exact does not have.
    for link, company in (("default", NORTH), ("south", SOUTH)):
        bad = world.ea_sim(company).create_order("1001", [("SKU-9999", 1)], status=2)
        outcome = await (await _engine(world, link)).run_record("orders", str(bad["Id"]).lower(), "manual")
        assert outcome == "failed"
    await (await _engine(world, "west")).alerter.alert("record_failed", "west: boom", flow="orders")

    (north,) = receivers["north"].bodies
    assert north["kind"] == "record_failed" and north["details"]["link"] == "default"
    assert receivers["south"].texts() == ["[ledgerbridge] record_failed: west: boom"]
    assert receivers["south"].urls == [SOUTH_URL]
    # `south` has no URL of its own: the installation's setting.
    (installation,) = receivers["installation"].bodies
    assert installation["kind"] == "record_failed" and installation["details"]["link"] == "south"

    # Cleared: back to the installation's destination.
    cleared = await world.api.patch("/links/default", json={"alert_url": None})
    assert cleared.status_code == 200 and cleared.json()["alert_url"] is None
    assert cleared.json()["alerts_to"] == "installation"
    await world.redis.delete(Keys.of(world.settings).for_link("default").alerts("gate"))
    await (await _engine(world, "default")).alerter.alert("record_failed", "north again", flow="orders")
    assert receivers["installation"].texts()[-1] == "[ledgerbridge] record_failed: north again"
    assert len(receivers["installation"].bodies) == 2
    assert len(receivers["north"].bodies) == 1


async def test_the_url_is_validated_and_shown_masked(world: LinksWorld) -> None:
    for bad in ("ftp://hooks.example/x", "hooks.slack.com/services/x", "https://", "https://a b/c", 42):
        answer = await world.api.patch("/links/south", json={"alert_url": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"] == ["body", "alert_url"]
        created = await world.api.post("/links", json={"id": "east", "division": 1, "alert_url": bad})
        assert created.status_code == 422 and created.json()["detail"][0]["loc"] == ["body", "alert_url"]
    assert (await world.api.patch("/links/nope", json={"alert_url": NORTH_URL})).status_code == 404
    assert (await world.api.patch("/links/south", json={"division": 5})).status_code == 422  # not changeable here

    assert (await world.api.patch("/links/south", json={"alert_url": SOUTH_URL, "title": "Zuid BV"})).status_code == 200
    shown = (await world.api.get("/links/south")).json()
    assert shown["alert_url"] == "https://hooks.south.test/**********" and shown["title"] == "Zuid BV"
    listed = (await world.api.get("/links")).text
    config = (await world.api.get("/config")).text
    for text in (listed, config, json.dumps(shown)):
        assert all(token not in text for token in TOKENS)
    # A title-only change keeps the URL; "" clears it as null does.
    assert (await world.api.patch("/links/south", json={"title": "Zuid"})).json()["alerts_to"] == "link"
    assert (await world.api.patch("/links/south", json={"alert_url": ""})).json()["alerts_to"] == "installation"


async def test_an_alert_for_a_link_with_a_secret_url_leaves_no_trace_of_it_in_the_logs(
    world: LinksWorld, receivers: dict[str, Receiver]
) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "json", cache=False, stream=out)
    try:
        assert (await world.api.patch("/links/south", json={"alert_url": SOUTH_URL})).status_code == 200
        south = await _engine(world, "south")
        await south.alerter.alert("record_failed", f"posting to {SOUTH_URL} failed", flow="orders", url=SOUTH_URL)
        await south.alerter.alert("record_failed", "second one goes to the digest", flow="orders")
        await world.redis.delete(Keys.of(world.settings).for_link("south").alerts("gate"))
        assert await south.alerter.flush_digest() is True
        created = await world.api.post("/links", json={"id": "west", "division": 7654321, "alert_url": NORTH_URL})
        assert created.status_code == 201
        assert (await world.api.delete("/links/west")).status_code == 200
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers[:] = []
    assert len(receivers["south"].bodies) == 2
    logged = out.getvalue()
    assert '"alert"' in logged and "alert.sent" in logged and "link.changed" in logged
    assert [line for line in logged.splitlines() if any(t in line for t in TOKENS)] == []


async def test_removing_a_link_removes_its_destination(world: LinksWorld) -> None:
    created = await world.api.post("/links", json={"id": "west", "division": 7654321, "alert_url": NORTH_URL})
    assert created.status_code == 201
    await (await _engine(world, "west")).alerter.alert("record_failed", "west: boom", flow="orders")
    assert (await world.api.delete("/links/west")).status_code == 200
    assert (await world.api.get("/links/west")).status_code == 404
    prefix = Keys.of(world.settings).everything
    async for key in world.redis.scan_iter(match=prefix):
        kind = (await world.redis.type(key)).decode()
        if kind == "string":
            values = [await world.redis.get(key)]
        elif kind == "hash":
            values = list((await world.redis.hgetall(key)).values())
        else:
            continue
        assert all(NORTH_TOKEN.encode() not in (v or b"") for v in values), key


async def test_a_link_stored_before_alert_urls_loads_and_alerts_to_the_installation(
    world: LinksWorld, receivers: dict[str, Receiver]
) -> None:
    old = {
        "id": "old",
        "title": "Stored by the previous version",
        "exact_connection": "default",
        "division": 7654321,
        "eaccounting_connection": "old",
        "company": None,
        "paused": False,
        "created_at": "2026-11-01T10:00:00Z",
    }
    await world.redis.hset(Keys.of(world.settings).links, "old", json.dumps(old))
    fresh = Process(world.settings, world.redis, load_flows(), http=world.http)  # another process, e.g. a worker
    link = await fresh.link("old")
    assert link is not None and link.alert_url is None and link.title == old["title"]
    assert (await world.api.get("/links/old")).json()["alerts_to"] == "installation"
    engine = fresh.engine(link)
    await engine.alerter.alert("record_failed", "old: boom", flow="orders")
    assert receivers["installation"].texts() == ["[ledgerbridge] record_failed: old: boom"]
