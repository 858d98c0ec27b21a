"""`ledgerbridge demo`: Redis (started if none answers), both simulators, the API and the worker in one process.

Nothing to configure: the settings point every base URL at the simulators, and two links run side by side (see
DEMO_LINKS): link `default` and link `south`, two Exact divisions reached by one Exact login, two eAccounting
companies behind one eAccounting host, each company connected by its own consent (the demo picks the company on
the simulator's consent page as a user would). Everything is connected through the real OAuth authorization-code
flow (the simulators consent at once), Exact webhooks are subscribed at the API's callback for both divisions (the
Exact simulator accepts http:// callbacks in the demo only), and polling runs every few seconds. A small task
plays the warehouse in the Exact simulator, shipping a few of the transferred orders (one in two parts), so the
shipments flow has deliveries to record. The demo's Redis keys live under their own prefix and are cleared at
start and at stop, because the simulators start afresh each time and old cross-references or tokens would point
at records that no longer exist.

`ledgerbridge demo --fresh` (`make run FRESH=1`) is a new installation instead: the simulators run (two Exact
divisions, one eAccounting company), and nothing is connected or configured: link `default` has no division yet,
for the console's setup wizard (`/console/setup`) or `ledgerbridge setup` to take it from there.

What the terminal shows (`make run`): a line per start-up step, then the banner (URLs, the demo admin token) once
`/health/ready` answers. The logs go to a file (`--log-file`, default `ledgerbridge-demo.log`) so they cannot
bury the banner; with `--log-file -` (`make run LOGS=1`) they go to the terminal and the banner is printed again
when the first sync has settled. A Redis the demo starts itself runs with AOF on, as production should (so
`GET /health/doctor` is green); a Redis that already answered is used as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

import httpx
import structlog
import uvicorn

from app.devredis import LocalRedis, ensure_redis, port_free
from app.logging import configure_logging
from app.main import connect_redis, create_app
from app.settings import RedisSection, Settings, load_settings
from app.worker import build_worker
from connectors.keys import Keys
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.host import create_eaccounting_host
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app
from sandbox.exact.seed import seed_demo

log = structlog.get_logger("demo")

DEMO_PREFIX = "lbdemo"  # plus the API port, so two demos on one Redis keep apart
DEMO_POLL_SECONDS = 10
SETTLE_SECONDS = 60  # with logs on the terminal, the banner is printed again after this at the latest
# The demo's second link (the first is the installation's `default`, on the simulator's main division and company):
# a second division, seeded like the first, and a second company behind the same eAccounting host.
SOUTH_DIVISION = 7654321
SOUTH_COMPANY = "Koffiebranderij Het Zuiden B.V."


class _Server(uvicorn.Server):
    """uvicorn server that leaves signal handling to the demo, so several can share one event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: Any, host: str, port: int) -> _Server:
    return _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))


def _pick_port(preferred: int, taken: set[int]) -> int:
    port = preferred
    while port in taken or not port_free(port):
        port += 1
    taken.add(port)
    return port


def demo_settings(
    redis_url: str, host: str, api_port: int, exact_port: int, ea_port: int, *, fresh: bool = False
) -> Settings:
    """Demo-mode settings with every base URL on the local simulators (fresh: no division pinned, the setup
    wizard asks for it)."""
    api = f"http://{host}:{api_port}"
    exact = f"http://{host}:{exact_port}"
    ea = f"http://{host}:{ea_port}"
    keys = Keys(f"{DEMO_PREFIX}{api_port}")
    return load_settings(
        demo=True,
        redis={"url": redis_url, "key_prefix": keys.prefix, "queue_name": keys.default_queue},
        exact={
            # Pinned, as an operator should (current/Me's CurrentDivision is whichever division was opened last).
            "division": None if fresh else ExactSimConfig().division,
            "api_base_url": exact,
            "auth_base_url": exact,
            "redirect_uri": f"{api}/oauth/exact/callback",
            "public_webhook_url": f"{api}/webhooks/exact",
        },
        eaccounting={
            "api_base_url": f"{ea}/v2/",
            "identity_base_url": ea,
            "redirect_uri": f"{api}/oauth/eaccounting/callback",
        },
        worker={"poll_interval_seconds": DEMO_POLL_SECONDS},
    )


async def _clear_demo_keys(settings: Settings) -> None:
    redis = connect_redis(settings)
    try:
        async for key in redis.scan_iter(match=Keys.of(settings).everything, count=1000):
            await redis.delete(key)
    finally:
        await redis.aclose()


def demo_links(settings: Settings, company: str) -> tuple[tuple[str, int, str], ...]:
    """(link, Exact division, eAccounting company) of the demo's two links."""
    division = settings.exact.division or ExactSimConfig().division
    return (("default", division, company), ("south", SOUTH_DIVISION, SOUTH_COMPANY))


