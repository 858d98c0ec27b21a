"""`ledgerbridge doctor` against the simulated world: all green as set up, and each fault the simulators (or the
surroundings) can produce turns its own line red with the fix.

The world: both simulators on the wall clock (the doctor compares clocks), our API over ASGI answering the
public webhook URL, a real arq worker (heartbeat, webhook subscriptions), and a redis-server of the test's own
with AOF on, as production runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis as sync_redis

from app.devredis import start_local_redis
from app.doctor import DoctorContext, Link, Report, render_text, run_doctor
from app.main import connect_redis, create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from app.subscriptions import webhook_topics
from app.worker import build_worker
from flows.registry import load_flows
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.state import Fault
from sandbox.exact import ExactSimConfig
from tests.harness import EXACT_HOST, World, make_world

DIVISION = 1234567
API_HOST = "ledgerbridge.test"
EXACT_SCOPES = frozenset(
    {
        "Crm accounts",
        "Logistics items",
        "Logistics inventory",
        "Sales orders",
        "Sales invoices",
        "Financial accounting",
        "Financial VAT",
        "Financial cashflow",
        "Financial generalledgers",
        "Organization administration",
    }
)


@pytest.fixture
def aof_redis() -> Iterator[str]:
    """A redis-server of this test's own, persisting with AOF (in its throw-away directory)."""
    local = start_local_redis()
    client = sync_redis.Redis.from_url(local.url)
    client.config_set("appendonly", "yes")
    client.close()
    yield local.url
    local.stop()


@pytest.fixture
def doctor_settings(aof_redis: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        demo=True,
        redis={"url": aof_redis, "key_prefix": "lbdoc", "queue_name": "lbdoc:queue"},
        exact={"division": DIVISION, "redirect_uri": f"https://{API_HOST}/oauth/exact/callback"},
        worker={"heartbeat_seconds": 0.2, "heartbeat_max_age_seconds": 5},
    )


@dataclass
class Doctor:
    world: World
    api: httpx.AsyncClient
    ctx: DoctorContext

    async def run(self) -> Report:
        self.ctx.memo.clear()
        return await run_doctor(self.ctx)

    async def sim(self, host: str, path: str, body: Any = None) -> httpx.Response:
        return await self.world.http.post(f"https://{host}{path}" if "." in host else f"http://{host}{path}", json=body)


class Unreachable(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)


def line(report: Report, name: str) -> Any:
    (found,) = [check for check in report.checks if check.name == name]
    return found


