"""Connecting both systems through our own endpoints, as an admin does: authorize -> consent -> callback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from tests.harness import make_world

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


@pytest.mark.parametrize("system", ["exact", "eaccounting"])
async def test_authorize_consent_callback_connects_and_a_state_works_once(
    settings: Settings, redis: ArqRedis, system: str
) -> None:
    async with make_world(settings, redis) as world:
        app = create_app(world.settings, configure_logs=False, http=world.http)
        async with app.router.lifespan_context(app) as state:

            async def asgi(scope: Any, receive: Any, send: Any) -> None:
                await app({**scope, "state": dict(state or {})}, receive, send)

            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://lb") as api:
                assert (await api.get(f"/oauth/{system}/authorize")).status_code == 401
                redirect = await api.get(f"/oauth/{system}/authorize", headers=AUTH)
                assert redirect.status_code == 302
                as_json = (await api.get(f"/oauth/{system}/authorize?redirect=false", headers=AUTH)).json()
                consent = await world.http.get(as_json["authorize_url"])  # the simulator consents at once
                back = httpx.URL(consent.headers["location"])
                callback = await api.get(f"/oauth/{system}/callback", params=dict(back.params))
                assert callback.status_code == 200, callback.text
                assert callback.json()["connected"] is True
                again = await api.get(f"/oauth/{system}/callback", params=dict(back.params))
                assert again.status_code == 400  # the state was used up
                connections = (await api.get("/connections", headers=AUTH)).json()
                assert connections[system]["connected"] is True
