"""Many links on real processes: both simulators served over HTTP by this process, ledgerbridge worker processes
(tests/links/rig_worker.py) on one Redis, the simulated APIs' time optionally running `scale` times faster.

Used by the scale-out test (two worker processes, no duplicates) and by bench/bench_links.py. The rig connects the
links the way an admin would (one Exact login for every division, one eAccounting consent per company) and leaves
only the orders flow enabled on each link.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from arq.connections import ArqRedis

from app.devredis import free_port
from app.links import NewLink
from app.redis import connect_redis
from app.scope import Process, Timing
from app.services.links import create_link, remove_link
from app.settings import Settings, load_settings
from connectors.keys import DEFAULT_LINK
from flows.registry import load_flows
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.host import EAccountingHost, create_eaccounting_host
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app
from sandbox.exact.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]
FIRST_DIVISION = 3000001
OFF = ("products", "stock", "customers_to_eaccounting", "customers_to_exact", "shipments")


@dataclass
class RigConfig:
    links: int = 2
    scale: float = 1.0  # simulated seconds per real second
    exact_limits: tuple[int, int] = (60, 5000)  # per division: a minute, a day (Exact's documented limits)
    ea_limit: int | None = 600  # per client and endpoint a minute (eAccounting's documented limit)
    poll_seconds: int = 5
    max_jobs: int = 10
    prefix: str = "lbrig"


@dataclass
class Rig:
    config: RigConfig
    redis_url: str
    exact_sim: ExactSim
    ea_host: EAccountingHost
    settings: Settings
    redis: ArqRedis
    process: Process
    t0: float
    links: list[str] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def division(self, link: str) -> int:
        return FIRST_DIVISION + self.links.index(link)

    def company(self, link: str) -> str:
        return f"Company {link}"

    def now(self) -> float:
        """The simulated clock: real time at the start, then `scale` times faster."""
        return self.t0 + (time.time() - self.t0) * self.config.scale

    def environment(self) -> dict[str, str]:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS__", "EXACT__", "EACCOUNTING__"))}
        env.update(
            DEMO="true",
            REDIS__URL=s.redis.url,
            REDIS__KEY_PREFIX=s.redis.key_prefix,
            EXACT__API_BASE_URL=s.exact.api_base_url,
            EXACT__AUTH_BASE_URL=s.exact.auth_base_url,
            EACCOUNTING__API_BASE_URL=s.eaccounting.api_base_url,
            EACCOUNTING__IDENTITY_BASE_URL=s.eaccounting.identity_base_url,
            WORKER__POLL_INTERVAL_SECONDS=str(self.config.poll_seconds),
            WORKER__MAX_JOBS=str(self.config.max_jobs),
            WORKER__HEARTBEAT_SECONDS="1",
            ENGINE__SUBSCRIBE_WEBHOOKS_ON_START="false",
            LOG__LEVEL="WARNING",
            LOG__FORMAT="json",
            RIG_SCALE=str(self.config.scale),
            RIG_T0=repr(self.t0),
            RIG_START=repr(self.t0),
            PYTHONPATH=str(ROOT),
        )
        return env

    def spawn_workers(self, n: int, log_dir: Path | None = None) -> None:
        for i in range(n):
            out = open(log_dir / f"worker{i}.log", "wb") if log_dir else subprocess.DEVNULL  # noqa: SIM115
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.links.rig_worker"],
                    env=self.environment(),
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.workers.clear()


def _scaled(clock: Any, rig_now: Any) -> None:
    """Run a simulator's clock on the rig's (scaled) time."""
    clock.now = lambda: datetime.fromtimestamp(rig_now(), UTC)


def _serve(app: Any, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))


@contextlib.asynccontextmanager
async def running_rig(config: RigConfig, redis_url: str) -> Any:
    """Simulators up, links created, connected and configured; workers are started by the caller."""
    t0 = time.time()
    divisions = tuple(FIRST_DIVISION + i for i in range(config.links))
    minutely, daily = config.exact_limits
    exact_app = create_exact_app(
        ExactSimConfig(
            division=divisions[0],
            other_divisions=divisions[1:],
            minutely_limit=minutely,
            daily_limit=daily,
            token_calls_per_day=None,
        )
    )
    exact_sim: ExactSim = exact_app.state.sim
    for division in divisions[1:]:
        seed_demo(exact_sim, division=division)
    links = [f"l{i + 1:02d}" for i in range(config.links)]
    ea_host = create_eaccounting_host(
        EAccountingSimConfig(rate_limit_per_minute=config.ea_limit), [f"Company {link}" for link in links]
    )

    def rig_now() -> float:
        return t0 + (time.time() - t0) * config.scale

    _scaled(exact_sim.clock, rig_now)
    _scaled(ea_host.sims[0].clock, rig_now)
    exact_port, ea_port = free_port(), free_port()
    exact_url, ea_url = f"http://127.0.0.1:{exact_port}", f"http://127.0.0.1:{ea_port}"
    settings = load_settings(
        demo=True,
        redis={"url": redis_url, "key_prefix": config.prefix},
        exact={"api_base_url": exact_url, "auth_base_url": exact_url},
        eaccounting={"api_base_url": f"{ea_url}/v2/", "identity_base_url": ea_url},
        worker={"poll_interval_seconds": config.poll_seconds},
    )
    servers = [_serve(exact_app, exact_port), _serve(ea_host, ea_port)]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    redis = connect_redis(settings)

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / config.scale)

    timing = Timing(rig_now, sleep, rig_now, sleep, time_scale=config.scale)
    http = httpx.AsyncClient(timeout=30)
    process = Process(settings, redis, load_flows(), http=http, timing=timing)
    rig = Rig(config, redis_url, exact_sim, ea_host, settings, redis, process, t0)
    try:
        while not all(server.started for server in servers):  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.02)
        await process.ready()
        await remove_link(process, DEFAULT_LINK)  # every administration here is a link of its own
        for link in links:
            rig.links.append(link)
            await create_link(process, NewLink(id=link, division=rig.division(link)))
        await _connect(rig, http)
        yield rig
    finally:
        rig.stop_workers()
        await http.aclose()
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()


async def _connect(rig: Rig, http: httpx.AsyncClient) -> None:
    """One Exact consent (the login reaches every division), one eAccounting consent per company; only orders on."""
    first = await rig.process.engine_of(rig.links[0])
    assert first is not None
    consent = await http.get(first.exact.authorize_url("s"))
    await first.exact.exchange_code(httpx.URL(consent.headers["location"]).params["code"])
    for link in rig.links:
        engine = await rig.process.engine_of(link)
        assert engine is not None
        rig.ea_host.select(rig.company(link))
        consent = await http.get(engine.eaccounting.authorize_url("s"))
        await engine.eaccounting.exchange_code(httpx.URL(consent.headers["location"]).params["code"])
        for flow in OFF:
            await engine.configs.put(flow, {"enabled": False})
        await engine.configs.put("orders", {"enabled": True})
