"""Webhook events that arrive together share a Redis round trip (`app.services.webhooks._Ingest`): every event
still gets its own answer, each delivery is remembered exactly when its jobs are queued, a Redis outage answers
every waiting event 503, and an event whose request went away is handled all the same (issue 18)."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from typing import Any
from urllib.parse import urlsplit

import httpx
from structlog.testing import capture_logs

from app.main import create_app
from app.scope import Process
from app.services.webhooks import accept_exact_event
from app.settings import Settings
from connectors.keys import Keys
from tests.chaos.procs import RedisProcess
from tests.engine.conftest import running_api
from tests.engine.flowkit import FLOWS
from tests.engine.test_engine import _webhook
from tests.redisproxy import RoundTripProxy


def _guid(n: int) -> str:
    return f"6f1c2e8a-0000-4000-8000-{n:012d}"


def _proxied(settings: Settings, port: int) -> Settings:
    url = urlsplit(settings.redis.url)
    redis = settings.redis.model_copy(update={"url": f"redis://127.0.0.1:{port}{url.path}"})
    return settings.model_copy(update={"redis": redis})


async def test_events_that_arrive_together_share_round_trips_and_each_gets_its_own_answer(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    url = urlsplit(engine_settings.redis.url)
    proxy = RoundTripProxy(url.hostname or "127.0.0.1", url.port or 6379)
    settings = _proxied(engine_settings, await proxy.start())
    # 30 records; records 0-9 changed twice (two events), the first event of records 0-4 delivered twice (Exact's
    # retry), and 5 events of a topic no flow uses: 50 requests at once.
    bodies = [_webhook(_guid(n), created=1) for n in range(30)]
    bodies += [_webhook(_guid(n), created=2) for n in range(10)]
    bodies += [_webhook(_guid(n), created=1) for n in range(5)]
    bodies += [_webhook(_guid(n), topic="Accounts") for n in range(5)]
    try:
        async with running_api(create_app(settings, configure_logs=False, flow_definitions=FLOWS, http=http)) as api:
            assert (await api.post("/webhooks/exact", content=_webhook(_guid(999)))).status_code == 202  # warm-up
            before = proxy.trips
            answers = await asyncio.gather(*(api.post("/webhooks/exact", content=body) for body in bodies))
            trips = proxy.trips - before
    finally:
        await proxy.close()

    by_body: dict[bytes, list[dict[str, Any]]] = {}
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.status_code in (200, 202), answer.text
        assert answer.status_code == (202 if answer.json()["status"] == "accepted" else 200)
        by_body.setdefault(body, []).append(answer.json())
    for body, got in by_body.items():
        if b'"Accounts"' in body:
            assert got == [{"status": "ignored", "reason": "no flow uses topic Accounts"}]
        elif len(got) == 2:  # delivered twice: one of the two queued it, the other is a duplicate
            assert sorted(answer["status"] for answer in got) == ["accepted", "duplicate"]
        else:
            assert got == [{"status": "accepted", "links": {"default": ["echo"]}, "flows": ["echo"]}]
    assert trips <= 3, f"{trips} round trips for 45 events that reach Redis at once"

    keys = Keys.of(engine_settings).for_link("default")
    queued = {member.decode() for member in await redis.zrange(engine_settings.redis.queue_name, 0, -1)}
    assert queued == {keys.record_job("echo", _guid(n)) for n in [*range(30), 999]}
    generations = [int(await redis.get(keys.generation("echo", _guid(n))) or 0) for n in range(30)]
    assert generations == [2] * 10 + [1] * 20  # a duplicate delivery bumps nothing
    seen = [key async for key in redis.scan_iter(match=Keys.of(engine_settings).webhook_seen("*"))]
    assert len(seen) == 41  # 30 + 10 second changes + the warm-up; the 5 re-deliveries were already seen


async def test_a_redis_outage_answers_every_waiting_event_503_and_the_next_ones_go_through(
    engine_settings: Settings, redis_process: RedisProcess, http: httpx.AsyncClient
) -> None:
    redis_settings = engine_settings.redis.model_copy(update={"url": redis_process.url})
    settings = engine_settings.model_copy(update={"redis": redis_settings})
    async with running_api(create_app(settings, configure_logs=False, flow_definitions=FLOWS, http=http)) as api:
        assert (await api.post("/webhooks/exact", content=_webhook(_guid(100)))).status_code == 202
        redis_process.kill()
        down = await asyncio.gather(*(api.post("/webhooks/exact", content=_webhook(_guid(n))) for n in range(20)))
        assert [answer.status_code for answer in down] == [503] * 20
        assert all(int(answer.headers["Retry-After"]) > 0 for answer in down)
        redis_process.start()
        # Exact retries each of them: now they are queued, none taken for a duplicate of a delivery that failed.
        back = await asyncio.gather(*(api.post("/webhooks/exact", content=_webhook(_guid(n))) for n in range(20)))
        assert [answer.json()["status"] for answer in back] == ["accepted"] * 20, [a.text for a in back]


async def test_an_event_whose_request_went_away_is_queued_all_the_same(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    process = Process(engine_settings, redis, FLOWS, http=http)
    assert (await accept_exact_event(process, json.loads(_webhook(_guid(99)))["Content"])).status == "accepted"
    contents = [json.loads(_webhook(_guid(n)))["Content"] for n in range(5)]
    requests = [asyncio.create_task(accept_exact_event(process, content)) for content in contents]
    await asyncio.sleep(0)  # each request has handed its event over and waits for its answer
    requests[2].cancel()
    answers = await asyncio.gather(*requests, return_exceptions=True)
    assert isinstance(answers[2], asyncio.CancelledError)
    assert [answer.status for answer in answers if not isinstance(answer, BaseException)] == ["accepted"] * 4
    keys = Keys.of(engine_settings).for_link("default")
    queued = {member.decode() for member in await redis.zrange(engine_settings.redis.queue_name, 0, -1)}
    assert queued == {keys.record_job("echo", _guid(n)) for n in [*range(5), 99]}
    # Exact retries the delivery that got no answer: remembered, so nothing more is queued.
    assert (await accept_exact_event(process, contents[2])).status == "duplicate"


async def test_the_ingest_keeps_no_process_alive(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    """Each app's Process has its ingest (and snapshot) in weak maps: once the app is gone, so are they."""
    process = Process(engine_settings, redis, FLOWS, http=http)
    assert (await accept_exact_event(process, json.loads(_webhook(_guid(7)))["Content"])).status == "accepted"
    gone = weakref.ref(process)
    del process
    await asyncio.sleep(0)  # the batch's sender task has finished and dropped its reference
    gc.collect()
    assert gone() is None


