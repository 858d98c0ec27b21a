"""Exact Online checks: the connection and its scopes and clock; per link the division, webhooks and budget.

Every probe is a filtered read that finds nothing (or a small reference list), so a doctor run costs about ten
calls of the division's 60 a minute and 5,000 a day.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.doctor.common import (
    error_verdict,
    in_words,
    mark_broken,
    not_checked,
    skew_verdict,
    stored_token,
    token_words,
)
from app.doctor.context import Connection, DoctorContext, Link
from app.doctor.model import Verdict, fail, ok, warn
from app.subscriptions import webhook_topics
from connectors.errors import AuthError, ConnectorError
from connectors.exact import ExactClient
from connectors.ratelimit import HeaderBudget

SYSTEM = "exact"
MINUTE_RESERVE = 10  # calls of the minute the scope probes leave to the flows
NOTHING = "00000000-0000-0000-0000-000000000000"
PROBE_REF = "ledgerbridge-doctor"

# One cheap read per API scope (scope names as Exact's reference pages give them, docs/exact-online-api.md §2.1).
PROBES: dict[str, Callable[[ExactClient], Awaitable[Any]]] = {
    "Crm accounts": lambda c: c.find_account(NOTHING),
    "Logistics items": lambda c: c.find_item(NOTHING),
    "Logistics inventory": lambda c: c.find_item_warehouse(NOTHING),
    "Sales orders": lambda c: c.find_sales_order_by_yourref(PROBE_REF),
    "Sales invoices": lambda c: c.find_sales_invoice_by_yourref(PROBE_REF),
    "Financial accounting": lambda c: c.find_sales_entry_by_yourref(PROBE_REF),
    "Financial VAT": lambda c: c.vat_codes(),
    "Financial cashflow": lambda c: c.payment_conditions(),
    "Financial generalledgers": lambda c: c.journals(),
    "Organization administration": lambda c: c.webhook_subscriptions(),
}
# What each shipped flow reads or writes in Exact; the orders flow's depends on the document it creates.
FLOW_SCOPES: dict[str, tuple[str, ...]] = {
    "orders": ("Crm accounts", "Logistics items", "Sales orders", "Financial VAT", "Financial cashflow"),
    "products": ("Logistics items",),
    "stock": ("Logistics items", "Logistics inventory"),
    "customers_to_eaccounting": ("Crm accounts",),
    "customers_to_exact": ("Crm accounts", "Financial VAT"),
    "shipments": ("Sales orders",),
}
DOCUMENT_SCOPES: dict[str, tuple[str, ...]] = {
    "sales_invoice": ("Sales invoices", "Financial generalledgers"),
    "direct_invoice": ("Sales invoices", "Financial generalledgers"),
    "journal_entry": ("Financial accounting", "Financial generalledgers"),
}


def _client(target: Connection | Link) -> ExactClient:
    client = target.client if isinstance(target, Connection) else target.exact
    assert isinstance(client, ExactClient)
    return client


def _broken(ctx: DoctorContext, target: Connection | Link) -> Verdict | None:
    return not_checked(ctx, SYSTEM, target.name if isinstance(target, Connection) else target.exact_connection)


async def connection(ctx: DoctorContext, conn: Connection) -> Verdict:
    """Token state in Redis, then `current/Me` (free of the rate limit): who is connected, and Exact's clock."""
    client = _client(conn)
    if (problem := await stored_token(ctx, SYSTEM, conn.name, client)) is not None:
        return problem
    before = ctx.clock()
    try:
        me = await client.me()
    except ConnectorError as exc:
        mark_broken(ctx, SYSTEM, conn.name)
        return error_verdict(SYSTEM, exc, "current/Me")
    ctx.memo[(SYSTEM, conn.name, "me")] = (me, before, ctx.clock())
    words, aging = token_words(SYSTEM, await client.auth_status(), ctx.clock())
    who = " ".join(p for p in (me.full_name, f"<{me.email}>" if me.email else None) if p) or me.user_id
    if aging is not None:
        return aging
    return ok(f"connected as {who}; {words}")


