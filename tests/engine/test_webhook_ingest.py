"""`POST /webhooks/exact` at its edge: bodies of any shape get a 4xx and one short log line, never a traceback; a
signed event whose Key is no GUID is refused at ingest; an accepted event logs one line; a config change is seen
by the very next event (issue 18)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from structlog.testing import capture_logs

from app.main import create_app
from app.settings import Settings
from sandbox.exact import sign
from tests.engine.conftest import Drain, EchoKey, running_api
from tests.engine.flowkit import FLOWS
from tests.engine.test_engine import SECRET, _source, _targets, _webhook
from tests.redisproxy import RoundTripProxy

GUID = "6f1c2e8a-0000-4000-8000-0000000000b1"

HOSTILE = {
    "nested 20,000 deep": b"[" * 20_000,
    "nested object 10,000 deep": b'{"Content":' + b'{"a":' * 10_000,
    "an integer of 5,000 digits": b'{"Content": {"Key": 1' + b"0" * 5_000 + b'}, "HashCode": "X"}',
    "a bare integer of 5,000 digits": b"9" * 5_000,
    "not UTF-8": b'{"Content": "\xff\xfe"}',
    "an array": b"[1, 2, 3]",
    "a string": b'"Content"',
    "a HashCode that is no string": b'{"Content": {"Topic": "Items"}, "HashCode": 1e999}',
    "unsigned": b'{"Content": {"Topic": "Items", "Key": "' + GUID.encode() + b'"}, "HashCode": "' + b"A" * 64 + b'"}',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_hostile_body_is_a_4xx_with_one_short_log_line(
    api: httpx.AsyncClient, redis: Any, engine_settings: Settings, body: bytes
) -> None:
    with capture_logs() as logs:
        answer = await api.post("/webhooks/exact", content=body)
    assert answer.status_code in (400, 401), answer.text
    assert len(answer.content) < 300
    assert [entry["event"] for entry in logs] == ["webhook.refused"], logs
    assert len(repr(logs[0])) < 300 and "exc_info" not in logs[0]
    assert await redis.zcard(engine_settings.redis.queue_name) == 0


@pytest.mark.parametrize("key", ["not-a-guid", "1234", "6f1c2e8a-0000-4000-8000-00000000000", ""])
async def test_a_signed_event_whose_key_is_no_guid_is_refused_at_ingest(
    api: httpx.AsyncClient, redis: Any, engine_settings: Settings, key: str
) -> None:
    answer = await api.post("/webhooks/exact", content=_webhook(key))
    assert answer.status_code == 400, answer.text
    assert "Content.Key" in answer.json()["detail"]
    assert await redis.zcard(engine_settings.redis.queue_name) == 0


@pytest.mark.parametrize(
    "created",
    ["yesterday", "/Date(abc)/", "", "1777896000000", "2026-02-30", "2026-13-01T99:99", "/Date(999999999999999)/"],
)
async def test_a_signed_event_whose_time_is_unreadable_is_refused_at_ingest(
    api: httpx.AsyncClient, redis: Any, engine_settings: Settings, created: str
) -> None:
    body = _webhook(GUID).replace(b'"/Date(1)/"', json.dumps(created).encode())
    content = body[len(b'{"Content":') : body.rindex(b',"HashCode"')]
    body = b'{"Content":' + content + b',"HashCode":"' + sign(content.decode(), SECRET).encode() + b'"}'
    answer = await api.post("/webhooks/exact", content=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == "Content.EventCreatedOn: must be /Date(milliseconds)/ or an ISO 8601 date-time"
    assert await redis.zcard(engine_settings.redis.queue_name) == 0


async def test_an_accepted_event_logs_one_line_and_its_job_runs(
    api: httpx.AsyncClient, redis: Any, k: EchoKey, drain: Drain
) -> None:
    await _source(redis, k, GUID, value="v")
    await api.get("/flows")  # the process's first use upgrades (and logs) once
    with capture_logs() as logs:
        answer = await api.post("/webhooks/exact", content=_webhook(GUID.upper()))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "accepted", "links": {"default": ["echo"]}, "flows": ["echo"]}
    assert [entry["event"] for entry in logs] == ["webhook.received"]
    assert logs[0]["outcome"] == "accepted" and logs[0]["key"] == GUID.upper()
    with capture_logs() as logs:
        again = await api.post("/webhooks/exact", content=_webhook(GUID.upper()))
    assert again.json() == {"status": "duplicate"}
    assert [(entry["event"], entry["outcome"]) for entry in logs] == [("webhook.received", "duplicate")]
    await drain()  # the job the script enqueued is one arq's workers run like any other
    assert await _targets(redis, k) == [{"source_id": GUID, "value": "v"}]


async def test_a_flow_disabled_or_enabled_through_the_api_counts_from_the_next_event(
    api: httpx.AsyncClient, redis: Any, engine_settings: Settings
) -> None:
    assert (await api.post("/webhooks/exact", content=_webhook(GUID, created=1))).status_code == 202
    assert (await api.put("/flows/echo/config", json={"enabled": False})).status_code == 200
    off = await api.post("/webhooks/exact", content=_webhook(GUID, created=2))
    assert off.status_code == 200 and off.json()["status"] == "ignored", off.text
    assert (await api.put("/flows/echo/config", json={"enabled": True})).status_code == 200
    on = await api.post("/webhooks/exact", content=_webhook(GUID, created=3))
    assert on.status_code == 202, on.text
    # A paused link takes no events either, from the next one on.
    assert (await api.post("/links/default/pause")).status_code == 200
    paused = await api.post("/webhooks/exact", content=_webhook(GUID, created=4))
    assert paused.json() == {"status": "ignored", "reason": "no link on this division"}


async def test_an_event_costs_one_redis_round_trip_and_two_after_a_change_elsewhere(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    """Counted on the wire, through a proxy in front of Redis: a pipeline or a script is one round trip."""
    url = urlsplit(engine_settings.redis.url)
    proxy = RoundTripProxy(url.hostname or "127.0.0.1", url.port or 6379)
    port = await proxy.start()
    proxied = engine_settings.model_copy(
        update={"redis": engine_settings.redis.model_copy(update={"url": f"redis://127.0.0.1:{port}{url.path}"})}
    )
    try:
        async with running_api(create_app(proxied, configure_logs=False, flow_definitions=FLOWS, http=http)) as api:
            api.headers["Authorization"] = "Bearer demo-admin-token"

            async def trips(body: bytes) -> int:
                before = proxy.trips
                assert (await api.post("/webhooks/exact", content=body)).status_code == 202
                return proxy.trips - before

            await trips(_webhook(GUID, created=1))  # the process's first event reads what it plans from
            assert await trips(_webhook(GUID, created=2)) == 1
            assert await trips(_webhook(GUID, created=3)) == 1
            # A config changed through another process: this one plans from what its script then finds.
            other = create_app(engine_settings, configure_logs=False, flow_definitions=FLOWS, http=http)
            async with running_api(other) as elsewhere:
                elsewhere.headers["Authorization"] = "Bearer demo-admin-token"
                changed = await elsewhere.put("/flows/echo/config", json={"poll_interval_seconds": 60})
                assert changed.status_code == 200
            assert await trips(_webhook(GUID, created=4)) == 2
            assert await trips(_webhook(GUID, created=5)) == 1
    finally:
        await proxy.close()
