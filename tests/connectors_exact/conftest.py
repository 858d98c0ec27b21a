"""The real Exact connector against the Exact simulator over ASGI, on the simulator's clock, with a real Redis.

Time is one clock for both sides: the connector's `clock` reads the simulator's and its `sleep` advances the
simulator's instead of waiting, so token expiry, the 570 s rule and rate windows run without real waiting. Call
counts come from the simulator's own counters (`sim.counters()`); the `Recorder` in front of the simulator is only
there to look at what was sent (headers, filters, bodies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI

from app.settings import Settings
from connectors.exact import ExactClient, build_exact_client
from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app
from tests.recording import RecordingTransport
from tests.redisdb import own_database

HOST = "https://start.exactonline.nl"
DIVISION = 1234567
START = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)  # a Monday, on a minute boundary; CEST (UTC+2) in Amsterdam
REDIRECT = "http://localhost:8000/oauth/exact/callback"
CALLBACK = "https://lb.example.com/webhooks/exact"
redis_url = own_database("TEST_EXACT_REDIS_DB", 8)


class Recorder(RecordingTransport):
    """The recording transport, with this API's ways of picking requests out."""

    def to(self, resource: str, method: str = "GET") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == f"/api/v1/{DIVISION}/{resource}"]


@dataclass
class Receiver:
    """Stands in for our webhook endpoint: records what the simulator delivers, answers 200."""

    status: int = 200
    calls: list[tuple[str, bytes]] = field(default_factory=list)

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append((url, body))
        return self.status

    @property
    def events(self) -> list[bytes]:
        return [body for _, body in self.calls if body]


@dataclass
class Harness:
    """One simulator, the recorder in front of it, and a factory for connector instances ("processes")."""

    app: FastAPI
    sim: ExactSim
    recorder: Recorder
    http: httpx.AsyncClient
    settings: Settings
    redis: ArqRedis
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.sim.clock.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sim.clock.advance(seconds)

    def client(self, *, division: int | None = DIVISION, **kwargs: Any) -> ExactClient:
        section = self.settings.exact.model_copy(update={"division": division})
        settings = self.settings.model_copy(update={"exact": section})
        return build_exact_client(settings, self.http, self.redis, clock=self.clock, sleep=self.sleep, **kwargs)

    async def connect(self, client: ExactClient) -> None:
        """The admin's consent round trip: authorize (the simulator consents at once), then exchange the code."""
        response = await self.http.get(client.authorize_url("state-1"))
        assert response.status_code == 302, response.text
        location = httpx.URL(response.headers["location"])
        assert location.params["state"] == "state-1"
        await client.exchange_code(location.params["code"])

    def calls(self, key: str) -> int:
        """How often the simulator served `key` ("GET logistics/Items", "POST oauth2/token", ...)."""
        return int(self.sim.counters()["by_endpoint"].get(key, 0))

    @property
    def token_calls(self) -> int:
        return self.calls("POST oauth2/token")


def exact_settings(settings: Settings) -> Settings:
    section = settings.exact.model_copy(
        update={"api_base_url": HOST, "auth_base_url": HOST, "redirect_uri": REDIRECT, "division": DIVISION}
    )
    return settings.model_copy(update={"exact": section})


@pytest.fixture
def sim_config() -> dict[str, Any]:
    """Overrides of the simulator's config; tests override this fixture (or parametrize it indirectly)."""
    return {}


@pytest.fixture
async def harness(settings: Settings, redis: ArqRedis, sim_config: dict[str, Any]) -> AsyncIterator[Harness]:
    app = create_exact_app(ExactSimConfig(start_time=START, **sim_config))
    recorder = Recorder(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=recorder) as http:
        sim = app.state.sim
        assert isinstance(sim, ExactSim)
        yield Harness(app, sim, recorder, http, exact_settings(settings), redis)


@pytest.fixture
async def exact(harness: Harness) -> ExactClient:
    """A connected client on the seeded demo division."""
    client = harness.client()
    await harness.connect(client)
    return client


@pytest.fixture
def receiver(harness: Harness) -> Receiver:
    collector = Receiver()
    harness.sim.deliver = collector
    return collector
