"""`ledgerbridge demo`: Redis (started if none answers), the API and the worker in one process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI

from app.devredis import LocalRedis, ensure_redis, port_free
from app.logging import configure_logging
from app.main import create_app
from app.settings import RedisSection, load_settings
from app.worker import build_worker

log = structlog.get_logger("demo")


class _Server(uvicorn.Server):
    """uvicorn server that leaves signal handling to the demo, so several can share one event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: FastAPI, host: str, port: int) -> _Server:
    return _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))


def _pick_port(preferred: int) -> int:
    port = preferred
    while not port_free(port):
        port += 1
    return port


async def run_demo(*, api_port: int = 8000, host: str = "127.0.0.1") -> int:
    os.environ["DEMO"] = "true"
    redis_url = os.environ.get("REDIS__URL", RedisSection().url)
    try:
        local: LocalRedis = ensure_redis(redis_url)
    except RuntimeError as exc:
        sys.stderr.write(f"ledgerbridge demo: {exc}\n")
        return 2
    os.environ["REDIS__URL"] = local.url
    api_port = _pick_port(api_port)
    settings = load_settings(demo=True)
    configure_logging(settings.log.level, settings.log.format)

    servers = [_server(create_app(settings, configure_logs=False), host, api_port)]
    worker = build_worker(settings, configure_logs=False, handle_signals=False)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    admin = settings.admin.token.get_secret_value() if settings.admin.token else ""
    sys.stdout.write(
        "\nledgerbridge demo is starting\n"
        f"  API          http://{host}:{api_port}/docs\n"
        f"  ready        http://{host}:{api_port}/health/ready\n"
        f"  admin token  {admin}   (demo only)\n"
        f"  redis        {local.url}{'  (started for this demo)' if local.process else ''}\n"
        "Press Ctrl+C to stop.\n\n"
    )
    sys.stdout.flush()
    tasks = [asyncio.create_task(s.serve(), name=f"server:{s.config.port}") for s in servers]
    tasks.append(asyncio.create_task(worker.async_run(), name="worker"))
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("demo.component_failed", component=task.get_name(), error=repr(task.exception()))
    finally:
        for s in servers:
            s.should_exit = True
        await worker.close()
        # Let the servers finish their lifespans before anything is cancelled.
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stopper.cancel()
        local.stop()
        log.info("demo.stopped")
    return 0
