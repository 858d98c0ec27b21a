"""A fresh installation: both simulators (their clocks on the wall clock, as the demo's), nothing connected or
configured; the engine and the services as the API builds them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from arq.connections import ArqRedis

from app.engine import Engine
from app.scope import Process
from app.services import connections
from app.settings import Settings
from flows.registry import load_flows
from sandbox.eaccounting import EAccountingSim, EAccountingSimConfig, create_eaccounting_app
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app
from sandbox.exact.seed import seed_demo
from tests.harness import EA_HOST, EXACT_HOST, Router, world_settings

OTHER_DIVISION = 7654321


@dataclass
class Fresh:
    settings: Settings
    redis: ArqRedis
    http: httpx.AsyncClient
    process: Process
    exact_sim: ExactSim
    ea_sim: EAccountingSim

    async def engine(self, link: str = "default") -> Engine:
        engine = await self.process.engine_of(link)
        assert engine is not None
        return engine

    async def consent(self, system: connections.System) -> None:
        """What a person's browser does: our authorize URL -> the provider's consent -> our callback."""
        url = await connections.start_authorization(await self.engine(), system)
        back = httpx.URL((await self.http.get(url)).headers["location"])
        await connections.finish_authorization(
            self.process, system, code=back.params["code"], state=back.params["state"]
        )


@pytest.fixture
async def fresh(settings: Settings, redis: ArqRedis) -> AsyncIterator[Fresh]:
    exact_app = create_exact_app(
        ExactSimConfig(minutely_limit=100_000, daily_limit=1_000_000, other_divisions=(OTHER_DIVISION,))
    )
    seed_demo(exact_app.state.sim, division=OTHER_DIVISION)
    ea_app = create_eaccounting_app(EAccountingSimConfig(rate_limit_per_minute=None))
    router = Router({EXACT_HOST: httpx.ASGITransport(app=exact_app), EA_HOST: httpx.ASGITransport(app=ea_app)})
    cfg = world_settings(settings)
    cfg = cfg.model_copy(update={"exact": cfg.exact.model_copy(update={"division": None})})
    async with httpx.AsyncClient(transport=router) as http:
        process = Process(cfg, redis, load_flows(), http=http)
        await process.ready()
        yield Fresh(cfg, redis, http, process, exact_app.state.sim, ea_app.state.sim)
        await process.aclose()
