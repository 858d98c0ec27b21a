"""A world of two links in one installation: two Exact divisions reached by one Exact login, two eAccounting
companies behind one eAccounting host (each connected by its own consent), the real connectors and engine.

    link `default`: division 1234567  <->  "Koffie Noord BV" (eAccounting connection `default`)
    link `south`:   division 7654321  <->  "Koffie Zuid BV"  (eAccounting connection `south`)

Both divisions and both companies are seeded with the same demo data (the same SKUs and customer numbers), so a
record that strays into the other administration would find its counterpart there: isolation tests would see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker, func

from app.engine import Engine
from app.jobs import JOB_RUN_RECORD
from app.links import NewLink
from app.main import connect_redis, create_app
from app.scope import Process, Timing
from app.services.links import create_link
from app.settings import Settings
from flows.registry import load_flows
from sandbox.eaccounting import EAccountingSim, EAccountingSimConfig
from sandbox.eaccounting.host import EAccountingHost, create_eaccounting_host
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app
from sandbox.exact.seed import seed_demo
from tests.harness import EA_HOST, EXACT_HOST, START, Router, world_settings

NORTH, SOUTH = "Koffie Noord BV", "Koffie Zuid BV"
DIVISION_NORTH, DIVISION_SOUTH = 1234567, 7654321


@dataclass
class LinksWorld:
    settings: Settings
    redis: ArqRedis
    http: httpx.AsyncClient
    process: Process
    exact_sim: ExactSim
    ea_host: EAccountingHost
    api: httpx.AsyncClient  # our API over ASGI, with the admin token

    def engine(self, link: str) -> Engine:
        engine = self.process._engines.get(link)
        assert engine is not None, link
        return engine

    def ea_sim(self, company: str) -> EAccountingSim:
        return self.ea_host.sim(company)

    def exact_records(self, division: int, entity: str) -> list[dict[str, Any]]:
        return list(self.exact_sim.division(division).store(entity).records.values())


async def _connect(process: Process, ea_host: EAccountingHost, http: httpx.AsyncClient) -> None:
    """The admin's consents: Exact once (one login reaches both divisions), eAccounting once per company."""
    default, south = await process.engine_of("default"), await process.engine_of("south")
    assert default is not None and south is not None
    consents: list[tuple[Any, str | None]] = [
        (default.exact, None),
        (default.eaccounting, NORTH),
        (south.eaccounting, SOUTH),
    ]
    for client, company in consents:
        if company is not None:
            ea_host.select(company)  # what the admin clicks on Visma's company picker
        consent = await http.get(client.authorize_url("state"))
        await client.exchange_code(httpx.URL(consent.headers["location"]).params["code"])


@asynccontextmanager
async def make_links_world(
    settings: Settings,
    redis: ArqRedis,
    *,
    ea_rate_limit: int | None = None,
    exact_limits: tuple[int, int] = (100_000, 1_000_000),
    max_wait: float = 90.0,
    sleeps: list[float] | None = None,
    settings_update: Mapping[str, Any] | None = None,
    extra_hosts: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> AsyncIterator[LinksWorld]:
    """The world; `exact_limits` (minutely, daily) per division; `max_wait` the longest a connector waits for its
    budget in place (the simulators' clocks only move when a connector sleeps); `sleeps` records those waits;
    `settings_update` replaces settings sections; `extra_hosts` serves more hosts (e.g. alert receivers)."""
    minutely, daily = exact_limits
    exact_app = create_exact_app(
        ExactSimConfig(start_time=START, minutely_limit=minutely, daily_limit=daily, other_divisions=(DIVISION_SOUTH,))
    )
    exact_sim: ExactSim = exact_app.state.sim
    seed_demo(exact_sim, division=DIVISION_SOUTH)
    ea_host = create_eaccounting_host(
        EAccountingSimConfig(start_time=START, rate_limit_per_minute=ea_rate_limit), [NORTH, SOUTH]
    )
    router = Router(
        {
            EXACT_HOST: httpx.ASGITransport(app=exact_app),
            EA_HOST: httpx.ASGITransport(app=ea_host),
            **(extra_hosts or {}),
        }
    )
    cfg = world_settings(settings)
    cfg = cfg.model_copy(update={"exact": cfg.exact.model_copy(update={"division": DIVISION_NORTH})})
    if settings_update:
        cfg = cfg.model_copy(update=dict(settings_update))
    ea_clock = ea_host.sims[0]

    async def exact_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        exact_sim.clock.advance(seconds)

    async def ea_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        ea_clock.advance_clock(seconds)

    timing = Timing(
        exact_clock=exact_sim.clock.timestamp,
        exact_sleep=exact_sleep,
        eaccounting_clock=lambda: ea_clock.now().timestamp(),
        eaccounting_sleep=ea_sleep,
        max_wait=max_wait,
    )
    async with httpx.AsyncClient(transport=router) as http:
        process = Process(cfg, redis, load_flows(), http=http, timing=timing)
        await process.ready()
        await create_link(process, NewLink(id="south", title="Zuid", division=DIVISION_SOUTH))
        await _connect(process, ea_host, http)
        app = create_app(cfg, configure_logs=False, http=http)
        async with app.router.lifespan_context(app) as state:

            async def asgi(scope: Any, receive: Any, send: Any) -> None:
                await app({**scope, "state": dict(state or {})}, receive, send)

            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=asgi),
                base_url="https://ledgerbridge.test",
                headers={"Authorization": "Bearer demo-admin-token"},
            ) as api:
                exact_sim.reset_counters()
                yield LinksWorld(cfg, redis, http, process, exact_sim, ea_host, api)
        await process.aclose()


async def run_workers_until(
    world: LinksWorld, done: Callable[[], Awaitable[bool]], *, workers: int = 1, max_jobs: int = 10, guard: float = 60
) -> None:
    """Run arq workers (the world's engines as the jobs) until `done()`; deferred jobs may stay queued. `guard` only
    stops a hung test, it is no speed requirement."""

    async def run_record(
        ctx: dict[str, Any], flow: str, record_id: str, trigger: str, replay_of: Any = None, link: str = "default"
    ) -> str:
        engine = await world.process.engine_of(link)
        assert engine is not None, link
        return await engine.run_record(flow, record_id, trigger, job_id=ctx.get("job_id"), replay_of=replay_of)

    pool = [
        Worker(
            functions=[func(run_record, name=JOB_RUN_RECORD, max_tries=10_000, keep_result=0)],
            redis_pool=connect_redis(world.settings),
            queue_name=world.settings.redis.queue_name,
            poll_delay=0.01,
            keep_result=0,
            handle_signals=False,
            max_jobs=max_jobs,
        )
        for _ in range(workers)
    ]
    tasks = [asyncio.create_task(worker.async_run()) for worker in pool]
    try:
        async with asyncio.timeout(guard):
            while not await done():  # noqa: ASYNC110 - polling Redis state the workers change
                await asyncio.sleep(0.05)
    finally:
        for worker in pool:
            await worker.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
