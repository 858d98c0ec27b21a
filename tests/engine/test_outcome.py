"""The engine's decision after a run, as the table in app/outcome.py states it (pure: no Redis, no engine)."""

from __future__ import annotations

import pytest

from app.flowconfig import ConfigInvalid
from app.outcome import MAX_BACKOFF_SECONDS, Verdict, backoff, classify
from connectors.errors import AuthError, NotFound, RateLimited, ReauthorizationRequired, Rejected, TransientError
from flows.base import RecordFailed

MAX_TRIES = 3
BASE = 5.0


def verdict(failure: BaseException | None, attempt: int = 1, action: str | None = None) -> Verdict:
    return classify(failure, action=action, attempt=attempt, max_tries=MAX_TRIES, backoff_seconds=BASE)


@pytest.mark.parametrize(
    ("failure", "attempt", "outcome", "retry_in", "dead_letter", "alerts"),
    [
        (TransientError("503", system="exact"), 1, "retrying", 5.0, False, ()),
        (TransientError("503", system="exact"), 2, "retrying", 10.0, False, ()),
        (TransientError("503", system="exact"), 3, "failed", None, True, ("record_failed",)),
        (AuthError("401", system="exact"), 1, "retrying", 5.0, False, ("connection",)),
        (AuthError("401", system="exact"), 3, "failed", None, True, ("connection", "record_failed")),
        (ReauthorizationRequired("gone", system="exact"), 1, "failed", None, True, ("connection", "record_failed")),
        (Rejected("400", system="exact"), 1, "failed", None, True, ("record_failed",)),
        (NotFound("404", system="eaccounting"), 1, "failed", None, True, ("record_failed",)),
        (RecordFailed("SKU-9 is not an Exact item"), 1, "failed", None, True, ("record_failed",)),
        (ConfigInvalid([{"loc": ["options"], "msg": "bad"}]), 1, "failed", None, True, ("record_failed",)),
        (ZeroDivisionError("a bug"), 1, "failed", None, True, ("record_failed",)),
    ],
)
def test_the_table(
    failure: BaseException,
    attempt: int,
    outcome: str,
    retry_in: float | None,
    dead_letter: bool,
    alerts: tuple[str, ...],
) -> None:
    result = verdict(failure, attempt)
    assert (result.outcome, result.retry_in, result.dead_letter, result.alerts) == (
        outcome,
        retry_in,
        dead_letter,
        alerts,
    )
    assert result.counts_as_try and result.reason and result.error is not None


def test_a_handled_record_is_final_and_clears_its_dead_letter() -> None:
    result = verdict(None, action="created")
    assert result == Verdict(outcome="created")
    assert result.final and not result.dead_letter and not result.alerts


def test_a_rate_limit_is_nobodys_failure_deferred_to_the_reset_without_using_a_try() -> None:
    result = verdict(RateLimited("budget exhausted", retry_after=42.0, system="exact"), attempt=3)
    assert result.outcome is None and not result.counts_as_try
    assert result.retry_in == 42.0 and not result.dead_letter and not result.alerts


def test_backoff_doubles_caps_and_waits_for_a_rate_limit_reset() -> None:
    assert [backoff(n, BASE) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff(30, BASE) == MAX_BACKOFF_SECONDS
    assert backoff(1, BASE, RateLimited("429", retry_after=55.0)) == 55.0