async def _connect(api: str, ea: str, admin_token: str, links: tuple[tuple[str, int, str], ...]) -> None:
    """Create link `south` and connect both links the way an admin would: our authorize endpoint -> consent -> our
    callback; Exact once (its login reaches both divisions), eAccounting once per company, picking the company on
    the consent page (the simulator's stand-in for Visma's company picker)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
        for link, division, _company in links[1:]:
            response = await client.post(f"{api}/links", json={"id": link, "division": division}, headers=headers)
            response.raise_for_status()
        (await client.get(f"{api}/oauth/exact/authorize", headers=headers)).raise_for_status()
        log.info("demo.connected", system="exact")
        for link, _division, company in links:
            (await client.post(f"{ea}/_sim/consent-company", json={"company": company})).raise_for_status()
            response = await client.get(f"{api}/links/{link}/oauth/eaccounting/authorize", headers=headers)
            response.raise_for_status()
            log.info("demo.connected", system="eaccounting", link=link, company=company)


async def _play_the_warehouse(sim: ExactSim, *, every: float = 15.0, most: int = 3) -> None:
    """Ship some of the sales orders the orders flow created in the Exact simulator, as a warehouse would, so the
    shipments flow has deliveries to record: the first in full, the second in part (a split delivery: the order
    stays ongoing), the third in full. The simulator sends the GoodsDeliveries webhooks."""
    done: list[str] = []
    carriers = ("PostNL", "DHL", "PostNL")
    while len(done) < most:
        await asyncio.sleep(every)
        ours = [
            o
            for o in sim.division().store("SalesOrders").records.values()
            if not str(o.get("YourRef") or "").startswith("DEMO-") and o.get("Status") in (12, 20)
        ]
        if not ours:
            continue
        order = ours[0] if len(done) != 1 else ours[-1]
        lines = sim.engine.order_lines(sim.division(), order["OrderID"])
        partial = len(done) == 1 and len(lines) > 1
        quantities = {str(lines[0]["ItemCode"]): lines[0]["Quantity"]} if partial else None
        try:
            sim.deliver_order(
                order["OrderNumber"],
                quantities=quantities,
                tracking_number=f"3SDEMO{4711 + len(done)}",
                shipping_method=carriers[len(done)],
            )
        except Exception as exc:  # the demo goes on without this delivery
            log.warning("demo.delivery_failed", order=order["OrderNumber"], error=str(exc))
        done.append(str(order["OrderNumber"]))
        log.info("demo.shipped", order=order["OrderNumber"], partial=partial)


async def _wait_until_up(url: str, seconds: float = 20.0, *, ok_below: int = 500) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(int(seconds * 10)):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < ok_below:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _say(text: str) -> None:
    sys.stdout.write(f"ledgerbridge demo: {text}\n")
    sys.stdout.flush()


def _url_host(host: str) -> str:
    """The host to put in URLs: binding every interface (a container) is still reached as 127.0.0.1 here."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - compared, not bound


def _banner(
    settings: Settings,
    *,
    api: str,
    exact: str,
    ea: str,
    redis: str,
    log_file: str | None,
    links: tuple[tuple[str, int, str], ...] = (),
    fresh: bool = False,
) -> str:
    admin = settings.admin.token.get_secret_value() if settings.admin.token else ""
    logs = f"{log_file}   (follow: tail -f {log_file})" if log_file else "this terminal"
    return (
        "\nledgerbridge demo is ready\n"
        # The console lives at `/` (sign in with the admin token below).
        f"  console      {api}/\n"
        f"  admin token  {admin}   (demo only; the console asks for it)\n"
        f"  API docs     {api}/docs\n"
        f"  doctor       {api}/health/doctor   (Authorization: Bearer {admin})\n"
        f"  activity     {api}/logs\n"
        f"  Exact sim    {exact}   (counters: /_sim/counters)\n"
        f"  eAcc. sim    {ea}/v2/\n"
        + "".join(
            f"  link {link:<7} Exact division {division} <-> eAccounting {company}\n"
            for link, division, company in links
        )
        + (f"  setup        {api}/console/setup   (fresh: nothing connected or configured yet)\n" if fresh else "")
        + f"  redis        {redis}\n"
        f"  logs         {logs}\n"
        "Press Ctrl+C to stop.\n\n"
    )


async def _banner_when_settled(settings: Settings, started: float, banner: str) -> None:
    """Print the banner again once the first sync has nothing left queued (at most SETTLE_SECONDS after start)."""
    redis = connect_redis(settings)
    try:
        while time.monotonic() - started < SETTLE_SECONDS:
            await asyncio.sleep(2)
            with contextlib.suppress(Exception):
                if time.monotonic() - started > 15 and await redis.zcard(settings.redis.queue_name) == 0:
                    break
    finally:
        await redis.aclose()
    sys.stdout.write(banner)
    sys.stdout.flush()


def _open_log(log_file: str | None) -> IO[str] | None:
    if log_file is None:
        return None
    return open(log_file, "w", encoding="utf-8", buffering=1)


