"""Shared fixtures: a real Redis for every test (the running one, else a redis-server started for the session).

A shared Redis is safe: nothing here flushes a database. Each test run has its own key prefix (`RUN_PREFIX`, every
key the service writes is under it, arq's included), and each test deletes the keys under it before and after.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from app.devredis import LocalRedis, redis_answers, start_local_redis
from app.redis import connect_redis
from app.settings import DEMO_ADMIN_TOKEN, Settings
from connectors.keys import DEFAULT_LINK, Keys
from tests.chaos.procs import RedisProcess
from tests.contract.wirelog import install as install_wire_log
from tests.redisdb import RUN_PREFIX


def pytest_configure(config: pytest.Config) -> None:
    """Every request our connectors send to a simulator is kept for the wire contract tests (tests/contract/)."""
    install_wire_log(config)


# The database number tests use unless a suite picks its own (tests/redisdb.py).
TEST_DB = int(os.environ.get("TEST_REDIS_DB", "13"))


async def delete_prefix(redis: Any, prefix: str) -> int:
    """Delete every key under `prefix` (and nothing else)."""
    removed = 0
    batch: list[Any] = []
    async for key in redis.scan_iter(match=Keys(prefix).everything, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            removed += int(await redis.delete(*batch))
            batch = []
    if batch:
        removed += int(await redis.delete(*batch))
    return removed


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """Base URL (no database) of a Redis that answers: $REDIS_URL / 127.0.0.1:6379, else one we start."""
    candidate = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    base = candidate.rsplit("/", 1)[0] if candidate.count("/") > 2 else candidate
    local: LocalRedis | None = None
    if not redis_answers(f"{base}/{TEST_DB}"):
        local = start_local_redis()
        base = local.url.rsplit("/", 1)[0]
    yield base
    if local is not None:
        local.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    return f"{redis_server}/{TEST_DB}"


@pytest.fixture
def settings(redis_url: str) -> Settings:
    """Demo-mode settings on the test database and this run's prefix, independent of the developer's .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        demo=True,
        redis={"url": redis_url, "key_prefix": RUN_PREFIX},
        worker={"heartbeat_seconds": 0.2, "heartbeat_max_age_seconds": 5},
    )


@pytest.fixture
def keys(settings: Settings) -> Keys:
    """The keys of link `default` in this run's installation."""
    return Keys.of(settings).for_link(DEFAULT_LINK)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    client = connect_redis(settings)
    await delete_prefix(client, settings.redis.key_prefix)
    yield client
    await delete_prefix(client, settings.redis.key_prefix)
    await client.aclose()


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[Any]:
    """The shared test world of tests/harness.py: both simulators, both real connectors, a real engine."""
    from tests.harness import make_world

    async with make_world(settings, redis) as built:
        yield built


@pytest.fixture
async def api(settings: Settings, redis: ArqRedis) -> AsyncIterator[httpx.AsyncClient]:
    """The whole API (every shipped flow) with its lifespan, over httpx's ASGI transport, signed in as the demo
    admin. tests/engine overrides it with an API of the engine's test flows."""
    from app.main import create_app
    from tests.engine.conftest import running_api

    async with running_api(create_app(settings, configure_logs=False)) as client:
        client.headers["Authorization"] = f"Bearer {DEMO_ADMIN_TOKEN}"
        yield client


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    """A redis-server of the test's own (AOF on), for tests that kill it or close every client connection: what no
    shared server may see."""
    server = RedisProcess()
    server.start()
    yield server
    server.stop()
