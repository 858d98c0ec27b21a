"""Rate limits: the shared budget keeps us under the documented 600/min; a 429 is waited out as the API says."""

from __future__ import annotations

from typing import Any

import pytest

from app.keys import Keys
from connectors.eaccounting import EAccountingClient
from connectors.eaccounting.factory import BUDGET_CALLS, BUDGET_WINDOW_SECONDS
from connectors.errors import RateLimited
from sandbox.eaccounting import Fault

from .conftest import Harness


@pytest.fixture
def sim_config() -> dict[str, Any]:
    return {"rate_limit_per_minute": 5}  # the documented 600, scaled down so a test reaches it


async def test_429_is_waited_out_for_the_seconds_the_message_names(harness: Harness, ea: EAccountingClient) -> None:
    for _ in range(7):
        assert await ea.units()
    counters = harness.sim.counters()
    assert counters["route_statuses"]["GET /v2/units 429"] == 1
    assert counters["route_statuses"]["GET /v2/units 200"] == 7
    assert harness.sleeps == [60.0]  # "Try again in 60 seconds." (no Retry-After header is sent)
    # The wait is shared through Redis: another process waits for the same window instead of hitting 429 too.
    key = Keys(harness.settings.redis.key_prefix).ratelimit("eaccounting", str(harness.settings.eaccounting.client_id))
    blocked = await harness.redis.hget(key, "blocked_until")
    assert blocked is not None and int(blocked) > 0


async def test_other_process_waits_for_the_blocked_window(harness: Harness, ea: EAccountingClient) -> None:
    for _ in range(6):
        await ea.units()
    assert harness.sleeps == [60.0]
    other = harness.client()
    harness.sim.rate.reset()
    # Re-block the shared budget as a 429 would, 20 s ahead: the other process must wait before calling.
    budget_key = Keys(harness.settings.redis.key_prefix).ratelimit(
        "eaccounting", str(harness.settings.eaccounting.client_id)
    )
    await harness.redis.hset(budget_key, "blocked_until", str(int((harness.clock() + 20) * 1000)))
    calls_before = harness.sim.counters()["calls"]["GET /v2/units"]
    assert await other.units()
    assert harness.sleeps[-1] == pytest.approx(20.0)
    assert harness.sim.counters()["calls"]["GET /v2/units"] == calls_before + 1


async def test_retry_after_header_wins_when_sent(harness: Harness, ea: EAccountingClient) -> None:
    harness.sim.add_fault(Fault(status=429, path="/v2/deliveryterms", times=1, retry_after=7))
    assert await ea.delivery_terms()
    assert harness.sleeps == [7.0]


async def test_too_long_a_wait_is_raised_not_slept(harness: Harness, ea: EAccountingClient) -> None:
    harness.sim.add_fault(Fault(status=429, path="/v2/units", times=1, retry_after=3600))
    with pytest.raises(RateLimited) as caught:
        await ea.units()
    assert caught.value.retry_after == 3600
    assert harness.sleeps == []


async def test_budget_spreads_calls_below_the_documented_limit(harness: Harness) -> None:
    harness.sim.rate.limit = None  # only our own budget decides here
    ea = harness.client()
    await harness.connect(ea)
    for _ in range(BUDGET_CALLS + 5):
        await ea.company_settings()
    assert len(harness.sleeps) == 1
    assert 0 < harness.sleeps[0] <= BUDGET_WINDOW_SECONDS
    assert harness.sim.counters()["statuses"].get("429", 0) == 0
