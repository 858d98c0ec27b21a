"""Review of the batched webhook ingest (`app.services.webhooks._Ingest`, `app.jobs.enqueue_batch`): deliveries of
one, two and three runs in one script call, the jobs it queues as arq's own `enqueue_job` would, a script error
that must not leave a delivery remembered without its jobs, and a batch after Redis dropped the connection and
forgot its scripts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import redis.asyncio as aioredis
from arq.jobs import deserialize_job

from app.jobs import enqueue_record
from app.redis import connect_redis
from app.scope import Process
from app.services.webhooks import accept_exact_event
from app.settings import Settings
from connectors.keys import Keys
from tests.chaos.procs import RedisProcess
from tests.engine.flowkit import ECHO
from tests.engine.test_engine import _webhook

# Three flows on the Items topic, two on Accounts, one on GLAccounts: a delivery asks for 3, 2 or 1 runs.
FLOWS3 = {
    "echo": dataclasses.replace(ECHO, webhook_topics=("Items", "Accounts", "GLAccounts")),
    "echo2": dataclasses.replace(ECHO, name="echo2", webhook_topics=("Items", "Accounts")),
    "echo3": dataclasses.replace(ECHO, name="echo3", webhook_topics=("Items",)),
}
RUNS = {"Items": ["echo", "echo2", "echo3"], "Accounts": ["echo", "echo2"], "GLAccounts": ["echo"]}


def _guid(n: int) -> str:
    return f"7e2d3f9b-0000-4000-8000-{n:012d}"


def _content(n: int, topic: str = "Items", created: int = 1) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(_webhook(_guid(n), topic=topic, created=created))["Content"]
    return content


async def _job(redis: Any, settings: Settings, job_id: str) -> tuple[Any, int, float]:
    """A queued job as a worker reads it, its time to live (ms) and its score."""
    raw = await redis.get(Keys.of(settings).arq_job(job_id))
    assert raw is not None, job_id
    ttl = await redis.pttl(Keys.of(settings).arq_job(job_id))
    score = await redis.zscore(settings.redis.queue_name, job_id)
    return deserialize_job(raw), ttl, score


async def test_deliveries_of_one_two_and_three_runs_in_one_batch_queue_what_arq_would(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    process = Process(engine_settings, redis, FLOWS3, http=http)
    assert (await accept_exact_event(process, _content(900))).status == "accepted"  # the warm-up goes alone
    events = [
        _content(1, "GLAccounts"),
        _content(2, "Accounts"),
        _content(3, "Items"),
        _content(3, "Items"),  # the same delivery twice in one batch
        _content(4, "Items"),
        _content(4, "Items", created=2),  # two changes of one record in one batch
        _content(5, "Accounts"),
    ]
    answers = await asyncio.gather(*(accept_exact_event(process, content) for content in events))
    got = [(answer.status, answer.links.get("default")) for answer in answers]
    assert got == [
        ("accepted", RUNS["GLAccounts"]),
        ("accepted", RUNS["Accounts"]),
        ("accepted", RUNS["Items"]),
        ("duplicate", None),
        ("accepted", RUNS["Items"]),
        ("accepted", RUNS["Items"]),
        ("accepted", RUNS["Accounts"]),
    ]

    keys = Keys.of(engine_settings).for_link("default")
    expected = {
        (flow, _guid(n))
        for n, topic in [(1, "GLAccounts"), (2, "Accounts"), (3, "Items"), (4, "Items")]
        for flow in RUNS[topic]
    }
    expected |= {(flow, _guid(n)) for n, topic in [(5, "Accounts"), (900, "Items")] for flow in RUNS[topic]}
    queued = {member.decode() for member in await redis.zrange(engine_settings.redis.queue_name, 0, -1)}
    assert queued == {keys.record_job(flow, record) for flow, record in expected}
    generations = {
        (flow, record): int(await redis.get(keys.generation(flow, record)) or 0) for flow, record in expected
    }
    assert generations == {run: 2 if run[1] == _guid(4) else 1 for run in expected}

    # What arq's own enqueue_job writes for the same run (another record, same flow, trigger and link).
    assert await enqueue_record(redis, engine_settings, "echo2", _guid(77), "webhook")
    reference, reference_ttl, reference_score = await _job(redis, engine_settings, keys.record_job("echo2", _guid(77)))
    for flow, record in expected:
        job, ttl, score = await _job(redis, engine_settings, keys.record_job(flow, record))
        assert (job.function, job.args, job.kwargs, job.job_try) == (
            reference.function,
            (flow, record, "webhook", None),
            reference.kwargs,
            reference.job_try,
        )
        assert reference.args == ("echo2", _guid(77), "webhook", None)
        # Deferred by the coalescing wait from its enqueue time, and kept as long as arq keeps its own.
        assert (
            score - job.enqueue_time.timestamp() * 1000 == reference_score - reference.enqueue_time.timestamp() * 1000
        )
        assert abs(ttl - reference_ttl) < 60_000


async def test_a_script_error_does_not_leave_a_delivery_remembered_without_its_jobs(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    """Redis does not roll back a script that fails half-way: what it wrote before the error stays. A delivery
    must then not be remembered, or Exact's retry (after the cause is repaired) is answered "duplicate" and the
    change is never synced."""
    process = Process(engine_settings, redis, FLOWS3, http=http)
    keys = Keys.of(engine_settings).for_link("default")
    assert (await accept_exact_event(process, _content(900))).status == "accepted"
    # A record key that makes the script fail on its write (here: the generation counter holds no integer).
    await redis.set(keys.generation("echo2", _guid(1)), "not a number")
    content = _content(1, "Accounts")
    failed = await asyncio.gather(accept_exact_event(process, content), return_exceptions=True)
    assert isinstance(failed[0], Exception), failed
    await redis.delete(keys.generation("echo2", _guid(1)))
    # Exact retries the delivery it got no 2xx for: its jobs are queued now.
    retried = await accept_exact_event(process, content)
    assert retried.status == "accepted"
    queued = {member.decode() for member in await redis.zrange(engine_settings.redis.queue_name, 0, -1)}
    assert {keys.record_job("echo", _guid(1)), keys.record_job("echo2", _guid(1))} <= queued


async def test_a_batch_after_redis_dropped_the_connection_and_forgot_its_scripts(
    engine_settings: Settings, redis_process: RedisProcess, http: httpx.AsyncClient
) -> None:
    """The hand-packed call (`app.redis.execute_packed`) on a pooled connection: a connection Redis closed is
    replaced, EVALSHA that Redis no longer knows falls back to EVAL, and every answer is the call's own."""
    settings = engine_settings.model_copy(
        update={"redis": engine_settings.redis.model_copy(update={"url": redis_process.url})}
    )
    redis, admin = connect_redis(settings), aioredis.Redis.from_url(redis_process.url)
    try:
        process = Process(settings, redis, FLOWS3, http=http)
        assert (await accept_exact_event(process, _content(900))).status == "accepted"
        for round_ in range(3):
            await admin.execute_command("SCRIPT", "FLUSH")
            killed = await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            assert killed >= 1  # the process's pooled connection(s)
            contents = [_content(10 * round_ + n, "Accounts") for n in range(5)] + [_content(900)]
            answers = await asyncio.gather(*(accept_exact_event(process, content) for content in contents))
            assert [answer.status for answer in answers] == ["accepted"] * 5 + ["duplicate"]
            assert await redis.ping()  # the shared pool answers its own calls after the packed one
            generation = Keys.of(settings).for_link("default").generation("echo", _guid(900))
            assert await redis.get(generation) == b"1"
    finally:
        await redis.aclose()
        await admin.aclose()


