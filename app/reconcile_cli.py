"""`ledgerbridge reconcile --from DAY --to DAY [--format csv|json]`: the reconciliation report on stdout.

The report is the one `GET /reconciliation` answers (app/reconciliation.py), run in this process with the
installation's settings, Redis (connections, cross-references, the orders flow's config) and connectors. A progress
bar goes to stderr when it is a terminal; a one-line summary always does. Exit status: 0 when the report ran
(findings or not: they are the report), 2 when it could not (bad period, config, connection).
"""

from __future__ import annotations

import json
from datetime import date
from typing import TextIO

import httpx

from app.flowconfig import ConfigInvalid
from app.main import connect_redis
from app.reconciliation import PeriodInvalid, run_reconciliation
from app.scope import Process, Timing
from app.settings import Settings
from connectors.errors import ConnectorError
from connectors.keys import DEFAULT_LINK
from flows.registry import load_flows

__all__ = ["ProgressBar", "run"]


class ProgressBar:
    """`reconcile [#######.............] 350/1000 documents` on a terminal, redrawn in place; silent otherwise."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.WIDTH * done // total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\rreconcile [{bar}] {done}/{total} documents")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


async def run(
    settings: Settings,
    start: date,
    end: date,
    fmt: str,
    out: TextIO,
    err: TextIO,
    *,
    http: httpx.AsyncClient | None = None,
    timing: Timing | None = None,
    link: str = DEFAULT_LINK,
) -> int:
    """Print the report of `link`; `http` and `timing` may be given (tests route them to the simulators)."""
    redis = connect_redis(settings)
    process = Process(settings, redis, load_flows(), http=http, timing=timing)
    bar = ProgressBar(err)
    try:
        engine = await process.engine_of(link)
        if engine is None:
            raise KeyError(f"no link {link!r}")
        report = await run_reconciliation(engine, start, end, bar)
    except (PeriodInvalid, ConfigInvalid, ConnectorError, KeyError) as exc:
        bar.close()
        err.write(f"ledgerbridge reconcile: {exc}\n")
        return 2
    finally:
        await process.aclose()
        await redis.aclose()
    bar.close()
    out.write(report.csv() if fmt == "csv" else json.dumps(report.to_dict(), indent=2) + "\n")
    summary = report.to_dict()
    err.write(
        f"reconciled {summary['documents']} documents ({summary['transferred']} in Exact) from {start} to {end}: "
        f"{len(report.findings)} findings {summary['findings_by_kind'] or ''}; API calls {summary['api_calls']}\n"
    )
    return 0
