"""Helpers for the activity-log tests: a movable clock and an entry factory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.activity import ActivityEntry

T0 = 1_790_000_000.0  # a fixed "now" (2026-09) for deterministic ids and retention maths


class Clock:
    """Seconds since the epoch that a test moves forward by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_entry(**overrides: Any) -> ActivityEntry:
    values: dict[str, Any] = {
        "id": "",
        "flow": "customers",
        "trigger": "webhook",
        "source_system": "exact",
        "source_id": "acc-1",
        "target_system": "eaccounting",
        "target_id": None,
        "outcome": "created",
        "reason": None,
        "error": None,
        "source_payload": {"Name": "Acme BV"},
        "target_payload": {"Name": "Acme BV"},
        "api_calls": [],
        "started_at": datetime(2026, 9, 1, 12, 0, tzinfo=UTC),
        "duration_ms": 12.5,
        "attempt": 1,
        "job_id": None,
        "replay_of": None,
    }
    values.update(overrides)
    return ActivityEntry(**values)
