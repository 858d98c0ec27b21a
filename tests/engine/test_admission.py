"""Admission: a link's polls keep at most ENGINE__MAX_QUEUED_PER_FLOW record jobs of a flow queued; a bigger
back-fill stays in the source (the cursor stops before the page) and later polls read on as the queue drains."""

from __future__ import annotations

from typing import Any

import httpx

from app.scope import Process
from app.settings import Settings
from tests.engine.conftest import Drain, EchoKey
from tests.engine.flowkit import FLOWS


async def test_a_backfill_is_admitted_up_to_the_cap_and_read_on_later(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient, drain: Drain, k: EchoKey
) -> None:
    capped = engine_settings.model_copy(
        update={"engine": engine_settings.engine.model_copy(update={"max_queued_per_flow": 10})}
    )
    for i in range(25):
        await redis.hset(k(f"src:r{i:02d}"), mapping={"value": str(i)})
    process = Process(capped, redis, FLOWS, http=http)
    engine = await process.engine_of("default")
    assert engine is not None

    first = await engine.poll_flow("echo")
    assert first == 10  # pages of two, admitted until ten are queued
    assert await redis.get(engine.keys.cursor("echo")) == b"10"
    assert await engine.poll_flow("echo") == 0  # nothing admitted while the queue is full; the cursor stays
    assert await redis.get(engine.keys.cursor("echo")) == b"10"

    await drain(flows=FLOWS)  # the queued ten run and leave the admission set
    assert await redis.scard(engine.keys.queued("echo")) == 0
    assert await engine.poll_flow("echo") == 10
    await drain(flows=FLOWS)
    assert await engine.poll_flow("echo") == 5
    await drain(flows=FLOWS)
    assert await redis.get(engine.keys.cursor("echo")) == b"25"
    assert int(await redis.get(k("writes"))) == 25


async def test_jobs_that_vanished_do_not_hold_admission_for_ever(
    engine_settings: Settings, redis: Any, http: httpx.AsyncClient, k: EchoKey
) -> None:
    capped = engine_settings.model_copy(
        update={"engine": engine_settings.engine.model_copy(update={"max_queued_per_flow": 10})}
    )
    for i in range(12):
        await redis.hset(k(f"src:r{i:02d}"), mapping={"value": str(i)})
    process = Process(capped, redis, FLOWS, http=http)
    engine = await process.engine_of("default")
    assert engine is not None
    assert await engine.poll_flow("echo") == 10
    await redis.delete(capped.redis.queue_name)  # the queue lost (an operator emptied it)
    for job in await redis.keys(process.keys.arq_job("*")):
        await redis.delete(job)
    await redis.delete(engine.keys.last_poll("echo"))
    assert await engine.poll_flow("echo") == 2
