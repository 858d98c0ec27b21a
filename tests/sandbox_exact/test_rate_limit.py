"""Per-division limits: headers count down, 60 a minute then 429 until the minute rolls, daily cap."""

from __future__ import annotations

import httpx

from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app

from .conftest import BASE_URL, DIVISION, START, url

MINUTE_RESET = str(int(START.timestamp() * 1000) + 60_000)
DAY_RESET = str(int(START.replace(hour=0).timestamp() * 1000) + 86_400_000)


async def test_headers_count_down(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    first = await client.get(url("vat/VATCodes"), headers=headers)
    second = await client.get(url("vat/VATCodes"), headers=headers)
    assert first.headers["X-RateLimit-Minutely-Limit"] == "60"
    assert first.headers["X-RateLimit-Minutely-Remaining"] == "59"
    assert second.headers["X-RateLimit-Minutely-Remaining"] == "58"
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert second.headers["X-RateLimit-Remaining"] == "4998"
    assert first.headers["X-RateLimit-Minutely-Reset"] == MINUTE_RESET  # epoch milliseconds
    assert first.headers["X-RateLimit-Reset"] == DAY_RESET


async def test_errors_count_too(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(url("logistics/Nope"), headers=headers)
    assert response.status_code == 404
    assert response.headers["X-RateLimit-Minutely-Remaining"] == "59"


async def test_429_after_60_calls_until_the_minute_rolls(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    sim.clock.advance(40)  # 10:00:40; blocked until 10:01:00
    for _ in range(60):
        assert (await client.get(url("vat/VATCodes"), headers=headers)).status_code == 200
    blocked = await client.get(url("vat/VATCodes"), headers=headers)
    assert blocked.status_code == 429
    assert blocked.json() == {"error": {"code": "", "message": {"lang": "", "value": "API rate limit exceeded"}}}
    assert blocked.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert blocked.headers["X-RateLimit-Minutely-Reset"] == MINUTE_RESET
    assert "X-RateLimit-Remaining" not in blocked.headers  # only minutely headers when the minute is spent
    assert "Retry-After" not in blocked.headers
    other_division_free = sim.counters()["rate_limited"] == 1
    assert other_division_free
    sim.clock.advance(19)
    assert (await client.get(url("vat/VATCodes"), headers=headers)).status_code == 429
    sim.clock.advance(1)
    again = await client.get(url("vat/VATCodes"), headers=headers)
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Minutely-Remaining"] == "59"
    assert again.headers["X-RateLimit-Remaining"] == str(5000 - 61)


async def test_limits_are_per_division() -> None:
    app = create_exact_app(ExactSimConfig(start_time=START, other_divisions=(7654321,), minutely_limit=2))
    sim: ExactSim = app.state.sim
    headers = {"Authorization": f"Bearer {sim.issue_tokens()['access_token']}", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        for _ in range(2):
            await client.get(url("vat/VATCodes"), headers=headers)
        assert (await client.get(url("vat/VATCodes"), headers=headers)).status_code == 429
        other = await client.get("/api/v1/7654321/vat/VATCodes", headers=headers)
        assert other.status_code == 200
        assert other.json()["d"]["results"] == []  # an empty division
        assert DIVISION != 7654321


async def test_daily_limit() -> None:
    app = create_exact_app(ExactSimConfig(start_time=START, daily_limit=3, seed=False))
    sim: ExactSim = app.state.sim
    headers = {"Authorization": f"Bearer {sim.issue_tokens()['access_token']}", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        statuses = []
        for _ in range(4):
            statuses.append((await client.get(url("vat/VATCodes"), headers=headers)).status_code)
            sim.clock.advance(61)
        assert statuses == [200, 200, 200, 429]
        sim.clock.advance(86_400)
        headers["Authorization"] = f"Bearer {sim.issue_tokens()['access_token']}"  # the old one expired
        assert (await client.get(url("vat/VATCodes"), headers=headers)).status_code == 200


async def test_exhaust_control(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert (await client.post("/_sim/rate-limit/exhaust", json={})).status_code == 204
    assert (await client.get(url("vat/VATCodes"), headers=headers)).status_code == 429
