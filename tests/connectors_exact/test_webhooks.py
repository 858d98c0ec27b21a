"""Webhooks: the HashCode check on raw bodies (signed independently with the simulator's `sign`), the payload
model, and subscriptions with Exact's validation POST and its "Data already exists" answer."""

from __future__ import annotations

import json

import pytest

from connectors.errors import TransientError
from connectors.exact import ExactClient, parse_webhook, verify_signature
from connectors.exact.webhooks import read_exact_layout
from sandbox.exact import sign

from .conftest import CALLBACK, DIVISION, START, Harness, Receiver

SECRET = "demo-exact-webhook-secret"
CONTENT = (
    '{"Topic":"SalesOrders","ClientId":"00000000-0000-4000-8000-00000000e1a1","Division":1234567,'
    '"Action":"Update","Key":"5b7e3c4e-1d2f-4a8b-9c0d-1e2f3a4b5c6d",'
    '"ExactOnlineEndpoint":"https://start.exactonline.nl/api/v1/1234567/salesorder/SalesOrders'
    "(guid'5b7e3c4e-1d2f-4a8b-9c0d-1e2f3a4b5c6d')\","
    '"EventCreatedOn":"\\/Date(1777896000000)\\/"}'
)


def _body(content: str = CONTENT, hash_code: str | None = None) -> bytes:
    code = sign(content, SECRET) if hash_code is None else hash_code
    return ('{"Content":' + content + ',"HashCode":"' + code + '"}').encode()


def test_a_correctly_signed_body_is_valid() -> None:
    assert verify_signature(_body(), SECRET)


def test_whitespace_and_member_order_do_not_matter_but_the_content_text_does() -> None:
    code = sign(CONTENT, SECRET)
    spaced = f'\n{{ "HashCode" : "{code}" ,\n  "Content" :  {CONTENT}\n}}\n'.encode()
    assert verify_signature(spaced, SECRET)
    # Re-serialising the parsed Content (json.dumps writes "/Date(...)/" unescaped) changes the signed text.
    reencoded = json.dumps(json.loads(CONTENT), separators=(",", ":"))
    assert reencoded != CONTENT
    assert not verify_signature(_body(reencoded, code), SECRET)


@pytest.mark.parametrize(
    "body",
    [
        _body(hash_code=sign(CONTENT, "another-secret")),  # signed with another key
        _body(CONTENT.replace('"Update"', '"Delete"'), sign(CONTENT, SECRET)),  # tampered after signing
        _body(hash_code=sign(CONTENT, SECRET).lower()),  # lowercase hex is not what Exact sends
        _body(hash_code=sign(CONTENT, SECRET)[:-1]),  # truncated
        ('{"Content":' + CONTENT + "}").encode(),  # no HashCode
        b"",  # Exact's validation POST is empty and unsigned
        b"not json",
        _body()[:-1],  # cut off
        ('{"Content":' + CONTENT + ',"Content":{},"HashCode":"' + sign(CONTENT, SECRET) + '"}').encode(),
        ('{"Content":"' + CONTENT.replace('"', '\\"') + '","HashCode":"' + sign(CONTENT, SECRET) + '"}').encode(),
    ],
    ids=[
        "wrong-key",
        "tampered",
        "lowercase",
        "truncated",
        "no-hash",
        "empty",
        "not-json",
        "cut",
        "two-contents",
        "content-as-string",
    ],
)
def test_anything_else_is_refused(body: bytes) -> None:
    assert not verify_signature(body, SECRET)


CODE = sign(CONTENT, SECRET)
LAYOUTS = {
    "exact's own": _body(),
    "wrong key": _body(hash_code=sign(CONTENT, "another-secret")),
    "tampered": _body(CONTENT.replace('"Update"', '"Delete"'), CODE),
    "lowercase": _body(hash_code=CODE.lower()),
    "two contents": ('{"Content":' + CONTENT + ',"Content":{},"HashCode":"' + CODE + '"}').encode(),
    "a content that ends early": ('{"Content":{},"Topic":' + CONTENT + ',"HashCode":"' + CODE + '"}').encode(),
    "two hash codes": ('{"Content":' + CONTENT + ',"HashCode":"' + "A" * 64 + '","HashCode":"' + CODE + '"}').encode(),
    "content as an array": ('{"Content":[' + CONTENT + '],"HashCode":"' + CODE + '"}').encode(),
    "spaced": f'{{ "Content" : {CONTENT}, "HashCode" : "{CODE}" }}'.encode(),
    "trailing newline": _body() + b"\n",
    "a content of 5,000 digits": _body('{"Key":1' + "0" * 5_000 + "}"),
    "a content nested 10,000 deep": _body('{"a":' * 10_000 + "1" + "}" * 10_000),
}


