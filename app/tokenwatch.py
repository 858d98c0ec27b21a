"""Warn before a refresh token dies unused: Exact's refresh tokens expire 30 days after they were issued unless a
refresh uses them (docs/exact-online-api.md §2.5), and then only a person's new consent helps.

A running installation refreshes every ten minutes while a flow reads Exact, so this fires only when nothing has
used the connection for weeks (every Exact flow disabled, the worker stopped): the worker checks once an hour and
alerts, through the usual alert channel and its rate limit, from `WARN_DAYS` before the end. The console's overview
shows the same warning (`app/services/overview.py`).
"""

from __future__ import annotations

from typing import Any

import structlog

from app.engine import Engine
from app.scope import Process

log = structlog.get_logger("tokenwatch")

REFRESH_TOKEN_DAYS = {"exact": 30}  # eAccounting does not document a lifetime (reference: eaccounting-facts.md)
WARN_DAYS = 7


def seconds_left(system: str, status: dict[str, Any], now: float) -> float | None:
    """Seconds until the connection's refresh token dies unused (None: no known lifetime or not connected)."""
    days = REFRESH_TOKEN_DAYS.get(system)
    issued = status.get("refresh_token_issued_at")
    if days is None or issued is None or not status.get("connected"):
        return None
    return float(issued) + days * 86400 - now


async def warn_unused_refresh_tokens(process: Process, now: float) -> list[str]:
    """Alert for every connection whose refresh token dies within WARN_DAYS; returns the connections alerted
    (`system/name`). A connection serving several links is checked, and alerted, once."""
    alerted: list[str] = []
    seen: set[tuple[str, str]] = set()
    for link in await process.links():
        engine = process.engine(link)
        for system, name, client in (
            ("exact", link.exact_connection, engine.exact),
            ("eaccounting", link.eaccounting_connection, engine.eaccounting),
        ):
            if (system, name) in seen:
                continue
            seen.add((system, name))
            if await _warn(engine, system, name, client, now):
                alerted.append(f"{system}/{name}")
    return alerted


async def _warn(engine: Engine, system: str, name: str, client: Any, now: float) -> bool:
    try:
        status: dict[str, Any] = await client.auth_status()
    except Exception as exc:  # a connection that cannot even say its state is the doctor's to report
        log.warning("tokenwatch.status_failed", system=system, connection=name, error_type=type(exc).__name__)
        return False
    left = seconds_left(system, status, now)
    if left is None or left > WARN_DAYS * 86400:
        return False
    days = max(0, int(left // 86400))
    message = (
        f"the {system} refresh token of connection {name} has not been used for weeks and dies in {days} days: "
        "re-authorize in the console, or enable a flow that reads it"
        if left > 0
        else f"the {system} refresh token of connection {name} has died unused: re-authorize in the console"
    )
    await engine.alerter.alert("refresh_token_expiring", message, system=system, connection=name, days_left=days)
    return True