async def test_a_record_redis_cannot_write_fails_its_event_alone(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    """One broken record (its generation counter holds no integer) in a batch: its event answers 500 with one log
    line and is not remembered; the events it shared the call with are queued; after the repair Exact's retry is."""
    keys = Keys.of(engine_settings).for_link("default")
    await redis.set(keys.generation("echo", _guid(3)), "not a number")
    bodies = [_webhook(_guid(n)) for n in range(6)]
    async with running_api(create_app(engine_settings, configure_logs=False, flow_definitions=FLOWS, http=http)) as api:
        assert (await api.post("/webhooks/exact", content=_webhook(_guid(999)))).status_code == 202  # warm-up
        with capture_logs() as logs:
            answers = await asyncio.gather(*(api.post("/webhooks/exact", content=body) for body in bodies))
        assert [answer.status_code for answer in answers] == [202, 202, 202, 500, 202, 202]
        assert "not an integer" in answers[3].json()["detail"]
        failed = [entry for entry in logs if entry["event"] == "webhook.failed"]
        assert len(failed) == 1 and failed[0]["key"] == _guid(3) and "exc_info" not in failed[0]
        assert len(logs) == 6  # one line per request
        queued = {member.decode() for member in await redis.zrange(engine_settings.redis.queue_name, 0, -1)}
        assert queued == {keys.record_job("echo", _guid(n)) for n in [0, 1, 2, 4, 5, 999]}

        await redis.delete(keys.generation("echo", _guid(3)))  # repaired
        retried = await api.post("/webhooks/exact", content=bodies[3])
        assert retried.status_code == 202, retried.text
        assert keys.record_job("echo", _guid(3)).encode() in await redis.zrange(engine_settings.redis.queue_name, 0, -1)