async def test_a_batch_planned_from_a_snapshot_that_went_stale_is_planned_again_event_by_event(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient
) -> None:
    """Flows disabled by another process between two batches: the next batch's guard fails, and each of its events
    is planned again from what the script found (some now ignored, the others with fewer runs)."""
    process = Process(engine_settings, redis, FLOWS3, http=http)
    keys = Keys.of(engine_settings).for_link("default")
    assert (await accept_exact_event(process, _content(900))).status == "accepted"

    async def batch(*contents: dict[str, Any]) -> list[tuple[str, Any]]:
        answers = await asyncio.gather(*(accept_exact_event(process, content) for content in contents))
        return [(answer.status, answer.links.get("default") or answer.reason) for answer in answers]

    await redis.set(keys.flow_config("echo2"), json.dumps({"enabled": False}))
    got = await batch(_content(20), _content(21, "Accounts"), _content(22, "GLAccounts"), _content(20))
    assert got == [
        ("accepted", ["echo", "echo3"]),
        ("accepted", ["echo"]),
        ("accepted", ["echo"]),
        ("duplicate", None),
    ]
    await redis.set(keys.flow_config("echo"), json.dumps({"enabled": False}))
    got = await batch(_content(23, "GLAccounts"), _content(24), _content(25, "Accounts"), _content(24))
    assert got == [
        ("ignored", "no enabled flow uses topic GLAccounts"),
        ("accepted", ["echo3"]),
        ("ignored", "no enabled flow uses topic Accounts"),
        ("duplicate", None),
    ]
    queued = {member.decode() for member in await redis.zrange(engine_settings.redis.queue_name, 0, -1)}
    assert queued - {keys.record_job(flow, _guid(900)) for flow in RUNS["Items"]} == {
        keys.record_job("echo", _guid(20)),
        keys.record_job("echo3", _guid(20)),
        keys.record_job("echo", _guid(21)),
        keys.record_job("echo", _guid(22)),
        keys.record_job("echo3", _guid(24)),
    }
