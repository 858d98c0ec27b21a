"""The stock flow end to end: both simulators in-process, the real connectors, real Redis (database 6)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis

from app.settings import Settings
from tests.harness import World, make_world

# Our own database number: other suites flush theirs between tests while we run in parallel.
STOCK_DB = int(os.environ.get("TEST_STOCK_REDIS_DB", "6"))


@pytest.fixture
def redis_url(redis_server: str) -> str:
    return f"{redis_server}/{STOCK_DB}"


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[World]:
    async with make_world(settings, redis) as w:
        yield w