@pytest.mark.parametrize("body", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_the_fast_read_of_exacts_layout_agrees_with_the_full_check(body: bytes) -> None:
    """`read_exact_layout` reads only bodies laid out exactly as Exact writes them, and what it reads is what the
    full parse and `verify_signature` find; anything else is left to them (None)."""
    signed = read_exact_layout(body)
    if signed is None:
        return
    assert signed.signed_with(SECRET) == verify_signature(body, SECRET)
    assert signed.content == json.loads(body)["Content"]
    assert not signed.signed_with("")


def test_the_fast_read_takes_exacts_layout_and_nothing_else() -> None:
    taken = {name for name, body in LAYOUTS.items() if read_exact_layout(body) is not None}
    assert taken == {"exact's own", "wrong key", "tampered"}
    signed = read_exact_layout(_body())
    assert signed is not None and signed.content_text == CONTENT.encode() and signed.hash_code == CODE
    assert signed.signed_with(SECRET) and not signed.signed_with("another-secret")


def test_no_secret_verifies_nothing() -> None:
    assert not verify_signature(_body(), "")


def test_payload_model() -> None:
    payload = parse_webhook(_body())
    content = payload.content
    assert content.topic == "SalesOrders" and content.division == DIVISION and content.action == "Update"
    assert content.key == "5b7e3c4e-1d2f-4a8b-9c0d-1e2f3a4b5c6d" and not content.is_delete
    assert content.event_created_on == START  # Amsterdam 12:00 on the wire
    assert content.exact_online_endpoint is not None and content.exact_online_endpoint.endswith("')")
    with pytest.raises(ValueError):
        parse_webhook(b'{"Content": {"Topic": "Items"}}')


async def test_subscribe_passes_the_validation_post_and_a_duplicate_is_idempotent(
    exact: ExactClient, harness: Harness, receiver: Receiver
) -> None:
    subscription = await exact.subscribe("Items", CALLBACK, description="ledgerbridge")
    assert subscription.topic == "Items" and subscription.callback_url == CALLBACK and subscription.id
    assert receiver.calls == [(CALLBACK, b"")]  # Exact's empty validation POST
    again = await exact.subscribe("Items", CALLBACK)
    assert again.id == subscription.id
    assert harness.calls("POST webhooks/WebhookSubscriptions") == 2
    assert harness.sim.counters()["by_status"]["500"] == 1  # "Data already exists", not retried
    listed = await exact.webhook_subscriptions()
    assert [(s.id, s.topic, s.callback_url) for s in listed] == [(subscription.id, "Items", CALLBACK)]
    await exact.unsubscribe(subscription.id)
    assert await exact.webhook_subscriptions() == []
    await exact.unsubscribe(subscription.id)  # already gone: fine


async def test_a_real_delivery_verifies_and_parses(exact: ExactClient, harness: Harness, receiver: Receiver) -> None:
    await exact.subscribe("Items", CALLBACK)
    harness.sim.clock.advance(90)
    item = await exact.create_item({"Code": "HOOK-1", "Description": "Webhook test"})
    assert await harness.sim.flush_webhooks() == 1
    (body,) = receiver.events
    assert verify_signature(body, SECRET)
    content = parse_webhook(body).content
    assert content.key == item.id and content.topic == "Items" and content.division == DIVISION
    assert content.event_created_on is not None and content.event_created_on.timestamp() == START.timestamp() + 90
    tampered = body.replace(item.id.encode(), item.id[::-1].encode())
    assert not verify_signature(tampered, SECRET)


async def test_a_topic_subscribed_elsewhere_returns_that_subscription(
    exact: ExactClient, harness: Harness, receiver: Receiver
) -> None:
    first = await exact.subscribe("SalesOrders", CALLBACK)
    other = await exact.subscribe("SalesOrders", "https://lb.example.com/other")
    assert other.id == first.id and other.callback_url == CALLBACK  # the caller sees where it points
    assert len(receiver.calls) == 1  # Exact refused the second before validating its URL


async def test_a_callback_that_refuses_the_validation_post_fails_the_subscription(
    exact: ExactClient, harness: Harness, receiver: Receiver
) -> None:
    receiver.status = 401  # e.g. an endpoint that wrongly demands a signature on the empty POST
    with pytest.raises(TransientError, match="Post to callback URL endpoint returns 401"):
        await exact.subscribe("Items", CALLBACK)
    assert await exact.webhook_subscriptions() == []
    assert harness.calls("POST webhooks/WebhookSubscriptions") == 1
