"""A per-task record of the API calls made, so a flow run can report "API calls made" and metrics can count them."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

WAIT = "WAIT"  # the `method` of a recorded rate-limit wait (its duration is the time waited, no request was sent)


@dataclass(frozen=True, slots=True)
class ApiCall:
    system: str
    method: str
    endpoint: str  # path relative to the API root, no query string
    status: int | None  # None: no response (network error)
    duration_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_current: contextvars.ContextVar[list[ApiCall] | None] = contextvars.ContextVar("api_calls", default=None)
_observers: list[Any] = []


def record(call: ApiCall) -> None:
    calls = _current.get()
    if calls is not None:
        calls.append(call)
    for observer in _observers:
        observer(call)


@contextmanager
def capture_calls() -> Iterator[list[ApiCall]]:
    """Collect the calls made inside the block (in this task and tasks it starts)."""
    calls: list[ApiCall] = []
    token = _current.set(calls)
    try:
        yield calls
    finally:
        _current.reset(token)


def add_observer(observer: Any) -> None:
    """Register a callable(ApiCall) called for every call (e.g. the Prometheus counters)."""
    _observers.append(observer)


def remove_observer(observer: Any) -> None:
    if observer in _observers:
        _observers.remove(observer)