def statuses(report: Report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


@asynccontextmanager
async def doctor_world(
    settings: Settings,
    *,
    exact_config: ExactSimConfig | None = None,
    ea_config: EAccountingSimConfig | None = None,
    worker: bool = True,
) -> AsyncIterator[Doctor]:
    redis = connect_redis(settings)
    exact_config = exact_config or ExactSimConfig(minutely_limit=100_000, daily_limit=1_000_000)
    ea_config = ea_config or EAccountingSimConfig(rate_limit_per_minute=None)
    try:
        async with make_world(settings, redis, exact_config=exact_config, ea_config=ea_config) as world:
            flows = load_flows()
            app = create_app(world.settings, configure_logs=False, flow_definitions=flows, http=world.http)
            async with app.router.lifespan_context(app) as state:

                async def asgi(scope: Any, receive: Any, send: Any) -> None:
                    await app({**scope, "state": dict(state or {})}, receive, send)

                transport = httpx.ASGITransport(app=asgi)
                world.router.routes[API_HOST] = transport  # our public URL, as Exact (and the doctor) reach it
                async with httpx.AsyncClient(transport=transport, base_url=f"https://{API_HOST}") as api:

                    async def deliver(url: str, body: bytes, headers: Any) -> int:
                        return (await api.post(url, content=body, headers=dict(headers))).status_code

                    world.exact_sim.deliver = deliver
                    running = None
                    if worker:
                        running = build_worker(
                            world.settings,
                            configure_logs=False,
                            flows=flows,
                            http=world.http,
                            cron=False,
                            handle_signals=False,
                        )
                        task = asyncio.create_task(running.async_run())
                        await _subscribed(world, len(webhook_topics(flows)))
                    ctx = DoctorContext(
                        settings=world.settings,
                        redis=world.redis,
                        flows=flows,
                        configs=world.engine.configs,
                        http=world.http,
                        links=[
                            Link("default", world.exact, world.ea, division_configured=world.settings.exact.division)
                        ],
                    )
                    try:
                        yield Doctor(world, api, ctx)
                    finally:
                        if running is not None:
                            await running.close()
                            task.cancel()
    finally:
        await redis.aclose()


async def _subscribed(world: World, topics: int) -> None:
    """Wait until the worker's start-up subscribed every topic (the Exact simulator validated each callback)."""
    store = world.exact_sim.division().store("WebhookSubscriptions")
    for _ in range(200):
        if len(store.records) >= topics and await world.redis.exists("lbdoc:worker:heartbeat"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not subscribe the webhooks")


async def test_the_world_as_set_up_is_all_green(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        report = await doctor.run()
    print(render_text(report))  # noqa: T201 - the report, for whoever reads the test output
    assert {c.name: (c.status, c.message) for c in report.checks if c.status != "ok"} == {}
    assert report.status == "ok"
    assert [c.scope for c in report.checks].count("installation") == 3
    assert line(report, "Exact division").message == f"division {DIVISION} “Demo BV” (EXACT__DIVISION)"
    assert line(report, "eAccounting company").message.startswith(
        "“Koffiebranderij De Gouden Boon B.V.” (NL, EUR): API access works"
    )
    assert line(report, "Redis persistence").message.startswith("AOF is on")
    assert "calls left today" in line(report, "Exact rate budget").message
    assert "Demo User" in line(report, "Exact connection").message
    assert "events go to https://ledgerbridge.test/webhooks/exact" in line(report, "Exact webhooks registered").message


async def test_the_route_answers_the_report_to_admins_only(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        assert (await doctor.api.get("/health/doctor")).status_code == 401
        response = await doctor.api.get("/health/doctor", headers={"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok", [c for c in body["checks"] if c["status"] != "ok"]
    assert {"name", "scope", "status", "message", "fix"} <= set(body["checks"][0])
    assert {c["scope"] for c in body["checks"]} == {
        "installation",
        "connection exact/default",
        "connection eaccounting/default",
        "link default",
    }


async def test_a_revoked_exact_consent_turns_the_connection_red(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        assert (await doctor.sim(EXACT_HOST, "/_sim/revoke")).json()["revoked"] >= 2
        report = await doctor.run()
    exact = line(report, "Exact connection")
    assert exact.status == "fail"
    assert "refused our access token (401" in exact.message
    assert "Connect Exact again" in exact.fix
    assert line(report, "Exact division").status == "warn"  # not checked: the connection comes first
    assert line(report, "eAccounting connection").status == "ok"
    assert report.status == "fail"


async def test_a_revoked_eaccounting_consent_turns_the_connection_red(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        doctor.world.ea_sim.oauth.revoke()
        report = await doctor.run()
    ea = line(report, "eAccounting connection")
    assert ea.status == "fail"
    assert "refused our refresh token" in ea.message
    assert "Connect eAccounting again" in ea.fix
    assert line(report, "Exact connection").status == "ok"


async def test_a_company_without_the_api_module_is_named_with_the_fix(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        doctor.world.ea_sim.add_fault(
            Fault(
                status=403,
                path="/v2/",
                times=None,
                error_code=4002,
                message="ForbiddenRequestException - No access to module: api_standard",
            )
        )
        report = await doctor.run()
    company = line(report, "eAccounting company")
    assert company.status == "fail"
    assert "No access to module: api_standard" in company.message
    assert "API access" in company.fix and "right company" in company.fix
    assert line(report, "eAccounting connection").status == "ok"  # the token itself is fine


async def test_the_stock_module_is_red_while_the_stock_flow_writes_stock(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        doctor.world.ea_sim.company["ActivatedModules"] = ["api_standard", "order_standard", "stock"]
        report = await doctor.run()
        stock = line(report, "eAccounting stock module")
        assert stock.status == "fail"
        assert "StockBalance read-only" in stock.message
        assert "stock flow off" in stock.fix
        await doctor.world.engine.configs.put("stock", {"enabled": False})
        doctor.ctx._enabled = None
        assert line(await doctor.run(), "eAccounting stock module").status == "ok"


async def test_an_unreachable_webhook_url_is_red_with_the_fix(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        doctor.world.router.routes[API_HOST] = Unreachable()
        report = await doctor.run()
    reachable = line(report, "Exact webhooks reachable")
    assert reachable.status == "fail"
    assert "ConnectError" in reachable.message
    assert "reverse proxy" in reachable.fix
    assert line(report, "Exact webhooks registered").status == "ok"


async def test_missing_webhook_subscriptions_are_named(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        for subscription in await doctor.world.exact.webhook_subscriptions():
            if subscription.topic == "Items":
                await doctor.world.exact.unsubscribe(subscription.id)
        report = await doctor.run()
    registered = line(report, "Exact webhooks registered")
    assert registered.status == "fail"
    assert "no Items events" in registered.message
    assert "POST /connections/exact/webhooks" in registered.fix


async def test_redis_without_aof_is_red_with_the_fix(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        await doctor.world.redis.config_set("appendonly", "no")
        report = await doctor.run()
    persistence = line(report, "Redis persistence")
    assert persistence.status == "fail"
    assert "AOF is off" in persistence.message and "OAuth tokens" in persistence.message
    assert "--appendonly yes" in persistence.fix
    assert [c.name for c in report.needs_action] == ["Redis persistence"]


async def test_no_worker_is_red(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings, worker=False) as doctor:
        report = await doctor.run()
    worker = line(report, "worker")
    assert worker.status == "fail"
    assert "no worker heartbeat" in worker.message
    assert "ledgerbridge worker" in worker.fix


async def test_clock_skew_against_each_api(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        doctor.world.exact_sim.clock.advance(300)
        doctor.world.ea_sim.advance_clock(30)
        report = await doctor.run()
    exact, ea = line(report, "Exact clock"), line(report, "eAccounting clock")
    assert (exact.status, ea.status) == ("fail", "warn")
    assert "behind Exact's" in exact.message and "NTP" in exact.fix
    assert "behind eAccounting's" in ea.message


async def test_a_missing_exact_scope_is_named(doctor_settings: Settings) -> None:
    granted = EXACT_SCOPES - {"Logistics inventory"}
    config = ExactSimConfig(minutely_limit=100_000, daily_limit=1_000_000, granted_scopes=granted)
    async with doctor_world(doctor_settings, exact_config=config) as doctor:
        report = await doctor.run()
    scopes = line(report, "Exact API scopes")
    assert scopes.status == "fail"
    assert "refuses the API scope Logistics inventory" in scopes.message
    assert "App Center" in scopes.fix


async def test_an_unpinned_division_is_a_warning_and_an_unknown_one_red(doctor_settings: Settings) -> None:
    unpinned = doctor_settings.model_copy(update={"exact": doctor_settings.exact.model_copy(update={"division": None})})
    async with doctor_world(unpinned) as doctor:
        division = line(await doctor.run(), "Exact division")
    assert division.status == "warn"
    assert "taken from current/Me" in division.message and f"EXACT__DIVISION={DIVISION}" in division.fix
    wrong = doctor_settings.model_copy(update={"exact": doctor_settings.exact.model_copy(update={"division": 7})})
    async with doctor_world(wrong, worker=False) as doctor:
        division = line(await doctor.run(), "Exact division")
    assert division.status == "fail"
    assert "may not open division 7" in division.message


async def test_the_scope_probes_leave_a_tight_minute_to_the_flows(doctor_settings: Settings) -> None:
    # The simulator's clock stands at the start of this minute (it moves only when a connector sleeps): on the wall
    # clock the doctor's probes could straddle a minute boundary, and the new minute's budget would let it check.
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    config = ExactSimConfig(start_time=minute, minutely_limit=15, daily_limit=1_000_000)
    async with doctor_world(doctor_settings, exact_config=config) as doctor:
        report = await doctor.run()
    scopes = line(report, "Exact API scopes")
    assert scopes.status == "warn"
    assert "not checked now" in scopes.message and "of 15 Exact calls are left this minute" in scopes.message
    assert scopes.fix == "Run the doctor again in a minute."
    assert line(report, "Exact division").status == "ok"


async def test_a_spent_day_budget_is_red(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        await doctor.sim(EXACT_HOST, "/_sim/rate-limit/exhaust", {"daily": True})
        report = await doctor.run()
    budget = line(report, "Exact rate budget")
    assert budget.status == "fail"
    assert "0 of 1,000,000 calls left today" in budget.message
    assert "WORKER__POLL_INTERVAL_SECONDS" in budget.fix


async def test_never_connected_systems_are_red_and_the_rest_is_not_checked(doctor_settings: Settings) -> None:
    async with doctor_world(doctor_settings) as doctor:
        for system in ("exact", "eaccounting"):
            await doctor.world.redis.delete(doctor.ctx.keys.token(system))
        report = await doctor.run()
    assert line(report, "Exact connection").message == "Exact is not connected"
    assert line(report, "eAccounting connection").message == "eAccounting is not connected"
    for name in ("Exact API scopes", "Exact clock", "Exact division", "eAccounting company", "eAccounting clock"):
        assert line(report, name).status == "warn", name
        assert line(report, name).message.startswith("not checked"), name
