"""Alerter: Slack/Teams-compatible POSTs, one per interval across processes, the rest as one digest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from app.alerts import Alerter
from connectors.keys import Keys
from tests.redisdb import RUN_PREFIX

URL = "https://hooks.slack.example/services/T000/B000/sekrit-path-token"
GATE = Keys(RUN_PREFIX, "default").alerts("gate")


class Slack:
    """Stands in for the incoming-webhook server; `fail` makes it answer 500 or drop the connection."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail: str | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == URL and request.method == "POST"
        if self.fail == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if self.fail == "500":
            return httpx.Response(500, text="oops")
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, text="ok")


@pytest.fixture
def slack() -> Slack:
    return Slack()


@pytest.fixture
async def http(slack: Slack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(slack)) as client:
        yield client


def alerter(redis: Any, http: httpx.AsyncClient, url: str | None = URL) -> Alerter:
    return Alerter(redis, Keys(RUN_PREFIX, "default"), http=http, url=url, min_interval_seconds=300)


async def interval_passes(redis: Any) -> None:
    """Let the gate run out the way Redis expiry would, without waiting 300 s."""
    assert 0 < await redis.ttl(GATE) <= 300
    await redis.pexpire(GATE, 1)
    await asyncio.sleep(0.01)
    assert not await redis.exists(GATE)


async def test_without_url_alerts_are_only_logged(redis: Any, http: httpx.AsyncClient, slack: Slack) -> None:
    with capture_logs() as logs:
        await alerter(redis, http, url=None).alert("record_failed", "customers 1: boom", flow="customers")
        assert await alerter(redis, http, url=None).flush_digest() is False
    assert slack.bodies == []
    assert next(e for e in logs if e["event"] == "alert")["kind"] == "record_failed"
    assert await redis.exists(GATE) == 0


async def test_one_message_per_interval_across_processes_then_one_digest(
    redis: Any, http: httpx.AsyncClient, slack: Slack
) -> None:
    api, worker = alerter(redis, http), alerter(redis, http)
    await worker.alert("record_failed", "customers acc-1: 422 invalid VAT", flow="customers", record_id="acc-1")
    assert len(slack.bodies) == 1
    first = slack.bodies[0]
    assert first["text"] == "[ledgerbridge] record_failed: customers acc-1: 422 invalid VAT"
    assert first["kind"] == "record_failed" and first["details"] == {"flow": "customers", "record_id": "acc-1"}

    # A storm inside the interval: nothing is sent, from either process.
    for i in range(2, 6):
        await worker.alert("record_failed", f"customers acc-{i}: 422 invalid VAT", flow="customers")
    await api.alert("connection", "exact: re-authorization needed", system="exact")
    assert await worker.flush_digest() is False
    assert len(slack.bodies) == 1

    await interval_passes(redis)
    assert await api.flush_digest() is True
    assert len(slack.bodies) == 2
    digest = slack.bodies[1]
    assert digest["text"].startswith("[ledgerbridge] 5 more alerts: record_failed ×4 (customers acc-2: 422")
    assert "+1 more" in digest["text"] and "connection ×1 (exact: re-authorization needed)" in digest["text"]
    assert digest["digest"]["count"] == 5
    assert digest["digest"]["by_kind"] == {"record_failed": 4, "connection": 1}

    # Drained: nothing more to send, and the slot stays taken for this interval.
    assert await worker.flush_digest() is False
    await worker.alert("record_failed", "late one")
    assert len(slack.bodies) == 2


async def test_next_alert_carries_the_pending_digest(redis: Any, http: httpx.AsyncClient, slack: Slack) -> None:
    a = alerter(redis, http)
    await a.alert("record_failed", "one")
    await a.alert("record_failed", "two")
    await a.alert("record_failed", "three")
    await interval_passes(redis)
    await a.alert("connection", "four")
    assert len(slack.bodies) == 2
    assert slack.bodies[1]["text"] == ("[ledgerbridge] connection: four\n2 more alerts: record_failed ×2 (two; three)")
    assert await redis.llen(Keys(RUN_PREFIX, "default").alerts("pending")) == 0


@pytest.mark.parametrize("failure", ["500", "connect"])
async def test_delivery_failure_never_raises_and_keeps_the_alerts(
    redis: Any, http: httpx.AsyncClient, slack: Slack, failure: str
) -> None:
    a = alerter(redis, http)
    slack.fail = failure
    with capture_logs() as logs:
        await a.alert("record_failed", "first")  # must not raise
    assert any(e["event"] == "alert.delivery_failed" for e in logs)
    assert URL not in repr(logs) and "sekrit" not in repr(logs)
    await a.alert("record_failed", "second")

    slack.fail = None
    await interval_passes(redis)
    assert await a.flush_digest() is True
    assert slack.bodies[-1]["digest"]["count"] == 2
    assert "first; second" in slack.bodies[-1]["text"]


async def test_redis_down_never_raises(http: httpx.AsyncClient, slack: Slack) -> None:
    from redis.asyncio import Redis

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        a = alerter(dead, http)
        await a.alert("connection", "exact down")
        assert await a.flush_digest() is False
    finally:
        await dead.aclose()
    assert slack.bodies == []


async def test_secrets_never_leave(redis: Any, http: httpx.AsyncClient, slack: Slack) -> None:
    a = alerter(redis, http)
    with capture_logs() as logs:
        await a.alert("connection", "refresh failed: Bearer abc.def", access_token="tok-1", system="exact")
        await a.alert("connection", "again client_secret=cs-9&x=1", password="pw")
    await interval_passes(redis)
    await a.flush_digest()
    sent = json.dumps(slack.bodies)
    for secret in ("abc.def", "tok-1", "cs-9", 'pw"', "sekrit"):
        assert secret not in sent
        assert secret not in repr(logs)
    assert slack.bodies[0]["details"]["system"] == "exact"
