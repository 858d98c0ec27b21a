"""Visma eAccounting checks: the connection, its scopes and clock; per link the company, its modules, the budget.

eAccounting names the company behind the token in `GET /v2/companysettings` (with `ActivatedModules`); the usual
first-connection refusals arrive as 403 with `No access to module: api_standard` (the company has no API
integration, or the user's default company is another one) or "startup guide has not been completed"
(docs/eaccounting-api.md). Its server time is `Meta.ServerTimeUtc` on every list page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.doctor.common import error_verdict, mark_broken, not_checked, skew_verdict, stored_token, token_words
from app.doctor.context import Connection, DoctorContext, Link
from app.doctor.model import Verdict, fail, ok, warn
from connectors.eaccounting import EAccountingClient
from connectors.eaccounting.factory import BUDGET_CALLS, BUDGET_WINDOW_SECONDS, DOCUMENTED_LIMIT_PER_MINUTE
from connectors.errors import AuthError, ConnectorError

SYSTEM = "eaccounting"
NEEDED_SCOPES = ("ea:api", "ea:sales", "ea:accounting", "offline_access")
MODULE_FIX = (
    "In eAccounting, give the company API access (the integration/API option of its subscription), or connect "
    "again while choosing the right company: Visma uses the user's default company otherwise."
)
STARTUP_FIX = "Log in to eAccounting and finish the company's startup guide, then run the doctor again."


def _client(target: Connection | Link) -> EAccountingClient:
    client = target.client if isinstance(target, Connection) else target.eaccounting
    assert isinstance(client, EAccountingClient)
    return client


def _name(target: Connection | Link) -> str:
    return target.name if isinstance(target, Connection) else target.eaccounting_connection


def _company_refusal(exc: ConnectorError) -> Verdict | None:
    """The company (not the token) refuses the API: no API module, or an unfinished startup guide."""
    text = exc.message.lower()
    if isinstance(exc, AuthError) and "module" in text:
        return fail(f"eAccounting refuses the company's API: {exc.message}", MODULE_FIX)
    if "startup guide" in text or "startupguide" in text.replace(" ", ""):
        return fail(f"eAccounting refuses the company's API: {exc.message}", STARTUP_FIX)
    return None


def _broken(ctx: DoctorContext, target: Connection | Link) -> Verdict | None:
    return not_checked(ctx, SYSTEM, _name(target))


async def connection(ctx: DoctorContext, conn: Connection) -> Verdict:
    """Token state in Redis, then `GET /v2/companysettings` with it (kept for the company and module checks)."""
    client = _client(conn)
    if (problem := await stored_token(ctx, SYSTEM, conn.name, client)) is not None:
        return problem
    try:
        company = await client.company_settings()
    except ConnectorError as exc:
        refusal = _company_refusal(exc)
        if refusal is None:
            mark_broken(ctx, SYSTEM, conn.name)
            return error_verdict(SYSTEM, exc, "companysettings")
        ctx.memo[(SYSTEM, conn.name, "company")] = refusal
        words, _ = token_words(SYSTEM, await client.auth_status(), ctx.clock())
        return ok(f"the token is accepted; {words} (the company refuses the API: see its line)")
    ctx.memo[(SYSTEM, conn.name, "company")] = company
    words, aging = token_words(SYSTEM, await client.auth_status(), ctx.clock())
    if aging is not None:
        return aging
    return ok(f"connected to “{company.name or '?'}”; {words}")


async def scopes(ctx: DoctorContext, conn: Connection) -> Verdict:
    """The scopes asked for (EACCOUNTING__SCOPES) and a read needing `ea:accounting` (companysettings needed
    `ea:sales`)."""
    configured = set(ctx.settings.eaccounting.scopes.split())
    missing = [scope for scope in NEEDED_SCOPES if scope not in configured]
    fix = (
        f"Set EACCOUNTING__SCOPES to '{' '.join(NEEDED_SCOPES)}' (the application in the Visma Developer Portal must "
        "allow them), then connect eAccounting again."
    )
    if missing:
        why = " (without it Visma gives no refresh token)" if "offline_access" in missing else ""
        return fail(f"EACCOUNTING__SCOPES lacks {', '.join(missing)}{why}", fix)
    if (broken := _broken(ctx, conn)) is not None:
        return broken
    if isinstance(ctx.memo.get((SYSTEM, conn.name, "company")), Verdict):  # refused: reads would fail too
        return warn("not checked: the company refuses the API (see its line)")
    try:
        await _client(conn).vat_codes()
    except ConnectorError as exc:
        if isinstance(exc, AuthError) and "scope" in exc.message.lower():
            return fail(f"the token lacks a scope eAccounting needs: {exc.message}", fix)
        return error_verdict(SYSTEM, exc, "vatcodes")
    return ok(f"the token may use {', '.join(NEEDED_SCOPES)}")


async def clock(ctx: DoctorContext, conn: Connection) -> Verdict:
    """Our clock against `Meta.ServerTimeUtc` of a list page that is empty by construction (changed after
    tomorrow), so the check costs one small call whatever the company holds."""
    if (broken := _broken(ctx, conn)) is not None:
        return broken
    if isinstance(ctx.memo.get((SYSTEM, conn.name, "company")), Verdict):
        return warn("not checked: the company refuses the API (see its line)")
    page = _client(conn).iter_customers(datetime.now(UTC) + timedelta(days=1))
    before = ctx.clock()
    try:
        async for _ in page:
            break
    except ConnectorError as exc:
        return error_verdict(SYSTEM, exc, "customers")
    return skew_verdict(SYSTEM, page.server_time_utc, before, ctx.clock())


async def company(ctx: DoctorContext, link: Link) -> Verdict:
    if (broken := _broken(ctx, link)) is not None:
        return broken
    found = ctx.memo.get((SYSTEM, link.eaccounting_connection, "company"))
    if found is None:
        return warn("not checked: the eAccounting connection check did not finish (see above)")
    if isinstance(found, Verdict):  # the company refuses the API
        return found
    modules = ", ".join(found.activated_modules or []) or "none listed"
    where = ", ".join(p for p in (found.country_code, found.currency_code) if p)
    return ok(f"“{found.name or '?'}” ({where}): API access works; modules: {modules}")


async def stock_module(ctx: DoctorContext, link: Link) -> Verdict:
    """With eAccounting's stock module on, `StockBalance` is read-only (API description 2020; issue 12): the
    stock flow cannot set stock there."""
    if (broken := _broken(ctx, link)) is not None:
        return broken
    found = ctx.memo.get((SYSTEM, link.eaccounting_connection, "company"))
    if found is None or isinstance(found, Verdict):
        return warn("not checked: the company's settings could not be read (see above)")
    active = any("stock" in module.lower() for module in found.activated_modules or [])
    flow_on = "stock" in await ctx.enabled_flows()
    if active and flow_on:
        return fail(
            "the stock module is on: eAccounting keeps StockBalance read-only then, so the stock flow cannot set "
            "stock levels",
            "Either let eAccounting's stock module keep stock and turn the stock flow off "
            '(PUT /flows/stock/config with "enabled": false), or switch the stock module off in eAccounting.',
        )
    if active:
        return ok("the stock module is on and the stock flow is off: eAccounting keeps stock itself")
    return ok("the stock module is off: the stock flow sets StockBalance" if flow_on else "the stock flow is off")


async def rate_budget(ctx: DoctorContext, link: Link) -> Verdict:
    """eAccounting has no daily limit; 600 calls a minute per endpoint, of which the budget keeps to 510."""
    # Counted per client, not per company (connectors/eaccounting/factory.py): every link spends the same budget.
    key = ctx.keys.ratelimit(SYSTEM, ctx.settings.eaccounting.client_id or link.eaccounting_connection)
    blocked = await ctx.redis.hget(key, "blocked_until")  # type: ignore[misc]
    per_minute = BUDGET_CALLS * int(60 / BUDGET_WINDOW_SECONDS)
    words = (
        f"no daily limit; {DOCUMENTED_LIMIT_PER_MINUTE} calls a minute per endpoint "
        f"(ledgerbridge keeps to {per_minute})"
    )
    if blocked is not None and int(blocked) > ctx.clock() * 1000:
        wait = int(blocked) / 1000 - ctx.clock()
        return warn(
            f"eAccounting answered 429 (another client on these credentials?); calls wait {wait:.0f} s; {words}"
        )
    return ok(words)
