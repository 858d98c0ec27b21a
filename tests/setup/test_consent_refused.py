"""A consent refused at the provider comes back to the wizard's step, in words, instead of a JSON error page."""

from __future__ import annotations

from typing import Any

import httpx

from app.main import create_app
from app.services import connections
from tests.setup.conftest import Fresh


async def test_a_refused_consent_returns_to_the_step_it_started_from(fresh: Fresh) -> None:
    app = create_app(fresh.settings, configure_logs=False, http=fresh.http)
    async with app.router.lifespan_context(app) as state:

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://lb") as api:
            url = await connections.start_authorization(await fresh.engine(), "exact", back="/console/setup/exact")
            oauth_state = httpx.URL(url).params["state"]
            refused = {"error": "access_denied", "error_description": "The user said no", "state": oauth_state}
            browser = {"Accept": "text/html"}
            answer = await api.get("/oauth/exact/callback", params=refused, headers=browser)
            assert answer.status_code == 303
            back = httpx.URL(answer.headers["location"])
            assert back.path == "/console/setup/exact"
            assert back.params["refused"] == "exact" and back.params["reason"] == "access_denied: The user said no"
            again = await api.get("/oauth/exact/callback", params=refused, headers=browser)
            assert again.status_code == 400  # the state is used up
            plain = await api.get("/oauth/exact/callback", params={**refused, "state": "other"})
            assert plain.status_code == 400 and "access_denied" in plain.json()["detail"]
