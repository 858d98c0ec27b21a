"""Both simulators in-process, the real connectors over httpx's ASGI transport, and flow contexts and engines.

Flow suites build a `World` (fixture `world` in their conftest, see `make_world`) and run a flow two ways:
Also here: `poll_and_handle` (a poll without arq), `drain` (real arq burst workers running `world.engine`) and
`webhook_bridge` (the Exact simulator delivering its webhooks to our real `POST /webhooks/exact`).

`world.run(definition, record_id)` calls the flow's `fetch` and `handle` directly (what a job does, without the
engine around it); `await world.engine.run_record(flow, record_id, trigger)` goes through the real engine
(stored flow config, activity log, dead letters), without arq. Both share one per-process cache, as jobs of one
worker do. API-call counts are read from the simulators' own counters, never from our code.

The connectors' clocks are the simulators' clocks and their `sleep` advances them, so token expiry and rate-limit
windows are crossed without real waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker, func

from app.engine import JOB_RUN_RECORD, Engine
from app.flowconfig import resolve
from app.main import connect_redis, create_app
from app.scope import Process, Timing
from app.settings import Settings
from connectors.eaccounting import EAccountingClient
from connectors.exact import ExactClient
from connectors.keys import DEFAULT_LINK
from flows.base import FlowContext, FlowDefinition, Outcome
from flows.registry import load_flows
from sandbox.eaccounting import EAccountingSim, EAccountingSimConfig, create_eaccounting_app
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EXACT_HOST = "start.exactonline.nl"
EA_HOST = "eaccounting.test"


def exact_calls(sim: ExactSim) -> int:
    """REST API calls Exact counted (token-endpoint calls are not part of the rate limit)."""
    by_endpoint: dict[str, int] = sim.counters()["by_endpoint"]
    return sum(n for route, n in by_endpoint.items() if "oauth2/" not in route)


def exact_calls_by_endpoint(sim: ExactSim) -> dict[str, int]:
    by_endpoint: dict[str, int] = sim.counters()["by_endpoint"]
    return {route: n for route, n in by_endpoint.items() if "oauth2/" not in route}


def ea_calls(sim: EAccountingSim) -> int:
    calls: dict[str, int] = sim.counters()["calls"]
    return sum(n for route, n in calls.items() if "/v2/" in route)


def ea_calls_by_endpoint(sim: EAccountingSim) -> dict[str, int]:
    calls: dict[str, int] = sim.counters()["calls"]
    return {route: n for route, n in calls.items() if "/v2/" in route}


class Router(httpx.AsyncBaseTransport):
    """Sends each request to the simulator its host names; anything else is a test bug."""

    def __init__(self, routes: Mapping[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = dict(routes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.routes.get(request.url.host)
        if transport is None:
            raise AssertionError(f"request to an unknown host: {request.url}")
        return await transport.handle_async_request(request)


CALLBACK = "https://ledgerbridge.test/webhooks/exact"


def fast_settings(settings: Settings) -> Settings:
    """`settings` with the engine retrying in milliseconds and coalescing briefly (tests wait for nothing)."""
    engine = settings.engine.model_copy(
        update={
            "backoff_seconds": 0.01,
            "max_tries": 3,
            "lock_seconds": 30,
            "run_timeout_seconds": 20,
            "coalesce_seconds": 0.05,
        }
    )
    return settings.model_copy(update={"engine": engine})


def world_settings(settings: Settings) -> Settings:
    """`settings` with every base URL on the in-process simulators (and fast engine retries)."""
    exact = settings.exact.model_copy(
        update={
            "api_base_url": f"https://{EXACT_HOST}",
            "auth_base_url": f"https://{EXACT_HOST}",
            "public_webhook_url": CALLBACK,
        }
    )
    ea = settings.eaccounting.model_copy(
        update={"api_base_url": f"http://{EA_HOST}/v2/", "identity_base_url": f"http://{EA_HOST}"}
    )
    return fast_settings(settings).model_copy(update={"exact": exact, "eaccounting": ea})


@dataclass
class World:
    exact_sim: ExactSim
    ea_sim: EAccountingSim
    exact: ExactClient
    ea: EAccountingClient
    settings: Settings
    redis: ArqRedis
    http: httpx.AsyncClient
    engine: Engine  # the engine of link `default`
    router: Router  # the transport per simulator host (a test may wrap one to hold or watch requests)
    process: Process

    def ctx(
        self,
        definition: FlowDefinition,
        *,
        options: Mapping[str, Any] | None = None,
        mapping: str | None = None,
        mapping_overrides: Mapping[str, Any] | None = None,
        trigger: str = "manual",
    ) -> FlowContext:
        """The FlowContext the engine builds, from a config validated like `PUT /flows/{flow}/config`."""
        raw: dict[str, Any] = {"options": dict(options or {}), "mapping_overrides": dict(mapping_overrides or {})}
        if mapping is not None:
            raw["mapping"] = mapping
        return self.engine.context(definition, resolve(definition, raw), trigger)

    async def run(self, definition: FlowDefinition, record_id: str, **ctx_kwargs: Any) -> Outcome:
        """Fetch and handle one record (what a job does), without the engine around it."""
        ctx = self.ctx(definition, **ctx_kwargs)
        source = await definition.fetch(ctx, record_id)
        assert source is not None, f"{definition.name}: source record {record_id} not found"
        return await definition.handle(ctx, source)

    async def configure(self, definition: FlowDefinition, **config: Any) -> None:
        """Store a flow config the way `PUT /flows/{flow}/config` does (for runs through `self.engine`)."""
        await self.engine.configs.put(definition.name, config)

    def exact_calls(self) -> int:
        return exact_calls(self.exact_sim)

    def ea_calls(self) -> int:
        return ea_calls(self.ea_sim)

    def reset_counters(self) -> None:
        self.exact_sim.reset_counters()
        self.ea_sim.reset_counters()


@asynccontextmanager
async def make_world(
    settings: Settings,
    redis: ArqRedis,
    *,
    exact_config: ExactSimConfig | None = None,
    ea_config: EAccountingSimConfig | None = None,
) -> AsyncIterator[World]:
    """Both simulators (rate limits raised unless configs are given), both connectors connected via OAuth."""
    exact_app = create_exact_app(
        exact_config or ExactSimConfig(start_time=START, minutely_limit=100_000, daily_limit=1_000_000)
    )
    ea_app = create_eaccounting_app(ea_config or EAccountingSimConfig(start_time=START, rate_limit_per_minute=None))
    router = Router({EXACT_HOST: httpx.ASGITransport(app=exact_app), EA_HOST: httpx.ASGITransport(app=ea_app)})
    async with httpx.AsyncClient(transport=router) as http:
        exact_sim: ExactSim = exact_app.state.sim
        ea_sim: EAccountingSim = ea_app.state.sim
        cfg = world_settings(settings)

        def exact_clock() -> float:
            return exact_sim.clock.timestamp()

        async def exact_sleep(seconds: float) -> None:
            exact_sim.clock.advance(seconds)

        def ea_clock() -> float:
            return ea_sim.now().timestamp()

        async def ea_sleep(seconds: float) -> None:
            ea_sim.advance_clock(seconds)

        # The simulators' clocks stand still unless a connector sleeps, so waits for a rate budget are slept (which
        # advances them) rather than deferred: a deferred run would wait for a reset that never comes.
        timing = Timing(
            exact_clock=exact_clock,
            exact_sleep=exact_sleep,
            eaccounting_clock=ea_clock,
            eaccounting_sleep=ea_sleep,
            max_wait=90.0,
        )
        process = Process(cfg, redis, load_flows(), http=http, timing=timing)
        await process.ready()
        engine = process.engine(process.default_link())
        exact, ea = engine.exact, engine.eaccounting
        for client in (exact, ea):
            consent = await http.get(client.authorize_url("state"))
            await client.exchange_code(httpx.URL(consent.headers["location"]).params["code"])
        world = World(exact_sim, ea_sim, exact, ea, cfg, redis, http, engine, router, process)
        world.reset_counters()
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
    process = world.process

    async def run_record(
        ctx: dict[str, Any], flow: str, record_id: str, trigger: str, replay_of: Any = None, link: str = DEFAULT_LINK
    ) -> str:
        engine = await process.engine_of(link)
        assert engine is not None, link
        return await engine.run_record(flow, record_id, trigger, job_id=ctx.get("job_id"), replay_of=replay_of)

    queue = world.settings.redis.queue_name
    for _ in range(100):
        pool = [
            Worker(
                functions=[func(run_record, name=JOB_RUN_RECORD, max_tries=10_000, keep_result=0)],
                redis_pool=connect_redis(world.settings),
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


@asynccontextmanager
async def offline_engine(settings: Settings, redis: ArqRedis) -> AsyncIterator[tuple[Engine, list[httpx.Request]]]:
    """The default link's engine with an HTTP client that reaches nobody: each request it would send is kept (and
    answered 599), so a test can show a step refused its input before asking Exact or eAccounting."""
    asked: list[httpx.Request] = []

    def nobody(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(599)

    async with httpx.AsyncClient(transport=httpx.MockTransport(nobody)) as http:
        process = Process(settings, redis, load_flows(), http=http)
        await process.ready()
        engine = await process.engine_of("default")
        assert engine is not None
        try:
            yield engine, asked
        finally:
            await process.aclose()