async def scopes(ctx: DoctorContext, conn: Connection) -> Verdict:
    """One read per API scope the enabled flows (and webhooks) use; Exact answers 403 for a missing one."""
    if (broken := _broken(ctx, conn)) is not None:
        return broken
    enabled = await ctx.enabled_flows()
    needed: set[str] = set()
    for flow in enabled:
        needed.update(FLOW_SCOPES.get(flow, ()))
    if "orders" in enabled:
        needed.update(DOCUMENT_SCOPES.get(str(await ctx.option("orders", "document")), ()))
    if ctx.settings.exact.public_webhook_url and webhook_topics({f: ctx.flows[f] for f in enabled}):
        needed.add("Organization administration")
    client = _client(conn)
    if (short := await _minute_too_short(ctx, client, len(needed))) is not None:
        return short
    refused: list[str] = []
    for scope in sorted(needed):
        try:
            await PROBES[scope](client)
        except AuthError as exc:
            if exc.status == 403 and "scope" in exc.message.lower():
                refused.append(scope)
                continue
            return error_verdict(SYSTEM, exc, f"reading with scope {scope}")
        except ConnectorError as exc:
            return error_verdict(SYSTEM, exc, f"reading with scope {scope}")
    if refused:
        return fail(
            f"Exact refuses the API scope{'s' if len(refused) > 1 else ''} {', '.join(refused)} "
            "(403 Application Scope Violated); the flows that need them fail",
            "Add the scopes to the app in the Exact App Center (Exact reviews scope changes of published apps), "
            "then connect Exact again so the new consent covers them.",
        )
    return ok(f"the app may use {', '.join(sorted(needed))}" if needed else "no enabled flow uses Exact")


async def _minute_too_short(ctx: DoctorContext, client: ExactClient, calls: int) -> Verdict | None:
    """Leave the flows their minute: probe only while `calls` plus a reserve remain of Exact's 60 a minute."""
    snapshot = await HeaderBudget(ctx.redis, ctx.keys.ratelimit(SYSTEM, str(await client.division()))).snapshot()
    left, reset = snapshot.get("m_rem"), snapshot.get("m_reset", 0)
    if left is None or reset <= ctx.clock() * 1000 or left >= calls + MINUTE_RESERVE:
        return None
    return warn(
        f"not checked now: {left} of {snapshot.get('m_limit', '?')} Exact calls are left this minute, and the flows "
        f"need them more than the {calls} this check makes",
        "Run the doctor again in a minute.",
    )


async def clock(ctx: DoctorContext, conn: Connection) -> Verdict:
    """Our clock against `current/Me`'s ServerTime (Exact's Amsterdam wall clock, read as UTC)."""
    if (broken := _broken(ctx, conn)) is not None:
        return broken
    seen = ctx.memo.get((SYSTEM, conn.name, "me"))
    if seen is None:
        return warn("not checked: the connection check did not finish (see above)")
    me, before, after = seen
    return skew_verdict(SYSTEM, me.server_time, before, after)


async def division(ctx: DoctorContext, link: Link) -> Verdict:
    if (broken := _broken(ctx, link)) is not None:
        return broken
    try:
        details = await link.exact.division_details()
        number = await link.exact.division()
    except ConnectorError as exc:
        if isinstance(exc, AuthError) and exc.status == 403 and "division" in exc.message.lower():
            return fail(
                f"the connected Exact user may not open division {link.division_configured}",
                "Set EXACT__DIVISION to a division this user may open, or connect Exact as a user who may.",
            )
        return error_verdict(SYSTEM, exc, "system/Divisions")
    if details is None:
        return fail(
            f"division {number} is not among the connected user's divisions",
            "Set EXACT__DIVISION to one of the user's divisions (Exact: the division switcher shows their numbers).",
        )
    name = f"division {number} “{details.description or '?'}”"
    if details.blocking_status not in (None, 0):
        return fail(f"{name} is blocked by Exact (BlockingStatus {details.blocking_status})", "Ask Exact support.")
    if details.status not in (None, 1):
        state = {0: "inactive", 2: "archived"}.get(details.status, f"status {details.status}")
        return fail(f"{name} is {state}", "Reactivate it in Exact, or set EXACT__DIVISION to an active division.")
    if link.division_configured is None:
        return warn(
            f"{name}, taken from current/Me: that is whichever division the user last opened in Exact",
            f"Pin it: EXACT__DIVISION={number}.",
        )
    return ok(f"{name} (EXACT__DIVISION)")


