"""Per-division call budgets: 60 a minute (fixed clock-minute windows) and 5,000 a day (UTC days).

Reference §3: 60 calls by 10:00:40 block until 10:01:00, i.e. windows aligned to the clock minute; the daily
window resets at the start of the next (UTC) day, as the sample `X-RateLimit-Reset: 1638489600000` (a UTC
midnight) shows. Resets are epoch **milliseconds**. When the minutely quota is exhausted only the minutely
headers are sent. No `Retry-After` is sent: no source confirms one (?), so the stricter choice is none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.exact.clock import SimClock
from sandbox.exact.errors import ExactApiError

__all__ = ["RateLimiter"]

RATE_LIMIT_MESSAGE = "API rate limit exceeded"


@dataclass
class _Bucket:
    minute: int = -1
    minute_count: int = 0
    day: int = -1
    day_count: int = 0


class RateLimiter:
    def __init__(self, clock: SimClock, minutely: int, daily: int) -> None:
        self.clock = clock
        self.minutely = minutely
        self.daily = daily
        self.buckets: dict[int, _Bucket] = {}
        self.rejected = 0

    def _bucket(self, division: int) -> _Bucket:
        now = self.clock.timestamp()
        minute, day = int(now // 60), int(now // 86400)
        bucket = self.buckets.setdefault(division, _Bucket())
        if bucket.minute != minute:
            bucket.minute, bucket.minute_count = minute, 0
        if bucket.day != day:
            bucket.day, bucket.day_count = day, 0
        return bucket

    def hit(self, division: int) -> dict[str, str]:
        """Count one call; return the headers for its response, or raise the 429 (with its headers)."""
        bucket = self._bucket(division)
        minutely_reset = str((bucket.minute + 1) * 60_000)
        daily_reset = str((bucket.day + 1) * 86_400_000)
        if bucket.day_count >= self.daily:
            self.rejected += 1
            raise ExactApiError(
                429,
                RATE_LIMIT_MESSAGE,
                {"X-RateLimit-Limit": str(self.daily), "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": daily_reset},
            )
        if bucket.minute_count >= self.minutely:
            self.rejected += 1
            raise ExactApiError(
                429,
                RATE_LIMIT_MESSAGE,
                {
                    "X-RateLimit-Minutely-Limit": str(self.minutely),
                    "X-RateLimit-Minutely-Remaining": "0",
                    "X-RateLimit-Minutely-Reset": minutely_reset,
                },
            )
        bucket.minute_count += 1
        bucket.day_count += 1
        return {
            "X-RateLimit-Limit": str(self.daily),
            "X-RateLimit-Remaining": str(self.daily - bucket.day_count),
            "X-RateLimit-Reset": daily_reset,
            "X-RateLimit-Minutely-Limit": str(self.minutely),
            "X-RateLimit-Minutely-Remaining": str(self.minutely - bucket.minute_count),
            "X-RateLimit-Minutely-Reset": minutely_reset,
        }

    def exhaust(self, division: int, *, daily: bool = False) -> None:
        """Use up the current minute's (or day's) budget, as another process of the same app would."""
        bucket = self._bucket(division)
        bucket.minute_count = self.minutely
        if daily:
            bucket.day_count = self.daily
