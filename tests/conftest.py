"""Shared fixtures: a real Redis for every test (the running one, else a redis-server started for the session)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from arq.connections import ArqRedis

from app.devredis import LocalRedis, redis_answers, start_local_redis
from app.main import connect_redis
from app.settings import Settings
from tests.contract.wirelog import install as install_wire_log


def pytest_configure(config: pytest.Config) -> None:
    """Every request our connectors send to a simulator is kept for the wire contract tests (tests/contract/)."""
    install_wire_log(config)


# Tests use their own database number on a shared server and flush only that database.
TEST_DB = int(os.environ.get("TEST_REDIS_DB", "13"))


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
    """Demo-mode settings on the test database, independent of the developer's .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        demo=True,
        redis={"url": redis_url, "key_prefix": "lbtest", "queue_name": "lbtest:queue"},
        worker={"heartbeat_seconds": 0.2, "heartbeat_max_age_seconds": 5},
    )


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    client = connect_redis(settings)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[Any]:
    """The shared test world of tests/harness.py: both simulators, both real connectors, a real engine."""
    from tests.harness import make_world

    async with make_world(settings, redis) as built:
        yield built
