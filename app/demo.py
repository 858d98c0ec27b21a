"""`ledgerbridge demo`: Redis (started if none answers), both simulators, the API and the worker in one process.

Nothing to configure: the settings point every base URL at the simulators, both systems are connected through
the real OAuth authorization-code flow (the simulators consent at once), Exact webhooks are subscribed at the
API's callback (the Exact simulator accepts http:// callbacks in the demo only), and polling runs every few
seconds. A small task plays the warehouse in the Exact simulator, shipping a few of the transferred orders (one in
two parts), so the shipments flow has deliveries to record. The demo's Redis keys live under their own prefix and
are cleared at start, because the simulators start afresh each time and old cross-references or tokens would
point at records that no longer exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator

import httpx
import structlog
import uvicorn
from fastapi import FastAPI

from app.devredis import LocalRedis, ensure_redis, port_free
from app.logging import configure_logging
from app.main import connect_redis, create_app
from app.settings import RedisSection, Settings, load_settings
from app.worker import build_worker
from sandbox.eaccounting import EAccountingSimConfig, create_eaccounting_app
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app

log = structlog.get_logger("demo")

DEMO_PREFIX = "lbdemo"  # plus the API port, so two demos on one Redis keep apart
DEMO_POLL_SECONDS = 10


class _Server(uvicorn.Server):
    """uvicorn server that leaves signal handling to the demo, so several can share one event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: FastAPI, host: str, port: int) -> _Server:
    return _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))


def _pick_port(preferred: int, taken: set[int]) -> int:
    port = preferred
    while port in taken or not port_free(port):
        port += 1
    taken.add(port)
    return port


def demo_settings(redis_url: str, host: str, api_port: int, exact_port: int, ea_port: int) -> Settings:
    """Demo-mode settings with every base URL on the local simulators."""
    api = f"http://{host}:{api_port}"
    exact = f"http://{host}:{exact_port}"
    ea = f"http://{host}:{ea_port}"
    prefix = f"{DEMO_PREFIX}{api_port}"
    return load_settings(
        demo=True,
        redis={"url": redis_url, "key_prefix": prefix, "queue_name": f"{prefix}:queue"},
        exact={
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
        async for key in redis.scan_iter(match=f"{settings.redis.key_prefix}:*", count=1000):
            await redis.delete(key)
    finally:
        await redis.aclose()


async def _connect(api: str, admin_token: str) -> None:
    """Connect both systems the way an admin would: our authorize endpoint -> consent -> our callback."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
        for system in ("eaccounting", "exact"):
            response = await client.get(
                f"{api}/oauth/{system}/authorize", headers={"Authorization": f"Bearer {admin_token}"}
            )
            response.raise_for_status()
            log.info("demo.connected", system=system)


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


async def _wait_until_up(url: str, seconds: float = 20.0) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(int(seconds * 10)):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < 500:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def run_demo(*, api_port: int = 8000, host: str = "127.0.0.1") -> int:
    os.environ["DEMO"] = "true"
    redis_url = os.environ.get("REDIS__URL", RedisSection().url)
    try:
        local: LocalRedis = ensure_redis(redis_url)
    except RuntimeError as exc:
        sys.stderr.write(f"ledgerbridge demo: {exc}\n")
        return 2
    taken: set[int] = set()
    api_port = _pick_port(api_port, taken)
    exact_port = _pick_port(8101, taken)
    ea_port = _pick_port(8102, taken)
    settings = demo_settings(local.url, host, api_port, exact_port, ea_port)
    configure_logging(settings.log.level, settings.log.format)
    await _clear_demo_keys(settings)

    exact_sim = create_exact_app(
        ExactSimConfig(public_base_url=f"http://{host}:{exact_port}", require_https_callbacks=False)
    )
    ea_sim = create_eaccounting_app(EAccountingSimConfig())
    servers = [
        _server(exact_sim, host, exact_port),
        _server(ea_sim, host, ea_port),
        _server(create_app(settings, configure_logs=False), host, api_port),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    api = f"http://{host}:{api_port}"
    admin = settings.admin.token.get_secret_value() if settings.admin.token else ""
    tasks = [asyncio.create_task(s.serve(), name=f"server:{s.config.port}") for s in servers]
    worker = None
    try:
        await _wait_until_up(f"{api}/health/live")
        await _connect(api, admin)
        worker = build_worker(settings, configure_logs=False, handle_signals=False)
        tasks.append(asyncio.create_task(worker.async_run(), name="worker"))
        warehouse = asyncio.create_task(_play_the_warehouse(exact_sim.state.sim), name="warehouse")
        sys.stdout.write(
            "\nledgerbridge demo is running\n"
            f"  dashboard    {api}/dashboard\n"
            f"  API docs     {api}/docs\n"
            f"  ready        {api}/health/ready\n"
            f"  activity     {api}/logs   (Authorization: Bearer {admin})\n"
            f"  admin token  {admin}   (demo only)\n"
            f"  Exact sim    http://{host}:{exact_port}   (counters: /_sim/counters)\n"
            f"  eAcc. sim    http://{host}:{ea_port}/v2/\n"
            f"  redis        {local.url}{'  (started for this demo)' if local.process else ''}\n"
            "Press Ctrl+C to stop.\n\n"
        )
        sys.stdout.flush()
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("demo.component_failed", component=task.get_name(), error=repr(task.exception()))
        stopper.cancel()
        warehouse.cancel()
    except (RuntimeError, httpx.HTTPError) as exc:
        log.error("demo.start_failed", error=str(exc))
        return 1
    finally:
        for s in servers:
            s.should_exit = True
        if worker is not None:
            await worker.close()
        # Let the servers finish their lifespans before anything is cancelled.
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        local.stop()
        log.info("demo.stopped")
    return 0
