"""Rate limit (429 with the documented body), injected faults, call counters, control endpoints."""

from __future__ import annotations

import httpx

from sandbox.eaccounting import EAccountingSim, Fault

from .conftest import make_app


async def test_429_after_the_limit_per_endpoint_and_recovery() -> None:
    app = make_app(rate_limit_per_minute=5)
    sim: EAccountingSim = app.state.sim
    headers = {"Authorization": f"Bearer {sim.issue_tokens()['access_token']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        for _ in range(5):
            assert (await client.get("/v2/articles", headers=headers)).status_code == 200
        limited = await client.get("/v2/articles", headers=headers)
        assert limited.status_code == 429
        body = limited.json()
        assert body["ErrorCode"] == 4010
        assert body["DeveloperErrorMessage"] == (
            "API calls quota exceeded! maximum admitted 5 per Minute. Try again in 60 seconds."
        )
        assert "retry-after" not in limited.headers
        assert (await client.get("/v2/customers", headers=headers)).status_code == 200  # other endpoint
        sim.advance_clock(45)
        again = await client.get("/v2/articles", headers=headers)
        assert "Try again in 15 seconds" in again.json()["DeveloperErrorMessage"]
        sim.advance_clock(15)
        assert (await client.get("/v2/articles", headers=headers)).status_code == 200
        assert sim.counters()["route_statuses"]["GET /v2/articles 429"] == 2


async def test_retry_after_header_can_be_switched_on() -> None:
    app = make_app(rate_limit_per_minute=1, send_retry_after=True)
    sim: EAccountingSim = app.state.sim
    headers = {"Authorization": f"Bearer {sim.issue_tokens()['access_token']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        await client.get("/v2/units", headers=headers)
        limited = await client.get("/v2/units", headers=headers)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "60"


async def test_rate_limit_can_be_disabled() -> None:
    app = make_app(rate_limit_per_minute=None)
    sim: EAccountingSim = app.state.sim
    headers = {"Authorization": f"Bearer {sim.issue_tokens()['access_token']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        statuses = {(await client.get("/v2/units", headers=headers)).status_code for _ in range(700)}
    assert statuses == {200}


async def test_faults_over_http_then_recovery(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = await client.post("/_sim/faults", json={"status": 503, "path": "/v2/articles", "times": 2})
    assert created.status_code == 200
    assert [(await client.get("/v2/articles", headers=auth)).status_code for _ in range(3)] == [503, 503, 200]
    assert (await client.get("/_sim/faults")).json() == []
    await client.post("/_sim/faults", json={"status": 500, "path": "/v2/orders", "method": "POST", "times": None})
    assert (await client.get("/v2/orders", headers=auth)).status_code == 200
    assert (await client.post("/v2/orders", json={}, headers=auth)).status_code == 500
    assert (await client.post("/v2/orders", json={}, headers=auth)).status_code == 500
    assert (await client.delete("/_sim/faults")).status_code == 200
    assert (await client.post("/v2/orders", json={}, headers=auth)).status_code == 400


async def test_fault_skip_and_429_shape(client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim) -> None:
    sim.add_fault(Fault(status=429, path="/v2/customers", skip=1, retry_after=7))
    assert (await client.get("/v2/customers", headers=auth)).status_code == 200
    limited = await client.get("/v2/customers", headers=auth)
    assert limited.status_code == 429
    assert limited.json()["ErrorCode"] == 4010
    assert limited.headers["retry-after"] == "7"
    assert (await client.get("/v2/customers", headers=auth)).status_code == 200


async def test_fault_on_token_endpoint_has_oauth_shape(client: httpx.AsyncClient, sim: EAccountingSim) -> None:
    refresh = sim.issue_tokens()["refresh_token"]
    sim.add_fault(Fault(status=503, path="/connect/token"))
    data = {"grant_type": "refresh_token", "refresh_token": refresh}
    failed = await client.post(
        "/connect/token", data=data, auth=("ledgerbridge-demo", "demo-eaccounting-client-secret")
    )
    assert failed.status_code == 503
    assert failed.json()["error"] == "server_error"
    ok = await client.post("/connect/token", data=data, auth=("ledgerbridge-demo", "demo-eaccounting-client-secret"))
    assert ok.status_code == 200  # the failed attempt did not consume the refresh token


async def test_counters_and_reset(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.get("/v2/articles", headers=auth)
    await client.get("/v2/articles", headers=auth)
    await client.get("/v2/orders")
    counters = (await client.get("/_sim/counters")).json()
    assert counters["calls"] == {"GET /v2/articles": 2, "GET /v2/orders": 1}
    assert counters["statuses"] == {"200": 2, "401": 1}
    assert counters["total"] == 3
    reset = (await client.post("/_sim/reset-counters")).json()
    assert reset["total"] == 0
    art = await client.get("/v2/articles/00000000-0000-0000-0000-000000000000", headers=auth)
    assert art.status_code == 404
    assert (await client.get("/_sim/counters")).json()["calls"] == {"GET /v2/articles/{articleId}": 1}


async def test_clock_control(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sim/clock")).json() == {"now": "2026-03-02T10:00:00.000Z"}
    moved = await client.post("/_sim/clock/advance", json={"seconds": 3600})
    assert moved.json() == {"now": "2026-03-02T11:00:00.000Z"}
