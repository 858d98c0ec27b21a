"""OAuth: auto-consent redirect, code exchange, the 570 s rule, rotation, expiry, one chain per user."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app

from .conftest import BASE_URL, START

REDIRECT = "https://lb.example.com/oauth/exact/callback"


async def _login(client: httpx.AsyncClient, sim: ExactSim) -> dict[str, str]:
    response = await client.get(
        "/api/oauth2/auth",
        params={"client_id": sim.config.client_id, "redirect_uri": REDIRECT, "response_type": "code", "state": "xyz"},
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert "%21" in location  # the code holds '!' and arrives URL-encoded
    query = parse_qs(urlsplit(location).query)  # parse_qs decodes, as a client must
    assert query["state"] == ["xyz"]
    token = await client.post(
        "/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
        },
    )
    assert token.status_code == 200, token.text
    body: dict[str, str] = token.json()
    return body


async def _refresh(client: httpx.AsyncClient, sim: ExactSim, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
        },
    )


async def test_authorization_code_flow_gives_a_working_token(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = await _login(client, sim)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == "600"  # a string, as Exact sends it
    me = await client.get(
        "/api/v1/current/Me",
        params={"$select": "CurrentDivision"},
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"},
    )
    assert me.status_code == 200
    assert me.json()["d"]["results"][0]["CurrentDivision"] == sim.config.division
    assert "X-RateLimit-Remaining" not in me.headers  # no division in the URL: not counted


async def test_code_is_single_use_and_must_be_decoded(client: httpx.AsyncClient, sim: ExactSim) -> None:
    response = await client.get(
        "/api/oauth2/auth",
        params={"client_id": sim.config.client_id, "redirect_uri": REDIRECT, "response_type": "code"},
    )
    raw_code = urlsplit(response.headers["location"]).query.removeprefix("code=")
    form = {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "client_id": sim.config.client_id,
        "client_secret": sim.config.client_secret,
    }
    still_encoded = await client.post("/api/oauth2/token", data={**form, "code": raw_code})
    assert still_encoded.status_code == 400
    assert "URL-encoded" in still_encoded.json()["error_description"]


async def test_reusing_a_code_is_refused(client: httpx.AsyncClient, sim: ExactSim) -> None:
    response = await client.get(
        "/api/oauth2/auth",
        params={"client_id": sim.config.client_id, "redirect_uri": REDIRECT, "response_type": "code"},
    )
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": sim.config.client_id,
        "client_secret": sim.config.client_secret,
    }
    assert (await client.post("/api/oauth2/token", data=form)).status_code == 200
    again = await client.post("/api/oauth2/token", data=form)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_expired_code_is_refused(client: httpx.AsyncClient, sim: ExactSim) -> None:
    response = await client.get(
        "/api/oauth2/auth",
        params={"client_id": sim.config.client_id, "redirect_uri": REDIRECT, "response_type": "code"},
    )
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    sim.clock.advance(181)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": sim.config.client_id,
        "client_secret": sim.config.client_secret,
    }
    refused = await client.post("/api/oauth2/token", data=form)
    assert refused.status_code == 400
    assert "expired" in refused.json()["error_description"]


async def test_refresh_before_570_seconds_is_refused_then_works(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = await _login(client, sim)
    sim.clock.advance(569)
    early = await _refresh(client, sim, tokens["refresh_token"])
    assert early.status_code == 401
    assert early.json()["error_description"] == "Access token not expired"
    sim.clock.advance(1)
    ok = await _refresh(client, sim, tokens["refresh_token"])  # the refused call did not burn the token
    assert ok.status_code == 200
    rotated = ok.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert sim.counters()["token_refreshes"] == 1


async def test_old_refresh_token_is_refused_after_rotation(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = await _login(client, sim)
    sim.clock.advance(570)
    first = await _refresh(client, sim, tokens["refresh_token"])
    assert first.status_code == 200
    sim.clock.advance(600)
    reused = await _refresh(client, sim, tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant", "error_description": "Old refresh token used"}
    newest = await _refresh(client, sim, first.json()["refresh_token"])
    assert newest.status_code == 200


async def test_access_token_expires_after_600_seconds(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = await _login(client, sim)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    sim.clock.advance(599)
    assert (await client.get("/api/v1/current/Me", headers=headers)).status_code == 200
    sim.clock.advance(1)
    expired = await client.get("/api/v1/current/Me", headers=headers)
    assert expired.status_code == 401
    assert "access token expired" in expired.headers["www-authenticate"]
    assert expired.json()["error"]["message"]["value"] == "Unauthorized"


async def test_refresh_token_dies_after_30_days(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = await _login(client, sim)
    sim.clock.advance(30 * 24 * 3600)
    response = await _refresh(client, sim, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"].startswith("The refresh token expired at")


async def test_expire_refresh_token_control(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = await _login(client, sim)
    assert (await client.post("/_sim/expire-refresh-token")).json() == {"expired": 1}
    sim.clock.advance(600)
    assert (await _refresh(client, sim, tokens["refresh_token"])).status_code == 400


async def test_new_login_ends_the_previous_chain(client: httpx.AsyncClient, sim: ExactSim) -> None:
    first = await _login(client, sim)
    await _login(client, sim)
    headers = {"Authorization": f"Bearer {first['access_token']}", "Accept": "application/json"}
    assert (await client.get("/api/v1/current/Me", headers=headers)).status_code == 401
    sim.clock.advance(600)
    assert (await _refresh(client, sim, first["refresh_token"])).status_code == 400


async def test_wrong_client_secret(client: httpx.AsyncClient, sim: ExactSim) -> None:
    response = await client.post(
        "/api/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": sim.config.client_id,
              "client_secret": "wrong"},
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_registered_redirect_uri_is_enforced() -> None:
    app = create_exact_app(ExactSimConfig(seed=False, start_time=START, redirect_uri=REDIRECT))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        response = await client.get(
            "/api/oauth2/auth",
            params={"client_id": app.state.sim.config.client_id, "redirect_uri": "https://evil.example/cb",
                    "response_type": "code"},
        )  # fmt: skip
    assert response.status_code == 400


@pytest.mark.parametrize("limit", [3])
async def test_token_endpoint_daily_cap(limit: int) -> None:
    app = create_exact_app(ExactSimConfig(seed=False, start_time=START, token_calls_per_day=limit))
    sim: ExactSim = app.state.sim
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        statuses = [(await _refresh(client, sim, "nope")).status_code for _ in range(limit + 1)]
    assert statuses == [400] * limit + [429]


async def test_revoke_kills_every_token_at_once(client: httpx.AsyncClient, sim: ExactSim) -> None:
    tokens = sim.issue_tokens()
    answer = await client.post("/_sim/revoke")
    assert answer.json() == {"revoked": 2}
    me = await client.get(
        "/api/v1/current/Me",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"},
    )
    assert me.status_code == 401
    refresh = await client.post(
        "/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
        },
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
