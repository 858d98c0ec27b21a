"""Engine fixtures: engine-friendly settings, a burst-worker drain helper, and the API with its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from app.worker import build_worker
from tests.engine.flowkit import FLOWS


@pytest.fixture
def engine_settings(settings: Settings) -> Settings:
    engine = settings.engine.model_copy(
        update={
            "backoff_seconds": 0.01,
            "max_tries": 3,
            "lock_seconds": 30,
            "lease_seconds": 3,
            "run_timeout_seconds": 20,
            "coalesce_seconds": 0.3,
        }
    )
    return settings.model_copy(update={"engine": engine})


Drain = Callable[..., Awaitable[None]]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The echo flow makes no HTTP calls; the connectors still need a client to be built.
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(599))) as client:
        yield client


@pytest.fixture
def drain(engine_settings: Settings, http: httpx.AsyncClient, redis: Any) -> Drain:
    async def run(workers: int = 1, flows: Any = None) -> None:
        """Run burst workers until the queue (including deferred retries and follow-ups) is empty."""
        for _ in range(50):
            ws = [
                build_worker(
                    engine_settings,
                    burst=True,
                    configure_logs=False,
                    flows=flows or FLOWS,
                    http=http,
                    cron=False,
                    poll_delay=0.005,
                )
                for _ in range(workers)
            ]
            await asyncio.gather(*(w.async_run() for w in ws))
            for w in ws:
                await w.close()
            if await redis.zcard(engine_settings.redis.queue_name) == 0:
                return
        raise AssertionError("queue did not drain")

    return run


@asynccontextmanager
async def running_api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan state, over httpx's ASGI transport (which does not run lifespans itself)."""
    async with app.router.lifespan_context(app) as state:

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            scope = {**scope, "state": dict(state or {})}
            await app(scope, receive, send)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://lb") as client:
            yield client


@pytest.fixture
async def api(engine_settings: Settings, http: httpx.AsyncClient, redis: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine_settings, configure_logs=False, flow_definitions=FLOWS, http=http)
    async with running_api(app) as client:
        client.headers["Authorization"] = "Bearer demo-admin-token"
        yield client


EchoKey = Callable[[str], str]


@pytest.fixture
def k(engine_settings: Settings) -> EchoKey:
    """A key of the echo flow's world in link `default` (tests/engine/flowkit.py)."""
    from connectors.keys import Keys
    from tests.engine.flowkit import key

    keys = Keys.of(engine_settings).for_link("default")
    return lambda part: key(keys, part)
