"""Fixtures: a fresh simulator per test on a frozen clock, an httpx client over ASGI, a live bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app

BASE_URL = "https://start.exactonline.nl"
DIVISION = 1234567
START = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)  # a Monday, on a minute boundary


@pytest.fixture
def config() -> ExactSimConfig:
    return ExactSimConfig(start_time=START)


@pytest.fixture
def app(config: ExactSimConfig) -> FastAPI:
    return create_exact_app(config)


@pytest.fixture
def sim(app: FastAPI) -> ExactSim:
    sim: ExactSim = app.state.sim
    return sim


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def headers(sim: ExactSim) -> dict[str, str]:
    token = sim.issue_tokens()["access_token"]
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def url(path: str) -> str:
    return f"/api/v1/{DIVISION}/{path}"
