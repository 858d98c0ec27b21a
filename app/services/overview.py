"""A link at a glance, for the console's overview: its connections in words, its flows' state, its API budgets
and the last 24 hours' records per outcome.

Every function takes the link's engine and `now` and returns plain dataclasses the pages format; nothing here
renders. Connection states and flow summaries come from `app.services.connections` and `app.services.flows`, the
functions the JSON API answers with, so the API and the console cannot disagree.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app import format as fmt
from app.engine import Engine
from app.services.connections import connection_status
from app.services.flows import list_flows
from app.tokenwatch import REFRESH_TOKEN_DAYS
from app.tokenwatch import WARN_DAYS as REFRESH_WARN_DAYS
from connectors.errors import ConnectorError

CHART_OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")


@dataclass(slots=True)
class ConnectionView:
    system: str
    title: str
    connected: bool
    words: str
    problem: str | None = None
    warning: str | None = None


@dataclass(slots=True)
class FlowView:
    name: str
    title: str
    enabled: bool | None
    last_run: datetime | None
    backlog: int
    failures_24h: int
    dead_letters: int
    cursor: str
    config_error: str | None = None


@dataclass(slots=True)
class BudgetView:
    system: str
    title: str
    lines: list[str]
    used: int | None = None
    limit: int | None = None


@dataclass(slots=True)
class HourBucket:
    start: datetime
    counts: dict[str, int]


# --- connections -------------------------------------------------------------------------------------------------


async def _division_name(engine: Engine, division: int | None) -> str | None:
    """The division's name (`system/Divisions`), kept an hour in the link's reference cache: it costs an Exact call."""
    if division is None:
        return None

    async def load() -> str | None:
        details = await engine.exact.division_details()
        return details.description if details is not None else None

    try:
        name: str | None = await engine.cache.get(f"console:division-name:{division}", load, ttl=3600)
    except ConnectorError:
        return None
    return name


def _token_words(system: str, status: dict[str, Any], now: datetime) -> tuple[list[str], str | None]:
    """("access renews in 7 min", "refresh token unused for 3 days, expires in 27"), and a warning if near."""
    parts: list[str] = []
    warning = None
    expires = fmt.as_datetime(status.get("access_token_expires_at"))
    if expires is not None:
        verb = "renews" if expires > now else "expired, renews on the next call,"
        parts.append(f"access {verb} {fmt.relative(expires, now)}" if expires > now else f"access {verb}")
    issued = fmt.as_datetime(status.get("refresh_token_issued_at"))
    days = REFRESH_TOKEN_DAYS.get(system)
    if issued is not None and days is not None:
        unused = now - issued
        dies = issued + timedelta(days=days)
        left = (dies - now).total_seconds()
        parts.append(f"refresh token unused for {fmt.span(unused.total_seconds())}, expires in {fmt.span(left)}")
        if left < REFRESH_WARN_DAYS * 86400:
            warning = (
                f"The {system_name(system)} refresh token has not been used for {fmt.span(unused.total_seconds())} "
                f"and dies {fmt.relative(dies, now)} ({fmt.clock(dies, now)}). Re-authorize now, or make sure a flow "
                "that reads Exact runs before then."
            )
    return parts, warning


def system_name(system: str) -> str:
    return "Exact Online" if system == "exact" else "eAccounting"


async def connection_views(engine: Engine, now: datetime) -> list[ConnectionView]:
    """Both connections of the link in words: to what, how the tokens stand, and what needs doing."""
    views = []
    for system, status in (await connection_status(engine)).items():
        title = system_name(system)
        if status.get("error"):
            views.append(
                ConnectionView(system, title, False, "not connected", problem=str(status["error"].get("message")))
            )
            continue
        if status.get("needs_reauthorization"):
            reason = str(status["needs_reauthorization"])
            views.append(ConnectionView(system, title, False, "needs re-authorizing", problem=reason))
            continue
        if not status.get("connected"):
            views.append(ConnectionView(system, title, False, "not connected yet"))
            continue
        if system == "exact":
            division = status.get("division") or engine.scope.link.division
            name = await _division_name(engine, division)
            what = (
                f"connected to Exact division {division}" + (f" - {name}" if name else "")
                if division
                else "connected to Exact (division from the user's current one)"
            )
        else:
            company = engine.scope.link.company
            what = "connected to eAccounting" + (f" company {company}" if company else "")
        parts, warning = _token_words(system, status, now)
        views.append(ConnectionView(system, title, True, "; ".join([what, *parts]), warning=warning))
    return views


# --- flows -------------------------------------------------------------------------------------------------------


def cursor_words(raw: str | None, last_poll: datetime | None, now: datetime) -> str:
    """A poll cursor as a person reads it: "changes since 6 Dec 12:45", or when the source was last asked."""
    moment = None
    if raw:
        moment = fmt.as_datetime(raw)
        if moment is None:
            try:
                data = json.loads(raw)
            except json.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                moment = fmt.as_datetime(data.get("since") or data.get("at"))
    if moment is not None:
        return f"changes since {fmt.clock(moment, now)}"
    if last_poll is not None:
        return f"changes since the last check, {fmt.relative(last_poll, now)} ({fmt.clock(last_poll, now)})"
    if raw:
        return "changes since the last check"
    return "not polled yet: the first poll reads everything"


async def _backlog(engine: Engine, flow: str) -> int:
    """Record runs of the link's flow waiting in the queue."""
    count = 0
    pattern = engine.keys.record_job(flow, "*")
    async for _ in engine.redis.zscan_iter(engine.settings.redis.queue_name, match=pattern, count=500):
        count += 1
    return count


