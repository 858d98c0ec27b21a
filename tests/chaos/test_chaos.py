"""The chaos suite's short profile (tests/chaos/suite.py), inside `make test`; `make chaos` runs the long one."""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.chaos.suite import SHORT, run_chaos

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("redis-server") is None,
    reason="kills processes and finds them through /proc; needs redis-server",
)


async def test_the_service_stays_up_and_the_books_stay_right_through_crashes_and_outages() -> None:
    report = await run_chaos(SHORT)
    print("\n".join(report.lines()))  # noqa: T201 - the recovery figures, shown with pytest -s
    assert report.orders >= SHORT.orders
    assert report.duplicates == 0
    assert report.missing == 0
    assert report.in_exact == report.orders
    assert report.stock_items > 0
    assert report.stock_wrong == {}
    assert report.webhooks["pending"] == 0
    assert report.webhooks["gave_up"] == 0
    assert report.webhooks["failed_attempts"] > 0  # the API restart made Exact retry some
    assert report.dead == []
    assert 503 in report.api_during_outage and set(report.api_during_outage) <= {503}
    assert all(int(seconds) > 0 for seconds in report.retry_after)
    assert {fault for fault, _, _ in report.recoveries} >= {"worker-kill", "redis-kill", "api-restart"}
