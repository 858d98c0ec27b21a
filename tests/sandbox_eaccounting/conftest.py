"""Fixtures: a seeded simulator on a frozen clock, an httpx client over ASGI, and a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox.eaccounting import EAccountingSim, EAccountingSimConfig, create_eaccounting_app

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLIENT = ("ledgerbridge-demo", "demo-eaccounting-client-secret")


def make_app(**overrides: Any) -> FastAPI:
    return create_eaccounting_app(EAccountingSimConfig(start_time=START, **overrides))


@pytest.fixture
def app() -> FastAPI:
    return make_app()


@pytest.fixture
def sim(app: FastAPI) -> EAccountingSim:
    found = app.state.sim
    assert isinstance(found, EAccountingSim)
    return found


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://eaccounting.test") as http:
        yield http


@pytest.fixture
def auth(sim: EAccountingSim) -> dict[str, str]:
    """Headers with a fresh access token carrying the scopes the sync service asks for."""
    token = sim.issue_tokens()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client_factory() -> Callable[[FastAPI], httpx.AsyncClient]:
    def build(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://eaccounting.test")

    return build