async def webhooks_registered(ctx: DoctorContext, link: Link) -> Verdict:
    topics = webhook_topics({name: ctx.flows[name] for name in await ctx.enabled_flows()})
    url = ctx.settings.exact.public_webhook_url
    if not topics:
        return ok("no enabled flow listens to Exact webhooks")
    if not url:
        return warn(
            f"EXACT__PUBLIC_WEBHOOK_URL is not set: {', '.join(sorted(topics))} changes arrive by polling only, "
            f"every {ctx.settings.worker.poll_interval_seconds} s",
            "For changes within seconds, set EXACT__PUBLIC_WEBHOOK_URL to the public HTTPS address of "
            "POST /webhooks/exact (on the redirect URI's domain) and restart the worker.",
        )
    if (broken := _broken(ctx, link)) is not None:
        return broken
    try:
        subscriptions = await link.exact.webhook_subscriptions()
    except ConnectorError as exc:
        return error_verdict(SYSTEM, exc, "webhooks/WebhookSubscriptions")
    ours = {(s.topic or "").lower() for s in subscriptions if s.callback_url == url}
    missing = sorted(t for t in topics if t.lower() not in ours)
    elsewhere = sorted({s.callback_url or "?" for s in subscriptions if s.callback_url != url})
    if missing:
        other = f"; other subscriptions point at {', '.join(elsewhere)}" if elsewhere else ""
        return fail(
            f"Exact sends no {', '.join(missing)} events to {url}{other}",
            "The worker subscribes when it starts (ENGINE__SUBSCRIBE_WEBHOOKS_ON_START); restart it, or "
            "POST /connections/exact/webhooks with the admin token. Its log says why a subscription failed.",
        )
    return ok(f"{', '.join(sorted(topics))} events go to {url}")


async def webhooks_reachable(ctx: DoctorContext, _link: Link) -> Verdict:
    """POST an empty body to our public URL, as Exact does to validate a subscription (answered 200, no work)."""
    url = ctx.settings.exact.public_webhook_url
    if not url:
        return ok("no public webhook URL to reach (polling only)")
    api_host = urlsplit(ctx.settings.exact.api_base_url).hostname or ""
    real_exact = ".exactonline." in f".{api_host}"
    parts, redirect = urlsplit(url), urlsplit(ctx.settings.exact.redirect_uri)
    if real_exact and parts.scheme != "https":
        return fail(f"{url} is not HTTPS: Exact only calls HTTPS callbacks", "Serve it over HTTPS (a reverse proxy).")
    if real_exact and parts.hostname != redirect.hostname:
        return fail(
            f"{url} is not on the redirect URI's domain ({redirect.hostname}): Exact refuses such callbacks",
            "Use the same domain for EXACT__PUBLIC_WEBHOOK_URL and EXACT__REDIRECT_URI.",
        )
    fix = (
        f"Make {url} reach POST /webhooks/exact of this API from the internet: DNS, reverse proxy, TLS "
        "certificate, firewall. Until then Exact's deliveries fail and changes arrive by polling only."
    )
    started = time.perf_counter()
    try:
        response = await ctx.http.post(url, content=b"", headers={"Content-Type": "application/json"}, timeout=5.0)
    except httpx.HTTPError as exc:
        return fail(f"POST {url} failed: {type(exc).__name__} {exc}".rstrip(), fix)
    took = (time.perf_counter() - started) * 1000
    if not response.is_success:
        return fail(f"POST {url} answered {response.status_code}, not the 2xx Exact needs", fix)
    return ok(f"POST {url} answers {response.status_code} ({took:.0f} ms), as Exact's validation call needs")


async def rate_budget(ctx: DoctorContext, link: Link) -> Verdict:
    """What Exact's `X-RateLimit-*` headers said last (kept in Redis per division by every process)."""
    if (broken := _broken(ctx, link)) is not None:
        return broken
    number = await link.exact.division()
    snapshot = await HeaderBudget(ctx.redis, ctx.keys.ratelimit(SYSTEM, str(number))).snapshot()
    now_ms = ctx.clock() * 1000
    if "d_rem" not in snapshot:
        return ok(f"division {number}: no call counted yet today")
    left, limit, reset = snapshot["d_rem"], snapshot.get("d_limit", 0), snapshot.get("d_reset", 0)
    resets = datetime.fromtimestamp(reset / 1000, UTC).strftime("%H:%M UTC") if reset else "?"
    words = f"division {number}: {left:,} of {limit:,} calls left today (resets {resets})"
    if "m_rem" in snapshot:
        words += f"; {snapshot['m_rem']:,} of {snapshot.get('m_limit', 0):,} this minute"
    blocked = snapshot.get("blocked_until", 0)
    if reset > now_ms and left <= 0:
        return fail(
            words + ": every flow waits until then",
            "Poll less often (WORKER__POLL_INTERVAL_SECONDS, per flow poll_interval_seconds), use webhooks, or "
            "ask Exact for a higher limit.",
        )
    if blocked > now_ms:
        return warn(words + f"; Exact answered 429, calls wait {in_words((blocked - now_ms) / 1000)}")
    if limit and left < limit * 0.1:
        return warn(words, "Poll less often or use webhooks: the day's budget is almost spent.")
    return ok(words)
