"""What the engine does after one run of one record: a pure decision from what happened, tested as a table.

`classify` maps (what the run raised, the try number) to a `Verdict`: the activity-log outcome, whether and when to
run again, whether the record goes to the dead-letter list, and which alert to raise. `app.engine` only carries the
verdict out. The table:

| the run                                   | outcome     | again                     | dead letter | alert       |
|-------------------------------------------|-------------|---------------------------|-------------|-------------|
| handled (created/updated/unchanged/...)   | the flow's  | no                        | cleared     | -           |
| `RateLimited` (a rate budget or a 429)    | none logged | after the budget's reset  | -           | -           |
| `TransientError`, tries left              | retrying    | backoff x 2^(try-1)       | -           | -           |
| `AuthError`, tries left                   | retrying    | backoff                   | -           | connection  |
| `ReauthorizationRequired`                 | failed      | no                        | yes         | both        |
| transient, no tries left                  | failed      | no                        | yes         | record      |
| `AuthError`, no tries left                | failed      | no                        | yes         | both        |
| `ConnectorError` (permanent), `RecordFailed`, `ConfigInvalid`, a bug | failed | no | yes | record |

A rate limit is never the record's fault, so it neither counts as a try nor writes an activity entry: the job is
deferred until the budget allows it (docs/engine.md, "Budgets and fairness").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.flowconfig import ConfigInvalid
from connectors.errors import AuthError, ConnectorError, RateLimited, ReauthorizationRequired, TransientError
from flows.base import RecordFailed

MAX_BACKOFF_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after a run; `outcome` None means: no activity entry (a deferral that is nobody's failure)."""

    outcome: str | None
    reason: str | None = None
    error: dict[str, Any] | None = None
    retry_in: float | None = None  # run again after this many seconds (None: the run is final)
    counts_as_try: bool = True
    dead_letter: bool = False
    alerts: tuple[str, ...] = ()  # "connection" (a human must look at a connection), "record_failed"

    @property
    def final(self) -> bool:
        return self.retry_in is None


def backoff(attempt: int, base_seconds: float, exc: ConnectorError | None = None) -> float:
    """`base * 2^(attempt-1)`, capped at 15 minutes, and never before a rate limit's reset."""
    delay = float(min(base_seconds * (2 ** (attempt - 1)), MAX_BACKOFF_SECONDS))
    if isinstance(exc, RateLimited):
        delay = max(delay, exc.retry_after)
    return delay


def classify(
    failure: BaseException | None, *, action: str | None, attempt: int, max_tries: int, backoff_seconds: float
) -> Verdict:
    """The verdict on one run.

    :param failure: what the run raised (None: the flow returned an outcome).
    :param action: the flow's outcome when it returned one (`created`, `updated`, `unchanged`, `skipped`).
    :param attempt: this run's try number (1 for the first).
    """
    if failure is None:
        return Verdict(outcome=action or "skipped")
    if isinstance(failure, RateLimited):
        wait = max(failure.retry_after, 1.0)
        return Verdict(outcome=None, reason=str(failure), error=failure.to_dict(), retry_in=wait, counts_as_try=False)
    if isinstance(failure, TransientError | AuthError):
        connection: tuple[str, ...] = ("connection",) if isinstance(failure, AuthError) else ()
        if attempt < max_tries and not isinstance(failure, ReauthorizationRequired):
            return Verdict(
                outcome="retrying",
                reason=str(failure),
                error=failure.to_dict(),
                retry_in=backoff(attempt, backoff_seconds, failure),
                alerts=connection,
            )
        return Verdict(
            outcome="failed",
            reason=str(failure),
            error=failure.to_dict(),
            dead_letter=True,
            alerts=(*connection, "record_failed"),
        )
    return Verdict(outcome="failed", dead_letter=True, alerts=("record_failed",), **_describe(failure))


def _describe(failure: BaseException) -> dict[str, Any]:
    if isinstance(failure, ConnectorError):
        return {"reason": str(failure), "error": failure.to_dict()}
    if isinstance(failure, RecordFailed):
        return {"reason": failure.reason, "error": failure.to_dict()}
    if isinstance(failure, ConfigInvalid):
        return {
            "reason": f"flow config invalid: {failure}",
            "error": {"type": "ConfigInvalid", "message": str(failure), "errors": failure.errors},
        }
    return {
        "reason": f"{type(failure).__name__}: {failure}",
        "error": {"type": type(failure).__name__, "message": str(failure)},
    }
