"""Visma Connect: authorization code, one-time refresh tokens, expiry on the simulated clock."""

from __future__ import annotations

import base64

import httpx

from sandbox.eaccounting import EAccountingSim

from .conftest import CLIENT, make_app

SCOPES = "ea:api ea:sales offline_access"


async def _code(client: httpx.AsyncClient, redirect: str = "http://localhost:8000/cb", scope: str = SCOPES) -> str:
    response = await client.get(
        "/connect/authorize",
        params={
            "client_id": CLIENT[0],
            "redirect_uri": redirect,
            "scope": scope,
            "state": "s-123",
            "response_type": "code",
        },
    )
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert location.params["state"] == "s-123"
    return location.params["code"]


async def _exchange(client: httpx.AsyncClient, code: str, redirect: str = "http://localhost:8000/cb") -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    return await client.post("/connect/token", data=data, auth=CLIENT)


async def test_authorization_code_flow_issues_bearer_tokens(client: httpx.AsyncClient) -> None:
    response = await _exchange(client, await _code(client))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"]
    assert set(body["scope"].split()) == set(SCOPES.split())
    api = await client.get("/v2/customers", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status_code == 200


async def test_client_secret_in_form_is_accepted_too(client: httpx.AsyncClient) -> None:
    code = await _code(client)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost:8000/cb",
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
    }
    response = await client.post("/connect/token", data=data)
    assert response.status_code == 200


async def test_wrong_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    code = await _code(client)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:8000/cb"}
    response = await client.post("/connect/token", data=data, auth=(CLIENT[0], "nope"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


async def test_code_is_single_use_and_bound_to_redirect_uri(client: httpx.AsyncClient) -> None:
    code = await _code(client)
    wrong = await _exchange(client, code, redirect="http://evil.example/cb")
    assert wrong.json()["error"] == "invalid_grant"
    assert (await _exchange(client, code)).status_code == 200
    again = await _exchange(client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_code_expires(client: httpx.AsyncClient, sim: EAccountingSim) -> None:
    code = await _code(client)
    sim.advance_clock(301)
    assert (await _exchange(client, code)).json()["error"] == "invalid_grant"


async def test_token_endpoint_wants_form_encoding(client: httpx.AsyncClient) -> None:
    response = await client.post("/connect/token", json={"grant_type": "refresh_token"}, auth=CLIENT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_unknown_grant_type(client: httpx.AsyncClient) -> None:
    response = await client.post("/connect/token", data={"grant_type": "password"}, auth=CLIENT)
    assert response.json()["error"] == "unsupported_grant_type"


async def test_refresh_token_rotates_and_old_one_is_refused(client: httpx.AsyncClient) -> None:
    first = (await _exchange(client, await _code(client))).json()
    refreshed = await client.post(
        "/connect/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=CLIENT
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reused = await client.post(
        "/connect/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=CLIENT
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    third = await client.post(
        "/connect/token", data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, auth=CLIENT
    )
    assert third.status_code == 200


async def test_grace_period_allows_a_quick_duplicate_refresh() -> None:
    app = make_app(refresh_token_grace_seconds=5)
    sim: EAccountingSim = app.state.sim
    refresh = sim.issue_tokens()["refresh_token"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        data = {"grant_type": "refresh_token", "refresh_token": refresh}
        assert (await client.post("/connect/token", data=data, auth=CLIENT)).status_code == 200
        assert (await client.post("/connect/token", data=data, auth=CLIENT)).status_code == 200
        sim.advance_clock(6)
        assert (await client.post("/connect/token", data=data, auth=CLIENT)).json()["error"] == "invalid_grant"


async def test_access_token_expires_on_the_sim_clock(client: httpx.AsyncClient, sim: EAccountingSim) -> None:
    tokens = (await _exchange(client, await _code(client))).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    sim.advance_clock(3599)
    assert (await client.get("/v2/articles", headers=headers)).status_code == 200
    sim.advance_clock(1)
    expired = await client.get("/v2/articles", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["ErrorCode"] == 4005
    assert "invalid_token" in expired.headers["www-authenticate"]
    renewed = await client.post(
        "/connect/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=CLIENT
    )
    fresh = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert (await client.get("/v2/articles", headers=fresh)).status_code == 200


async def test_expired_refresh_token_is_invalid_grant(client: httpx.AsyncClient) -> None:
    tokens = (await _exchange(client, await _code(client))).json()
    assert (await client.post("/_sim/expire-refresh-token", json={})).json() == {"expired": 1}
    response = await client.post(
        "/connect/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=CLIENT
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_no_refresh_token_without_offline_access(client: httpx.AsyncClient) -> None:
    body = (await _exchange(client, await _code(client, scope="ea:api ea:sales"))).json()
    assert "refresh_token" not in body


async def test_authorize_refuses_unknown_client_and_bad_scope(client: httpx.AsyncClient) -> None:
    params = {"client_id": "other", "redirect_uri": "http://x/cb", "scope": SCOPES, "response_type": "code"}
    assert (await client.get("/connect/authorize", params=params)).status_code == 400
    params = {"client_id": CLIENT[0], "redirect_uri": "http://x/cb", "scope": "ea:everything", "response_type": "code"}
    response = await client.get("/connect/authorize", params=params)
    assert response.status_code == 302
    assert httpx.URL(response.headers["location"]).params["error"] == "invalid_scope"


async def test_registered_redirect_uri_is_enforced() -> None:
    app = make_app(redirect_uri="http://localhost:8000/oauth/eaccounting/callback")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        params = {"client_id": CLIENT[0], "redirect_uri": "http://x/cb", "scope": SCOPES, "response_type": "code"}
        assert (await client.get("/connect/authorize", params=params)).status_code == 400


async def test_api_without_token_is_401_with_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/orders")
    assert response.status_code == 401
    body = response.json()
    assert body["ErrorCode"] == 4005
    assert set(body) == {"ErrorCode", "DeveloperErrorMessage", "ErrorId", "Errors"}
    basic = base64.b64encode(b"a:b").decode()
    assert (await client.get("/v2/orders", headers={"Authorization": f"Basic {basic}"})).status_code == 401
    assert (await client.get("/v2/orders", headers={"Authorization": "Bearer forged"})).status_code == 401


async def test_missing_scope_is_403(client: httpx.AsyncClient, sim: EAccountingSim) -> None:
    token = sim.issue_tokens(["ea:api", "ea:sales"])["access_token"]
    response = await client.get("/v2/vouchers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["ErrorCode"] == 4006
    readonly = sim.issue_tokens(["ea:api", "ea:sales_readonly"])["access_token"]
    headers = {"Authorization": f"Bearer {readonly}"}
    assert (await client.get("/v2/orders", headers=headers)).status_code == 200
    assert (await client.post("/v2/articlelabels", json={"Name": "x"}, headers=headers)).status_code == 403


async def test_revoke_kills_every_token_at_once(client: httpx.AsyncClient) -> None:
    tokens = (await _exchange(client, await _code(client))).json()
    assert (await client.post("/_sim/revoke")).json() == {"revoked": 2}
    used = await client.get("/v2/articles", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert used.status_code == 401
    response = await client.post(
        "/connect/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=CLIENT
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