async def flow_views(engine: Engine, now: datetime) -> list[FlowView]:
    """The link's flows (`app.services.flows.list_flows`) with their last run, backlog and last day's failures."""
    since = now - timedelta(hours=24)
    views = []
    for summary in await list_flows(engine):
        newest, _ = await engine.activity.query(flow=summary.name, limit=1)
        failed, _ = await engine.activity.query(flow=summary.name, outcome="failed", since=since, limit=500)
        raw_poll = await engine.redis.get(engine.keys.last_poll(summary.name))
        last_poll = fmt.as_datetime(float(raw_poll)) if raw_poll else None
        views.append(
            FlowView(
                name=summary.name,
                title=summary.title,
                enabled=summary.enabled,
                last_run=newest[0].started_at if newest else None,
                backlog=await _backlog(engine, summary.name),
                failures_24h=len(failed),
                dead_letters=summary.dead_letters,
                cursor=cursor_words(summary.cursor, last_poll, now)
                if summary.polling
                else "no polling: webhooks and manual runs only",
                config_error=summary.config_error,
            )
        )
    return views


# --- API budgets -------------------------------------------------------------------------------------------------


async def budget_views(engine: Engine, now: datetime) -> list[BudgetView]:
    """Exact's own count (its rate-limit headers, per division) and eAccounting's calls in the last minute."""
    views = []
    division = engine.scope.link.division or (await engine.exact.auth_status()).get("division")
    exact = BudgetView("exact", "Exact Online", [])
    if division is not None:
        raw = await engine.redis.hgetall(engine.process.keys.ratelimit("exact", str(division)))  # type: ignore[misc]  # redis-py: Awaitable[T] | T
        snap = {k.decode(): int(v) for k, v in raw.items() if k.decode() != "blocked_until"}
        if "d_limit" in snap and "d_rem" in snap:
            exact.used, exact.limit = snap["d_limit"] - snap["d_rem"], snap["d_limit"]
            resets = fmt.as_datetime(snap.get("d_reset", 0) / 1000)
            exact.lines.append(
                f"{exact.used:,} of {exact.limit:,} calls used today in division {division} "
                f"(resets {fmt.relative(resets, now)})"
            )
        if "m_limit" in snap and "m_rem" in snap:
            exact.lines.append(f"this minute: {snap['m_limit'] - snap['m_rem']} of {snap['m_limit']}")
    if not exact.lines:
        exact.lines.append("no calls counted yet today (Exact allows 5,000 a day and 60 a minute per division)")
    views.append(exact)
    recent, _ = await engine.activity.query(since=now - timedelta(minutes=1), limit=500)
    calls = Counter(str(c.get("system")) for e in recent for c in e.api_calls)
    ea = BudgetView("eaccounting", "eAccounting", [], used=calls.get("eaccounting", 0), limit=600)
    ea.lines.append(
        f"{ea.used} calls in the last minute by this link; eAccounting allows 600 a minute (no daily limit)"
    )
    views.append(ea)
    return views


# --- the 24-hour chart ---------------------------------------------------------------------------------------------


async def outcome_hours(engine: Engine, now: datetime) -> list[HourBucket]:
    """Records per outcome in each of the last 24 whole hours (the current hour last)."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    starts = [end - timedelta(hours=24 - i) for i in range(24)]
    async with engine.redis.pipeline(transaction=False) as pipe:
        for start in starts:
            lo = int(start.timestamp() * 1000)
            hi = int((start + timedelta(hours=1)).timestamp() * 1000) - 1
            for outcome in CHART_OUTCOMES:
                # The activity log's own per-outcome index of the link (scores are epoch ms).
                pipe.zcount(engine.keys.log_index("o", outcome), lo, hi)
        counts = await pipe.execute()
    buckets = []
    for i, start in enumerate(starts):
        row = counts[i * len(CHART_OUTCOMES) : (i + 1) * len(CHART_OUTCOMES)]
        buckets.append(HourBucket(start, {o: int(n) for o, n in zip(CHART_OUTCOMES, row, strict=True)}))
    return buckets
