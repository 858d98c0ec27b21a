"""`ledgerbridge doctor` and `GET /health/doctor`: everything an operator asks first, checked and said in words.

Redis reachable and persistent, a worker alive, each connection's token, scopes and clock, each link's Exact
division (and its name), eAccounting company and modules, webhook subscriptions (registered and reachable) and the
rate budget left. Each check returns a `CheckResult` (name, status ok/warn/fail, message, fix); the CLI prints
them and exits 1 when one fails, the route answers them as JSON, and the console can show the same report.
"""

from __future__ import annotations

from collections.abc import Mapping

from arq.connections import ArqRedis

from app.doctor.context import Connection, DoctorContext, Link, targets_from_services
from app.doctor.model import CheckResult, Report, Status
from app.doctor.runner import render_text, run_doctor
from app.services import Services
from app.settings import Settings
from connectors.eaccounting import build_eaccounting_client
from connectors.exact import build_exact_client
from flows.base import FlowDefinition

__all__ = [
    "CheckResult",
    "Connection",
    "DoctorContext",
    "Link",
    "Report",
    "Status",
    "doctor_context",
    "render_text",
    "run_doctor",
    "run_doctor_cli",
]


# The doctor's own clients wait at most this long for a rate budget: a spent budget is a finding, not a reason to
# hang (the flows' clients wait up to 90 s). They share the tokens and budgets in Redis with every other process.
BUDGET_PATIENCE_SECONDS = 2.0


def doctor_context(
    settings: Settings, redis: ArqRedis, flows: Mapping[str, FlowDefinition], services: Services
) -> DoctorContext:
    """The context for a process's own services (the API's lifespan, or the CLI's)."""
    exact = build_exact_client(settings, services.http, redis, max_wait=BUDGET_PATIENCE_SECONDS)
    eaccounting = build_eaccounting_client(settings, services.http, redis, max_wait=BUDGET_PATIENCE_SECONDS)
    return DoctorContext(
        settings=settings,
        redis=redis,
        flows=flows,
        configs=services.engine.configs,
        http=services.http,
        links=targets_from_services(settings, exact, eaccounting),
    )


async def run_doctor_cli(settings: Settings) -> Report:
    """`ledgerbridge doctor`: the checks with services of its own, closed afterwards."""
    from app.main import connect_redis
    from app.services import open_services
    from flows.registry import load_flows

    redis = connect_redis(settings)
    flows = load_flows()
    services = open_services(settings, redis, flows)
    try:
        return await run_doctor(doctor_context(settings, redis, flows, services))
    finally:
        await services.aclose()
        await redis.aclose()
