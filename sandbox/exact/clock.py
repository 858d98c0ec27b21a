"""A controllable clock: wall time (or a fixed start) plus an offset that tests advance.

Every time-dependent rule of the simulator (token lifetimes, the 570 s refresh rule, rate-limit windows,
webhook retry schedules, the deletion log's retention) reads this clock, so a test can cross ten minutes
without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


class SimClock:
    """`now()` is wall-clock UTC (or `start`) plus everything passed to `advance()`."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start
        self._offset = timedelta()

    def now(self) -> datetime:
        base = self._start if self._start is not None else datetime.now(UTC)
        return (base + self._offset).astimezone(UTC)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += timedelta(seconds=seconds)
        return self.now()
