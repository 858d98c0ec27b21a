"""The chaos suite's profiles (how much load, which faults) and its report (what it measured and counted)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Profile:
    """How much load and which faults; `guard_seconds` bounds the whole run."""

    name: str
    orders: int
    stock_changes: int
    load_seconds: float
    worker_kills: int
    faults: tuple[tuple[str, ...], ...]  # played in turn; the faults of one step at once (they hit different parts)
    lease_seconds: float
    guard_seconds: float
    burst: int = 6  # failed answers per 5xx/429 burst


SHORT = Profile(
    name="short",
    orders=120,
    stock_changes=60,
    load_seconds=10.0,
    worker_kills=1,
    faults=(("exact-5xx", "eaccounting-5xx"), ("exact-drop", "api-restart"), ("redis-kill",)),
    lease_seconds=5.0,
    guard_seconds=180.0,  # a stop for a hung run on a loaded machine; it takes about 40 s
    burst=3,
)
LONG = Profile(
    name="long",
    orders=400,
    stock_changes=200,
    load_seconds=60.0,
    worker_kills=3,
    faults=(("exact-5xx",), ("exact-429",), ("exact-drop",), ("eaccounting-5xx",), ("redis-kill",), ("api-restart",)),
    lease_seconds=15.0,
    guard_seconds=420.0,
)


@dataclass
class Report:
    profile: str
    recoveries: list[tuple[str, float, str]] = field(default_factory=list)  # (fault, seconds, what was measured)
    orders: int = 0
    in_exact: int = 0
    duplicates: int = 0
    missing: int = 0
    stock_items: int = 0
    stock_wrong: dict[str, tuple[str, str]] = field(default_factory=dict)  # item: (expected, found)
    webhooks: dict[str, Any] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)
    api_during_outage: list[int] = field(default_factory=list)  # a signed webhook's answers while Redis was away
    retry_after: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"chaos ({self.profile}): {self.seconds:.0f} s"]
        out += [f"  recovery after {fault:<16} {secs:6.1f} s  ({what})" for fault, secs, what in self.recoveries]
        out.append(
            f"  orders: {self.orders} placed, {self.in_exact} in Exact, {self.duplicates} duplicates, "
            f"{self.missing} missing"
        )
        out.append(f"  stock: {self.stock_items} items changed, {len(self.stock_wrong)} not at their last value")
        out.append(
            "  webhooks: {sent} acknowledged, {failed_attempts} failed attempts retried, {pending} pending, "
            "{gave_up} given up".format(**self.webhooks)
        )
        answers = dict(Counter(self.api_during_outage))
        out.append(f"  webhook answers while Redis was away: {answers} (Retry-After {sorted(set(self.retry_after))})")
        out.append(f"  processes dead at the end: {self.dead or 'none'}")
        return out