async def _persistent(local: LocalRedis) -> None:
    """A Redis we started ourselves gets AOF on (in its throw-away directory), as production runs it."""
    if local.process is None:
        return
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(local.url)
    try:
        await client.config_set("appendonly", "yes")
    finally:
        await client.aclose()


async def run_demo(
    *, api_port: int = 8000, host: str = "127.0.0.1", log_file: str | None = None, fresh: bool = False
) -> int:
    """Run the demo until Ctrl+C. `fresh`: a new installation, the simulators running and nothing connected or
    configured (link `default` only, with no division yet), for the setup wizard (`/console/setup`)."""
    os.environ["DEMO"] = "true"
    started = time.monotonic()
    redis_url = os.environ.get("REDIS__URL", RedisSection().url)
    try:
        local: LocalRedis = ensure_redis(redis_url)
    except RuntimeError as exc:
        sys.stderr.write(f"ledgerbridge demo: {exc}\n")
        return 2
    _say(f"Redis {local.url}{' (started for this demo)' if local.process else ''}")
    taken: set[int] = set()
    api_port = _pick_port(api_port, taken)
    exact_port = _pick_port(8101, taken)
    ea_port = _pick_port(8102, taken)
    url_host = _url_host(host)
    try:
        settings = demo_settings(local.url, url_host, api_port, exact_port, ea_port, fresh=fresh)
    except Exception:
        local.stop()
        raise
    stream = _open_log(log_file)
    fmt = "json" if stream is not None and settings.log.format == "auto" else settings.log.format
    configure_logging(settings.log.level, fmt, stream=stream)
    await _persistent(local)
    await _clear_demo_keys(settings)

    exact_sim = create_exact_app(
        ExactSimConfig(
            public_base_url=f"http://{url_host}:{exact_port}",
            require_https_callbacks=False,
            other_divisions=(SOUTH_DIVISION,),
        )
    )
    seed_demo(exact_sim.state.sim, division=SOUTH_DIVISION)
    ea_sim = create_eaccounting_host(EAccountingSimConfig(), [None] if fresh else [None, SOUTH_COMPANY])
    links = () if fresh else demo_links(settings, ea_sim.names[0])
    api_app = create_app(settings, configure_logs=False)
    servers = [
        _server(exact_sim, host, exact_port),
        _server(ea_sim, host, ea_port),
        _server(api_app, host, api_port),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    api = f"http://{url_host}:{api_port}"
    admin = settings.admin.token.get_secret_value() if settings.admin.token else ""
    banner = _banner(
        settings,
        api=api,
        exact=f"http://{url_host}:{exact_port}",
        ea=f"http://{url_host}:{ea_port}",
        redis=f"{local.url}{'  (started for this demo)' if local.process else ''}",
        log_file=log_file,
        links=links,
        fresh=fresh,
    )
    _say(f"simulators on :{exact_port} (Exact) and :{ea_port} (eAccounting), API on :{api_port}")
    tasks = [asyncio.create_task(s.serve(), name=f"server:{s.config.port}") for s in servers]
    helpers: list[asyncio.Task[None]] = []
    worker = None
    try:
        await _wait_until_up(f"{api}/health/live")
        if fresh:
            _say("fresh installation: nothing connected; the console's setup wizard takes it from here")
        else:
            _say("connecting Exact and eAccounting (OAuth; the simulators consent at once)")
            await _connect(api, f"http://{url_host}:{ea_port}", admin, links)
        worker = build_worker(settings, configure_logs=False, handle_signals=False)
        tasks.append(asyncio.create_task(worker.async_run(), name="worker"))
        helpers.append(asyncio.create_task(_play_the_warehouse(exact_sim.state.sim), name="warehouse"))
        _say("starting the worker")
        await _wait_until_up(f"{api}/health/ready", seconds=30, ok_below=300)
        sys.stdout.write(banner)
        sys.stdout.flush()
        if log_file is None:
            # The logs scroll the banner away: print it again once the first sync has settled.
            helpers.append(asyncio.create_task(_banner_when_settled(settings, started, banner), name="banner"))
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("demo.component_failed", component=task.get_name(), error=repr(task.exception()))
        stopper.cancel()
    except (RuntimeError, httpx.HTTPError) as exc:
        log.error("demo.start_failed", error=str(exc))
        where = f" (logs: {log_file})" if log_file else ""
        sys.stderr.write(f"ledgerbridge demo: could not start: {exc}{where}\n")
        return 1
    finally:
        for helper in helpers:
            helper.cancel()
        for s in servers:
            s.should_exit = True
        if worker is not None:
            # Stop the worker's loop and its jobs before closing it, so no job writes after our clean-up below (a
            # job cut off here runs again when its lease lapses).
            running = [task for task in tasks if task.get_name() == "worker"]
            for task in [*running, *worker.tasks.values()]:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await worker.close()
        # Let the servers finish their lifespans before anything is cancelled.
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):  # a Redis that went away has nothing of ours left to clear
            await _clear_demo_keys(settings)
        local.stop()
        log.info("demo.stopped")
        if stream is not None:
            stream.close()
    _say("stopped")
    return 0
