"""Webhooks: validation POST on subscribe, callbacks with an independently verified HashCode, faults, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
import pytest

from sandbox.exact import ExactSim

from .conftest import url

CALLBACK = "https://lb.example.com/webhooks/exact"


@dataclass
class Receiver:
    """Collects deliveries; answers `status` (a list is consumed one status per call)."""

    statuses: list[int] = field(default_factory=list)
    calls: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def __call__(self, target: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append((target, body, dict(headers)))
        return self.statuses.pop(0) if self.statuses else 200

    @property
    def events(self) -> list[bytes]:
        return [body for _, body, _ in self.calls if body]


@pytest.fixture
def receiver(sim: ExactSim) -> Receiver:
    collector = Receiver()
    sim.deliver = collector
    return collector


async def _subscribe(client: httpx.AsyncClient, headers: dict[str, str], topic: str) -> httpx.Response:
    return await client.post(
        url("webhooks/WebhookSubscriptions"),
        headers={**headers, "Prefer": "return=representation"},
        json={"CallbackURL": CALLBACK, "Topic": topic},
    )


def _verify(raw: bytes, secret: str) -> dict[str, object]:
    """What a receiver must do: HMAC over the raw Content text, never over re-serialised JSON."""
    text = raw.decode()
    match = re.fullmatch(r'\{"Content":(\{.*\}),"HashCode":"([0-9A-F]{64})"\}', text)
    assert match is not None, text
    content, hash_code = match.groups()
    expected = hmac.new(secret.encode(), content.encode(), hashlib.sha256).hexdigest().upper()
    assert hmac.compare_digest(expected, hash_code)
    parsed: dict[str, object] = json.loads(content)
    return parsed


async def test_subscription_sends_an_empty_validation_post(
    client: httpx.AsyncClient, headers: dict[str, str], receiver: Receiver
) -> None:
    response = await _subscribe(client, headers, "Items")
    assert response.status_code == 201, response.text
    assert response.json()["d"]["Topic"] == "Items"
    assert receiver.calls == [(CALLBACK, b"", {"Content-Type": "application/json"})]
    listed = await client.get(url("webhooks/WebhookSubscriptions"), headers=headers)
    assert [s["CallbackURL"] for s in listed.json()["d"]["results"]] == [CALLBACK]


async def test_failed_validation_fails_the_subscription(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    receiver.statuses.append(401)
    response = await _subscribe(client, headers, "Items")
    assert response.status_code == 500
    assert "returns 401" in response.json()["error"]["message"]["value"]
    assert len(sim.division().store("WebhookSubscriptions")) == 0


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"CallbackURL": "http://lb.example.com/hook", "Topic": "Items"}, 400, "HTTPS"),
        ({"CallbackURL": CALLBACK, "Topic": "Widgets"}, 400, "Topic"),
        ({"CallbackURL": CALLBACK, "Topic": "Items", "IsInstant": True}, 400, "IsInstant"),
        ({"Topic": "Items"}, 400, "CallbackURL"),
        ({"CallbackURL": CALLBACK, "Topic": "Items", "Secret": "x"}, 400, "Secret"),
    ],
)
async def test_subscription_validation(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    receiver: Receiver,
    body: dict[str, object],
    status: int,
    fragment: str,
) -> None:
    response = await client.post(url("webhooks/WebhookSubscriptions"), headers=headers, json=body)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]["value"]
    assert receiver.calls == []


async def test_duplicate_topic_is_500(client: httpx.AsyncClient, headers: dict[str, str], receiver: Receiver) -> None:
    assert (await _subscribe(client, headers, "Items")).status_code == 201
    again = await _subscribe(client, headers, "Items")
    assert again.status_code == 500
    assert again.json()["error"]["message"]["value"] == "Data already exists"


async def test_item_change_delivers_a_signed_callback(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    await _subscribe(client, headers, "Items")
    item = sim.item_by_code("SKU-0001")
    put = await client.put(url(f"logistics/Items(guid'{item['ID']}')"), headers=headers, json={"Notes": "hello"})
    assert put.status_code == 204
    assert receiver.events == []  # queued, not yet sent
    assert await sim.flush_webhooks() == 1
    [raw] = receiver.events
    content = _verify(raw, sim.config.webhook_secret)
    assert content["Topic"] == "Items"
    assert content["Action"] == "Update"
    assert content["Key"] == item["ID"]
    assert content["Division"] == sim.config.division
    assert content["ClientId"] == sim.config.client_id
    assert content["ExactOnlineEndpoint"] == (
        f"https://start.exactonline.nl/api/v1/{sim.config.division}/logistics/Items(guid'{item['ID']}')"
    )
    assert b'"EventCreatedOn":"\\/Date(' in raw  # .NET escaping: re-serialising breaks the hash
    reencoded = json.dumps(json.loads(raw)["Content"], separators=(",", ":"))
    wrong = hmac.new(sim.config.webhook_secret.encode(), reencoded.encode(), hashlib.sha256).hexdigest().upper()
    assert wrong != json.loads(raw)["HashCode"]


async def test_delete_and_create_actions(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    await _subscribe(client, headers, "Accounts")
    created = await client.post(url("crm/Accounts"), headers=headers, json={"Name": "New Café"})
    key = created.json()["d"]["ID"]
    await client.delete(url(f"crm/Accounts(guid'{key}')"), headers=headers)
    await sim.flush_webhooks()
    actions = [(_verify(raw, sim.config.webhook_secret)["Action"]) for raw in receiver.events]
    assert actions == ["Create", "Delete"]


async def test_stock_and_goods_delivery_events(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    for topic in ("StockPositions", "GoodsDeliveries", "SalesOrders"):
        assert (await _subscribe(client, headers, topic)).status_code == 201
    response = await client.post("/_sim/stock", json={"item_code": "SKU-0010", "quantity": "12"})
    assert response.status_code == 200, response.text
    await sim.flush_webhooks()
    topics = [_verify(raw, sim.config.webhook_secret)["Topic"] for raw in receiver.events]
    assert topics == ["StockPositions"]
    receiver.calls.clear()
    shipped = await client.post(
        "/_sim/goods-deliveries", json={"order_number": 1, "tracking_number": "JVGL123", "shipping_method": "PostNL"}
    )
    assert shipped.status_code == 201, shipped.text
    await sim.flush_webhooks()
    events = [_verify(raw, sim.config.webhook_secret) for raw in receiver.events]
    assert {str(e["Topic"]) for e in events} == {"StockPositions", "SalesOrders", "GoodsDeliveries"}
    delivery = next(e for e in events if e["Topic"] == "GoodsDeliveries")
    record = sim.division().store("GoodsDeliveries").records[str(delivery["Key"])]
    assert (record["TrackingNumber"], record["ShippingMethodCode"]) == ("JVGL123", "PostNL")


async def test_drop_and_duplicate_faults(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    await _subscribe(client, headers, "Items")
    assert (await client.post("/_sim/faults", json={"webhook": "drop"})).status_code == 201
    sim.add_webhook_fault("duplicate")
    sim.upsert_item("SKU-0001", {"Notes": "one"})
    sim.upsert_item("SKU-0002", {"Notes": "two"})
    await sim.flush_webhooks()
    keys = [_verify(raw, sim.config.webhook_secret)["Key"] for raw in receiver.events]
    assert keys == [sim.item_by_code("SKU-0002")["ID"]] * 2
    assert sim.counters()["webhooks"]["dropped"] == 1


async def test_failed_delivery_is_retried_on_the_sim_clock(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    await _subscribe(client, headers, "Items")
    receiver.statuses += [503, 500]
    sim.upsert_item("SKU-0003", {"Notes": "retry me"})
    assert await sim.flush_webhooks() == 0
    assert await sim.flush_webhooks() == 0  # the retry is due in 2 minutes
    sim.clock.advance(120)
    assert await sim.flush_webhooks() == 0  # second failure: next try in 4 minutes
    sim.clock.advance(240)
    assert await sim.flush_webhooks() == 1
    bodies = receiver.events
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same event, byte for byte


async def test_gives_up_after_max_retries(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str], receiver: Receiver
) -> None:
    await _subscribe(client, headers, "Items")
    receiver.statuses += [500] * 11
    sim.upsert_item("SKU-0003", {"Notes": "never arrives"})
    for _ in range(12):
        await sim.flush_webhooks()
        sim.clock.advance(2**11 * 60)
    assert sim.counters()["webhooks"]["gave_up"] == 1
    assert sim.webhooks.pending == []
