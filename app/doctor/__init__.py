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
from app.flowconfig import FlowConfigStore
from app.scope import Process
from app.settings import Settings
from connectors.eaccounting.factory import eaccounting_client
from connectors.exact.factory import exact_client
from connectors.keys import DEFAULT_LINK
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
    "targets_from_services",
]


# The doctor's own clients wait at most this long for a rate budget: a spent budget is a finding, not a reason to
# hang (the flows' clients wait up to 90 s). They share the tokens and budgets in Redis with every other process.
BUDGET_PATIENCE_SECONDS = 2.0


async def doctor_context(
    settings: Settings, redis: ArqRedis, flows: Mapping[str, FlowDefinition], process: Process
) -> DoctorContext:
    """The context for a process (the API's lifespan, or the CLI's): every link of the installation, each with
    clients of the doctor's own on the link's connections (they share tokens and budgets in Redis)."""
    links: list[Link] = []
    configs = None
    for link in await process.links():
        engine = process.engine(link)
        configs = configs or engine.configs  # the flows' enabled state as the first link has it
        exact = exact_client(
            settings,
            process.http,
            redis,
            tokens=process.connections.exact(link.exact_connection),
            keys=process.keys,
            division=link.division,
            max_wait=BUDGET_PATIENCE_SECONDS,
        )
        eaccounting = eaccounting_client(
            settings,
            process.http,
            redis,
            tokens=process.connections.eaccounting(link.eaccounting_connection),
            keys=process.keys,
            budget_scope=settings.eaccounting.client_id or link.eaccounting_connection,
            max_wait=BUDGET_PATIENCE_SECONDS,
        )
        links.append(
            Link(
                link.id,
                exact,
                eaccounting,
                exact_connection=link.exact_connection,
                eaccounting_connection=link.eaccounting_connection,
                division_configured=link.division,
            )
        )
    if configs is None:  # an installation without links: the flows' defaults
        configs = FlowConfigStore(redis, process.keys.for_link(DEFAULT_LINK), flows)
    return DoctorContext(settings=settings, redis=redis, flows=flows, configs=configs, http=process.http, links=links)


async def run_doctor_cli(settings: Settings) -> Report:
    """`ledgerbridge doctor`: the checks with services of its own, closed afterwards."""
    from app.main import connect_redis
    from flows.registry import load_flows

    redis = connect_redis(settings)
    flows = load_flows()
    process = Process(settings, redis, flows)
    try:
        return await run_doctor(await doctor_context(settings, redis, flows, process))
    finally:
        await process.aclose()
        await redis.aclose()
