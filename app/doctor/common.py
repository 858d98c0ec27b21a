"""Words shared by the Exact and eAccounting checks: token state, connector errors, clock skew."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.doctor.context import DoctorContext
from app.doctor.model import Verdict, fail, ok, warn
from connectors.eaccounting import EAccountingClient
from connectors.errors import AuthError, ConnectorError, RateLimited, ReauthorizationRequired, TransientError
from connectors.exact import ExactClient

TITLES = {"exact": "Exact", "eaccounting": "eAccounting"}
# Clock skew against an API's server time: fine below, worth a look below, needs action above.
SKEW_OK_SECONDS = 10.0
SKEW_FAIL_SECONDS = 120.0
REFRESH_TOKEN_DAYS = {"exact": 30}  # Exact: an unused refresh token dies after 30 days (docs/exact-online-api.md §2)


def connect_again(system: str, *, again: bool = True) -> str:
    return (
        f"Connect {TITLES[system]}{' again' if again else ''}: the console's Connect button, or open "
        f"/oauth/{system}/authorize with the admin token, and give consent."
    )


def in_words(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def token_problem(system: str, status: dict[str, Any]) -> Verdict | None:
    """A verdict when the stored token state already says a human must act, else None."""
    if status.get("needs_reauthorization"):
        return fail(f"needs a new consent: {status['needs_reauthorization']}", connect_again(system))
    if not status.get("connected"):
        return fail(f"{TITLES[system]} is not connected", connect_again(system, again=False))
    return None


def token_words(system: str, status: dict[str, Any], now: float) -> tuple[str, Verdict | None]:
    """How long the access token lasts, and a warning when an Exact refresh token is close to its 30 days."""
    words = ""
    expires = status.get("access_token_expires_at")
    if isinstance(expires, int | float):
        left = expires - now
        words = f"access token valid {in_words(left)} more" if left > 0 else "access token due for refresh"
    issued = status.get("refresh_token_issued_at")
    days = REFRESH_TOKEN_DAYS.get(system)
    if days and isinstance(issued, int | float):
        age = now - issued
        if age > (days - 5) * 86400:
            return words, warn(
                f"the refresh token is {in_words(age)} old; {TITLES[system]} drops it after {days} days unused",
                "Keep the worker running (it refreshes every few minutes), or connect again before it expires.",
            )
    return words, None


def error_verdict(system: str, exc: ConnectorError, what: str) -> Verdict:
    """A connector error during `what` as a verdict with the fix an operator needs."""
    title = TITLES[system]
    if isinstance(exc, ReauthorizationRequired):
        return fail(f"{title} refused our refresh token ({exc.message})", connect_again(system))
    if isinstance(exc, RateLimited):
        return warn(
            f"{what}: {title}'s rate limit is spent for {in_words(exc.retry_after)}",
            "Wait; the flows resume by themselves when the window resets.",
        )
    if isinstance(exc, AuthError) and exc.status == 401:
        return fail(f"{title} refused our access token (401: {exc.message})", connect_again(system))
    if isinstance(exc, TransientError):
        return fail(
            f"{what}: {title} did not answer ({exc})",
            f"Check this host's network to {title} (DNS, proxy, firewall) and {title}'s status page; "
            "the base URL settings must point at the real API.",
        )
    return fail(f"{what}: {exc}", None)


def skew_verdict(system: str, server: datetime | None, before: float, after: float) -> Verdict:
    """Our clock against the server's (`server` read between `before` and `after` on our clock)."""
    title = TITLES[system]
    if server is None:
        return warn(f"{title} sent no server time to compare with")
    ours = (before + after) / 2
    skew = ours - server.timestamp()
    margin = (after - before) / 2
    side = "ahead of" if skew > 0 else "behind"
    words = f"our clock is {abs(skew):.1f} s {side} {title}'s (±{margin:.1f} s)"
    fix = (
        "Set this host's clock right and keep it synced (NTP: `timedatectl set-ntp true`, chrony); a container "
        "uses its host's clock."
    )
    if abs(skew) - margin > SKEW_FAIL_SECONDS:
        return fail(words + ": timestamps in logs, alerts and `since` filters are off by as much", fix)
    if abs(skew) - margin > SKEW_OK_SECONDS:
        return warn(words, fix)
    return ok(words)


def mark_broken(ctx: DoctorContext, system: str, connection: str) -> None:
    """The connection needs a human: checks that need it say "not checked" instead of failing again."""
    ctx.memo[(system, connection, "broken")] = True


def not_checked(ctx: DoctorContext, system: str, connection: str) -> Verdict | None:
    """A verdict for checks that need a working connection when it has none (else None)."""
    if ctx.memo.get((system, connection, "broken")):
        return warn(f"not checked: the {TITLES[system]} connection {connection!r} needs attention first (see above)")
    return None


async def stored_token(
    ctx: DoctorContext, system: str, connection: str, client: ExactClient | EAccountingClient
) -> Verdict | None:
    """A failing verdict when the token kept in Redis cannot serve (unreadable, never connected, needs consent)."""
    try:
        status = await client.auth_status()
    except ConnectorError as exc:  # stored tokens unreadable (a changed TOKEN_ENCRYPTION_KEY)
        mark_broken(ctx, system, connection)
        return fail(f"the stored tokens cannot be used: {exc.message}", connect_again(system))
    problem = token_problem(system, status)
    if problem is not None:
        mark_broken(ctx, system, connection)
    return problem
