"""The chaos suite's short profile (tests/chaos/suite.py), inside `make test`; `make chaos` runs the long one."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.chaos.suite import SHORT, run_chaos

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("redis-server") is None,
    reason="kills processes and finds them through /proc; needs redis-server",
)


async def test_the_service_stays_up_and_the_books_stay_right_through_crashes_and_outages(tmp_path: Path) -> None:
    report = await run_chaos(SHORT, tmp_path)  # the processes' logs, kept by pytest for the last runs
    shown = "\n".join(report.lines())
    print(shown)  # noqa: T201 - the recovery figures, shown with pytest -s
    assert report.orders >= SHORT.orders, shown
    assert (report.duplicates, report.missing, report.in_exact) == (0, 0, report.orders), shown
    assert report.stock_items > 0, shown
    assert report.stock_wrong == {}, shown
    assert (report.webhooks["pending"], report.webhooks["gave_up"]) == (0, 0), shown
    assert report.webhooks["failed_attempts"] > 0, shown  # the API restart made Exact retry some
    assert report.dead == [], shown
    assert 503 in report.api_during_outage and set(report.api_during_outage) <= {503}, shown
    assert all(int(seconds) > 0 for seconds in report.retry_after), shown
    assert {fault for fault, _, _ in report.recoveries} >= {"worker-kill", "redis-kill", "api-restart"}, shown
