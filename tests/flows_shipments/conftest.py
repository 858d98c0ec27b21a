"""The shared test world (both simulators, real connectors, a real engine) on the shipments suite's own Redis DB."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis

from app.settings import Settings
from tests.harness import World, make_world

# Our own database number: other suites flush theirs between tests while we run in parallel.
SHIPMENTS_DB = int(os.environ.get("TEST_SHIPMENTS_REDIS_DB", "4"))


@pytest.fixture
def redis_url(redis_server: str) -> str:
    return f"{redis_server}/{SHIPMENTS_DB}"


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[World]:
    async with make_world(settings, redis) as built:
        yield built
