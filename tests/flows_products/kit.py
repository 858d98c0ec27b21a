"""Helpers the products and stock suites share on top of `tests/harness.py`.

* `engine_world`: a harness `World` whose settings retry fast (the engine's backoff in milliseconds).
* `poll_and_handle`: what the engine does for a poll, without arq: run the flow's poller and then `handle` each
  record with the payload its page carried (the engine stashes it, and a poll-triggered job reads it back).
* `drain`: real arq burst workers whose `run_record` job is `world.engine.run_record`, until the queue
  (deferred runs and follow-ups included) is empty.
* `WebhookBridge`: our API (lifespan and all) behind the Exact simulator's webhook delivery, so a change in the
  simulator reaches `POST /webhooks/exact`, is verified and enqueued exactly as in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker, func

from app.engine import JOB_RUN_RECORD
from app.main import create_app, redis_settings
from app.settings import Settings
from flows.base import FlowContext, FlowDefinition, Outcome
from tests.harness import World, make_world

CALLBACK = "https://ledgerbridge.test/webhooks/exact"


def fast_settings(settings: Settings) -> Settings:
    engine = settings.engine.model_copy(update={"backoff_seconds": 0.01, "max_tries": 3, "lock_seconds": 30})
    return settings.model_copy(update={"engine": engine})


@asynccontextmanager
async def engine_world(settings: Settings, redis: ArqRedis, **kwargs: Any) -> AsyncIterator[World]:
    async with make_world(fast_settings(settings), redis, **kwargs) as world:
        yield world


async def poll_and_handle(
    definition: FlowDefinition, ctx: FlowContext, cursor: str | None = None
) -> tuple[dict[str, Outcome], str | None]:
    """Every record the poll yields, handled with its page's payload; returns outcomes by record id and the cursor
    the engine would have stored last."""
    assert definition.poll is not None
    outcomes: dict[str, Outcome] = {}
    stored = cursor
    async for page in definition.poll(ctx, cursor):
        for record_id in page.record_ids:
            source = page.payloads.get(record_id) or await definition.fetch(ctx, record_id)
            assert source is not None
            outcomes[record_id] = await definition.handle(ctx, source)
        if page.cursor is not None:
            stored = page.cursor
    return outcomes, stored


async def drain(world: World, *, workers: int = 1) -> None:
    """Run burst workers (the world's engine as the job) until nothing is queued, deferred jobs included."""
    engine = world.engine

    async def run_record(ctx: dict[str, Any], flow: str, record_id: str, trigger: str, replay_of: Any = None) -> str:
        return await engine.run_record(flow, record_id, trigger, job_id=ctx.get("job_id"), replay_of=replay_of)

    queue = world.settings.redis.queue_name
    for _ in range(100):
        pool = [
            Worker(
                functions=[func(run_record, name=JOB_RUN_RECORD, max_tries=10_000, keep_result=0)],
                redis_settings=redis_settings(world.settings),
                queue_name=queue,
                burst=True,
                poll_delay=0.005,
                keep_result=0,
                handle_signals=False,
                max_jobs=10,
            )
            for _ in range(workers)
        ]
        await asyncio.gather(*(worker.async_run() for worker in pool))
        for worker in pool:
            await worker.close()
        if await world.redis.zcard(queue) == 0:
            return
    raise AssertionError("the queue did not drain")


@dataclass
class WebhookBridge:
    """The Exact simulator delivering its webhooks to our API over ASGI."""

    api: httpx.AsyncClient
    statuses: list[int]

    async def subscribe(self, world: World, *topics: str) -> None:
        for topic in topics:
            await world.exact.subscribe(topic, CALLBACK)

    async def flush(self, world: World) -> int:
        """Deliver every queued Exact event; returns how many were delivered."""
        return await world.exact_sim.flush_webhooks()


@asynccontextmanager
async def webhook_bridge(world: World, flows: Mapping[str, FlowDefinition]) -> AsyncIterator[WebhookBridge]:
    app = create_app(world.settings, configure_logs=False, flow_definitions=flows, http=world.http)
    async with app.router.lifespan_context(app) as state:

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="https://ledgerbridge.test"
        ) as api:
            bridge = WebhookBridge(api, [])

            async def deliver(url: str, body: bytes, headers: Mapping[str, str]) -> int:
                assert url == CALLBACK, url
                response = await api.post("/webhooks/exact", content=body, headers=dict(headers))
                bridge.statuses.append(response.status_code)
                return response.status_code

            world.exact_sim.deliver = deliver
            yield bridge
