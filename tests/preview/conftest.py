"""Previews of every flow in the shared test world (tests/harness.py): both simulators, real connectors, real Redis."""

from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis

from app.settings import Settings
from tests.harness import World, make_world
from tests.redisdb import own_database

redis_url = own_database("TEST_PREVIEW_REDIS_DB", 12)


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[World]:
    async with make_world(settings, redis) as base:
        yield base
