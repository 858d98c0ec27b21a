"""Every key ledgerbridge or arq writes is under the configured prefix (REDIS__KEY_PREFIX).

Proved on a redis-server this test starts (a database nobody else writes to): two links, orders through real arq
workers, a poll, a webhook, a manual run, the API, a worker with its cron jobs and heartbeat, a job with a kept
result. Then not one key may lie outside the prefix, and deleting the prefix leaves the database empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from arq.connections import ArqRedis

from app.devredis import LocalRedis, start_local_redis
from app.redis import connect_redis
from app.settings import Settings
from app.worker import JOB_PING, build_worker
from tests.conftest import delete_prefix
from tests.harness import CALLBACK, drain
from tests.links.world import DIVISION_SOUTH, NORTH, make_links_world


@pytest.fixture(scope="module")
def own_server() -> Iterator[LocalRedis]:
    server = start_local_redis()
    yield server
    server.stop()


@pytest.fixture
async def private(own_server: LocalRedis, settings: Settings) -> AsyncIterator[tuple[Settings, ArqRedis]]:
    redis = settings.redis.model_copy(update={"url": own_server.url})
    mine = settings.model_copy(update={"redis": redis})
    client = connect_redis(mine)
    await client.flushdb()  # the database of a server this test started
    yield mine, client
    await client.aclose()


async def test_every_key_written_is_under_the_prefix(private: tuple[Settings, ArqRedis]) -> None:
    settings, redis = private
    prefix = settings.redis.key_prefix
    async with make_links_world(settings, redis) as world:
        order = world.ea_sim(NORTH).create_order("1001", [("SKU-0001", 1)], status=2)
        await world.api.put("/flows/orders/config", json={"enabled": True, "options": {"statuses": [2]}})
        await world.api.post("/flows/orders/run", json={"record_id": str(order["Id"])})
        await world.api.post("/links/south/flows/products/run", json={})

        async def deliver(url: str, body: bytes, headers: dict[str, str]) -> int:
            return (await world.api.post("/webhooks/exact", content=body, headers=dict(headers))).status_code

        world.exact_sim.deliver = deliver  # type: ignore[assignment]
        await world.engine("south").exact.subscribe("Items", CALLBACK)
        world.exact_sim.upsert_item("SKU-0002", {"Description": "Changed"}, division=DIVISION_SOUTH)
        await world.exact_sim.flush_webhooks()
        await drain(world, workers=2)  # type: ignore[arg-type]
        for path in ("/links", "/flows", "/logs", "/dead-letters", "/metrics", "/connections", "/links/south/flows"):
            assert (await world.api.get(path)).status_code == 200, path

        # A worker of the service, with its cron jobs, heartbeat and health key, and a job whose result is kept.
        worker = build_worker(world.settings, configure_logs=False, http=world.http, handle_signals=False)
        task = asyncio.create_task(worker.async_run())
        job = await redis.enqueue_job(JOB_PING, "hello", _queue_name=settings.redis.queue_name)
        assert job is not None and await job.result(timeout=20) == "hello"
        task.cancel()  # stopped before it is closed, so no job it cut off writes a key after the cleanup below
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()

    keys = [key.decode() for key in await redis.keys("*")]
    assert len(keys) > 30
    outside = sorted(key for key in keys if not key.startswith(f"{prefix}:"))
    assert outside == []
    assert any(key.startswith(f"{prefix}:arq:result:") for key in keys)  # arq's own keys are ours too
    await delete_prefix(redis, prefix)
    assert await redis.dbsize() == 0, await redis.keys("*")
