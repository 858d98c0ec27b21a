"""The periodic check warns before Exact's refresh token would die unused (30 days), not before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from structlog.testing import capture_logs

from app.services import overview
from app.tokenwatch import warn_unused_refresh_tokens


async def _issued(world: Any) -> float:
    return float((await world.exact.auth_status())["refresh_token_issued_at"])


async def test_no_alert_while_the_refresh_token_has_weeks_left(world: Any) -> None:
    issued = await _issued(world)
    with capture_logs() as logs:
        assert await warn_unused_refresh_tokens(world.process, issued + 22 * 86400) == []
    assert not [e for e in logs if e["event"] == "alert"]


async def test_alert_a_week_before_the_exact_refresh_token_dies_unused(world: Any) -> None:
    issued = await _issued(world)
    with capture_logs() as logs:
        assert await warn_unused_refresh_tokens(world.process, issued + 24 * 86400) == ["exact/default"]
    alert = next(e for e in logs if e["event"] == "alert")
    assert alert["kind"] == "refresh_token_expiring"
    assert "dies in 6 days" in alert["alert_message"]


async def test_the_overview_warns_in_words_too(world: Any) -> None:
    issued = await _issued(world)
    now = datetime.fromtimestamp(issued, tz=UTC) + timedelta(days=25)
    exact = next(v for v in await overview.connection_views(world.engine, now) if v.system == "exact")
    assert "refresh token unused for 25 days, expires in 5 days" in exact.words
    assert exact.warning is not None and "Re-authorize now" in exact.warning
    fresh = next(
        v for v in await overview.connection_views(world.engine, now - timedelta(days=22)) if v.system == "exact"
    )
    assert fresh.warning is None
