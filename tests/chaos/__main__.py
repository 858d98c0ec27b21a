"""`make chaos` (`python -m tests.chaos [--short]`): the chaos suite's long profile, its figures printed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.chaos.suite import LONG, SHORT, run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short profile make test runs")
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    args = parser.parse_args()
    report = asyncio.run(run_chaos(SHORT if args.short else LONG, args.logs))
    sys.stdout.write("\n".join(report.lines()) + "\n")
    broken = report.duplicates or report.missing or report.stock_wrong or report.dead or report.webhooks.get("pending")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
