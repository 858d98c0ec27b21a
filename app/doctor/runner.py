"""Running the checks: installation first, then each connection, then each link; one bounded, guarded call each.

A check that raises or takes longer than `CHECK_TIMEOUT_SECONDS` becomes a `fail` line saying so (its traceback
goes to the log), so a doctor run always finishes with a whole report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from app.doctor import eaccounting, exact, installation
from app.doctor.context import Connection, DoctorContext, Link
from app.doctor.model import CheckResult, Report, Verdict, fail, worst

log = structlog.get_logger("doctor")

CHECK_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[DoctorContext, Any], Awaitable[Verdict]]


INSTALLATION: list[Check] = [
    Check("Redis", installation.redis_reachable),
    Check("Redis persistence", installation.redis_persistence),
    Check("worker", installation.worker_heartbeat),
]
CONNECTION: dict[str, list[Check]] = {
    "exact": [
        Check("Exact connection", exact.connection),
        Check("Exact API scopes", exact.scopes),
        Check("Exact clock", exact.clock),
    ],
    "eaccounting": [
        Check("eAccounting connection", eaccounting.connection),
        Check("eAccounting scopes", eaccounting.scopes),
        Check("eAccounting clock", eaccounting.clock),
    ],
}
LINK: list[Check] = [
    Check("Exact division", exact.division),
    Check("Exact webhooks registered", exact.webhooks_registered),
    Check("Exact webhooks reachable", exact.webhooks_reachable),
    Check("eAccounting company", eaccounting.company),
    Check("eAccounting stock module", eaccounting.stock_module),
    Check("Exact rate budget", exact.rate_budget),
    Check("eAccounting rate budget", eaccounting.rate_budget),
]


async def _run(check: Check, ctx: DoctorContext, target: Connection | Link | None, scope: str) -> CheckResult:
    try:
        verdict = await asyncio.wait_for(check.run(ctx, target), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        verdict = fail(
            f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s",
            "A slow or unreachable API, or a spent rate budget (see the budget lines); run the doctor again.",
        )
    except Exception as exc:
        log.warning("doctor.check_failed", check=check.name, scope=scope, exc_info=True)
        verdict = fail(
            f"the check itself failed: {type(exc).__name__}: {exc}",
            "A bug in ledgerbridge doctor: the log has the traceback (event doctor.check_failed).",
        )
    return CheckResult(name=check.name, scope=scope, status=verdict.status, message=verdict.message, fix=verdict.fix)


async def run_doctor(ctx: DoctorContext) -> Report:
    """Every check, in the order an operator reads them."""
    results = [await _run(check, ctx, None, "installation") for check in INSTALLATION]
    for conn in ctx.connections():
        results += [await _run(check, ctx, conn, conn.scope) for check in CONNECTION[conn.system]]
    for link in ctx.links:
        results += [await _run(check, ctx, link, link.scope) for check in LINK]
    return Report(status=worst([r.status for r in results]), checked_at=datetime.now(UTC), checks=results)


_COLORS = {"ok": "\033[32m", "warn": "\033[33m", "fail": "\033[31m"}
_LABELS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def render_text(report: Report, *, color: bool = False) -> str:
    """The report for a terminal: a section per scope, one line per check, the fix under what needs it."""
    width = max((len(check.name) for check in report.checks), default=10)
    lines = [f"ledgerbridge doctor, {report.checked_at:%Y-%m-%d %H:%M:%S} UTC"]
    scope = None
    for check in report.checks:
        if check.scope != scope:
            scope = check.scope
            lines += ["", scope]
        label = _LABELS[check.status]
        if color:
            label = f"{_COLORS[check.status]}{label}\033[0m"
        lines.append(f"  {label}  {check.name.ljust(width)}  {check.message}")
        if check.fix and check.status != "ok":
            lines.append(f"  {' ' * 4}  {' ' * width}  fix: {check.fix}")
    failing, warnings = len(report.needs_action), sum(c.status == "warn" for c in report.checks)
    summary = "all good" if report.status == "ok" else f"{failing} need action, {warnings} to look at"
    lines += ["", f"{len(report.checks)} checks: {summary}", ""]
    return "\n".join(lines)
