"""The orders flow in the shared test world (tests/harness.py): both simulators, the real connectors, real Redis.

Call counts are read from the simulators' own counters, never from our code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from arq.connections import ArqRedis

from app.settings import Settings
from flows.base import FlowContext, Outcome
from flows.orders import ORDERS
from sandbox.eaccounting import EAccountingSim
from sandbox.exact import ExactSim
from tests.harness import World as BaseWorld
from tests.harness import ea_calls, exact_calls, make_world
from tests.redisdb import own_database

__all__ = ["World", "ea_calls", "exact_calls"]

redis_url = own_database("TEST_ORDERS_REDIS_DB", 10)


@dataclass
class World:
    """The shared world, with contexts of the orders flow."""

    base: BaseWorld

    @property
    def exact_sim(self) -> ExactSim:
        return self.base.exact_sim

    @property
    def ea_sim(self) -> EAccountingSim:
        return self.base.ea_sim

    def ctx(self, **options: Any) -> FlowContext:
        return self.base.ctx(ORDERS, options=options)

    async def run(self, ctx: FlowContext, order_id: str) -> Outcome:
        source = await ORDERS.fetch(ctx, order_id)
        assert source is not None
        return await ORDERS.handle(ctx, source)


@pytest.fixture
async def world(settings: Settings, redis: ArqRedis) -> AsyncIterator[World]:
    async with make_world(settings, redis) as base:
        yield World(base)


@pytest.fixture
def make_order(world: World) -> Callable[..., str]:
    def make(customer: str, rows: list[tuple[str, int]], **kwargs: Any) -> str:
        return str(world.ea_sim.create_order(customer, rows, **kwargs)["Id"])

    return make
