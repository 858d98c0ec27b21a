"""The reconciliation report as the API route and the CLI run it: the orders flow's context (its stored options
and mappings, the process's connectors, cross-references and caches) handed to `flows.reconcile.reconcile`.

Limits: a period is at most `MAX_DAYS` long (a year and a day), so one request cannot read an administration's
whole history against the rate budget by accident.
"""

from __future__ import annotations

from datetime import date

from app.engine import Engine
from flows.reconcile import Progress, Report, reconcile

__all__ = ["MAX_DAYS", "PeriodInvalid", "run_reconciliation"]

MAX_DAYS = 367
FLOW = "orders"


class PeriodInvalid(ValueError):
    """The period asked for cannot be reported on (the message says why)."""


def check_period(start: date, end: date) -> None:
    if end < start:
        raise PeriodInvalid("'to' is before 'from'")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodInvalid(f"a period is at most {MAX_DAYS} days long")


async def run_reconciliation(engine: Engine, start: date, end: date, progress: Progress | None = None) -> Report:
    """The report of the orders flow over `start`..`end` (both included). Raises `PeriodInvalid`, `KeyError` when
    the orders flow is not installed, `app.flowconfig.ConfigInvalid` for a stored config that no longer validates,
    and `connectors.errors.ConnectorError` when a system cannot answer."""
    check_period(start, end)
    definition = engine.flows[FLOW]
    resolved = await engine.configs.get(FLOW)
    return await reconcile(engine.context(definition, resolved, "manual"), start, end, progress)
