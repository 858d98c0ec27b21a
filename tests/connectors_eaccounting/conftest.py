"""The real connector against the eAccounting simulator over ASGI, on the simulator's frozen clock.

Time is one clock for both sides: the connector's `clock` reads the simulator's, and its `sleep` advances the
simulator's instead of waiting, so token expiry and rate windows are exercised without real waiting. Every request
is recorded (`Recorder`) so tests can count calls and the contract test can validate what was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI

from app.settings import Settings
from connectors.eaccounting import EAccountingClient, build_eaccounting_client
from sandbox.eaccounting import EAccountingSim, EAccountingSimConfig, create_eaccounting_app
from tests.recording import RecordingTransport
from tests.redisdb import own_database

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOST = "http://eaccounting.test"
REDIRECT = "http://localhost:8000/oauth/eaccounting/callback"
redis_url = own_database("TEST_EACCOUNTING_REDIS_DB", 9)


class Recorder(RecordingTransport):
    """The recording transport, with this API's ways of picking requests out."""

    def api(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.startswith("/v2/")]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == path)


@dataclass
class Harness:
    """One simulator, the recorder in front of it, and a factory for connector instances ("processes")."""

    app: FastAPI
    sim: EAccountingSim
    recorder: Recorder
    http: httpx.AsyncClient
    settings: Settings
    redis: ArqRedis
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.sim.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sim.advance_clock(seconds)

    def client(self, **kwargs: Any) -> EAccountingClient:
        return build_eaccounting_client(
            self.settings, self.http, self.redis, clock=self.clock, sleep=self.sleep, **kwargs
        )

    async def connect(self, client: EAccountingClient) -> None:
        """The admin's consent round trip: authorize (the simulator consents at once), then exchange the code."""
        response = await self.http.get(client.authorize_url("state-1"))
        assert response.status_code == 302, response.text
        location = httpx.URL(response.headers["location"])
        assert location.params["state"] == "state-1"
        await client.exchange_code(location.params["code"])


def ea_settings(settings: Settings) -> Settings:
    section = settings.eaccounting.model_copy(
        update={"api_base_url": f"{HOST}/v2/", "identity_base_url": HOST, "redirect_uri": REDIRECT}
    )
    return settings.model_copy(update={"eaccounting": section})


@pytest.fixture
def sim_config() -> dict[str, Any]:
    """Overrides of the simulator's config; tests parametrize this fixture indirectly or override it."""
    return {}


@pytest.fixture
async def harness(settings: Settings, redis: ArqRedis, sim_config: dict[str, Any]) -> AsyncIterator[Harness]:
    app = create_eaccounting_app(EAccountingSimConfig(start_time=START, **sim_config))
    recorder = Recorder(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=recorder) as http:
        sim = app.state.sim
        assert isinstance(sim, EAccountingSim)
        yield Harness(app, sim, recorder, http, ea_settings(settings), redis)


@pytest.fixture
async def ea(harness: Harness) -> EAccountingClient:
    """A connected client on the seeded demo company."""
    client = harness.client()
    await harness.connect(client)
    return client


@pytest.fixture
def make_client(harness: Harness) -> Callable[..., EAccountingClient]:
    return harness.client
