"""Rate-limit budgets shared by every process through Redis, so workers wait for the window instead of hitting 429.

`HeaderBudget` follows what the API reports (Exact: `X-RateLimit-Minutely-Remaining/-Reset`, daily
`X-RateLimit-Remaining/-Reset`, resets in epoch milliseconds) and counts calls made in between.
`WindowBudget` enforces a documented fixed limit per window when the API sends no headers (eAccounting).
Both honour a 429's reset time through `block_until`.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

# Returns milliseconds to wait (0 = go ahead), else takes ARGV[2] calls ('0': only a look) when ARGV[3] calls are
# left in each window. A reservation (ARGV[4] = '1') answers {wait, minute reset, day reset}: what a refund needs.
_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local take = tonumber(ARGV[2])
local need = tonumber(ARGV[3] or '1')
local reserve = ARGV[4] == '1'
local function answer(wait, m_reset, d_reset)
  if reserve then return {wait, m_reset, d_reset} end
  return wait
end
local blocked = tonumber(redis.call('HGET', key, 'blocked_until') or '0')
if blocked > now then return answer(blocked - now, -1, -1) end
local function window(prefix, span)
  local rem = tonumber(redis.call('HGET', key, prefix .. '_rem') or '')
  local reset = tonumber(redis.call('HGET', key, prefix .. '_reset') or '')
  local limit = tonumber(redis.call('HGET', key, prefix .. '_limit') or '')
  if rem == nil or reset == nil then return -1 end
  if now >= reset then
    if limit == nil or span == 0 then return -1 end
    -- The reported window is over: assume a fresh one of the same length until headers say otherwise.
    local periods = math.floor((now - reset) / span) + 1
    reset = reset + periods * span
    rem = limit
    redis.call('HSET', key, prefix .. '_rem', rem, prefix .. '_reset', reset)
  end
  if rem < need then return reset - now end
  return 0
end
local d = window('d', 86400000)
if d > 0 then return answer(d, -1, -1) end
local m = window('m', 60000)
if m > 0 then return answer(m, -1, -1) end
if take == 0 then return answer(0, -1, -1) end
local m_reset, d_reset = -1, -1
if m == 0 then
  redis.call('HINCRBY', key, 'm_rem', -take)
  m_reset = tonumber(redis.call('HGET', key, 'm_reset'))
end
if d == 0 then
  redis.call('HINCRBY', key, 'd_rem', -take)
  d_reset = tonumber(redis.call('HGET', key, 'd_reset'))
end
redis.call('PEXPIRE', key, 172800000)
return answer(0, m_reset, d_reset)
"""

# Give back reserved calls a run did not use, to the windows they were taken from (ARGV: calls, m_reset, d_reset).
_REFUND = """
local key = KEYS[1]
local calls = tonumber(ARGV[1])
if tonumber(redis.call('HGET', key, 'm_reset') or '-2') == tonumber(ARGV[2]) then
  redis.call('HINCRBY', key, 'm_rem', calls)
end
if tonumber(redis.call('HGET', key, 'd_reset') or '-2') == tonumber(ARGV[3]) then
  redis.call('HINCRBY', key, 'd_rem', calls)
end
return 0
"""

# A start time for one more run of the division, `cost` calls each, on a virtual clock (KEYS[2]) that advances one
# run's share of the minute per run: the runs the minute's remaining calls can serve start now, the rest one share
# apart. ARGV: now (ms), cost (calls a run), span (ms). Returns ms to wait before the run starts.
_SCHEDULE = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local span = tonumber(ARGV[3])
local limit = tonumber(redis.call('HGET', KEYS[1], 'm_limit') or '60')
local rem = tonumber(redis.call('HGET', KEYS[1], 'm_rem') or '') or limit
local reset = tonumber(redis.call('HGET', KEYS[1], 'm_reset') or '0')
if now >= reset then rem = limit end
local spacing = span * cost / math.max(limit, 1)
local floor = now - math.max(rem, 0) / cost * spacing
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt < floor then nxt = floor end
redis.call('SET', KEYS[2], nxt + spacing, 'PX', math.max(math.ceil(nxt + spacing - now), 0) + span)
return math.max(0, math.ceil(nxt - now))
"""

# Calls a run reserved up front (app/budgets.py), per budget key: `acquire` spends these before counting in Redis.
prepaid_calls: ContextVar[dict[str, int] | None] = ContextVar("ledgerbridge_prepaid_calls", default=None)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Calls taken from a header budget for one run, and the windows they came from (for the refund)."""

    key: str
    calls: int
    minute_reset: int
    day_reset: int


# ARGV: prefix, limit, remaining, reset(ms). Take the header's view for a new window, else the lower remaining.
_OBSERVE = """
local key = KEYS[1]
local prefix = ARGV[1]
local limit = tonumber(ARGV[2])
local rem = tonumber(ARGV[3])
local reset = tonumber(ARGV[4])
local cur_reset = tonumber(redis.call('HGET', key, prefix .. '_reset') or '0')
local cur_rem = tonumber(redis.call('HGET', key, prefix .. '_rem') or '')
if reset > cur_reset or cur_rem == nil then
  redis.call('HSET', key, prefix .. '_rem', rem, prefix .. '_reset', reset, prefix .. '_limit', limit)
elseif reset == cur_reset and rem < cur_rem then
  redis.call('HSET', key, prefix .. '_rem', rem)
end
redis.call('PEXPIRE', key, 172800000)
return 0
"""

# KEYS[1]: the base of the per-window counters (`:{window start}` is appended), KEYS[2]: the budget's hash.
# ARGV[4] '0': only look (ms to wait before a call would be allowed), count nothing.
_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local span = tonumber(ARGV[3])
local blocked = tonumber(redis.call('HGET', KEYS[2], 'blocked_until') or '0')
if blocked > now then return blocked - now end
local start = now - (now % span)
local wkey = key .. ':' .. start
if ARGV[4] == '0' then
  if tonumber(redis.call('GET', wkey) or '0') >= limit then return start + span - now end
  return 0
end
local count = redis.call('INCR', wkey)
if count == 1 then redis.call('PEXPIRE', wkey, span * 2) end
if count > limit then
  redis.call('DECR', wkey)
  return start + span - now
end
return 0
"""


class RateBudget(Protocol):
    async def acquire(self, now: float) -> float:
        """Count one call and return 0, or return the seconds to wait first (nothing counted)."""
        ...

    async def wait(self, now: float, calls: int = 1) -> float:
        """Seconds until `calls` calls would be allowed (0: now), counting nothing."""
        ...

    async def observe(self, headers: dict[str, str], now: float) -> None: ...

    async def block_until(self, until: float) -> None: ...


class _BlockMixin:
    _redis: Redis
    _key: str

    async def block_until(self, until: float) -> None:
        until_ms = math.ceil(until * 1000)
        await self._redis.hset(self._key, "blocked_until", str(until_ms))  # type: ignore[misc]
        await self._redis.pexpire(self._key, 172_800_000)


class HeaderBudget(_BlockMixin):
    """Budget fed by `X-RateLimit-*` headers (Exact Online; one per app and division)."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)
        self._refund = redis.register_script(_REFUND)
        self._schedule = redis.register_script(_SCHEDULE)

    async def acquire(self, now: float) -> float:
        prepaid = prepaid_calls.get()
        if prepaid and prepaid.get(self._key, 0) > 0:
            prepaid[self._key] -= 1  # reserved for this run already
            return 0.0
        wait_ms = await self._acquire(keys=[self._key], args=[int(now * 1000), 1, 1])
        return max(0.0, int(wait_ms) / 1000)

    async def wait(self, now: float, calls: int = 1) -> float:
        wait_ms = await self._acquire(keys=[self._key], args=[int(now * 1000), 0, calls])
        return max(0.0, int(wait_ms) / 1000)

    async def reserve(self, now: float, calls: int) -> tuple[float, Reservation | None]:
        """Take `calls` calls for one run at once (0 wait), or the seconds until that many are left (nothing taken).

        Several runs of one division starting together then cannot all pass a look at the same last calls and stop
        half-way. Before Exact's headers have told the windows, nothing is counted and nothing is reserved."""
        wait_ms, m_reset, d_reset = await self._acquire(keys=[self._key], args=[int(now * 1000), calls, calls, 1])
        if int(wait_ms) > 0:
            return int(wait_ms) / 1000, None
        if int(m_reset) < 0 and int(d_reset) < 0:
            return 0.0, None  # the windows are not known yet: every call counts on its own
        return 0.0, Reservation(self._key, calls, int(m_reset), int(d_reset))

    async def schedule(self, pace_key: str, now: float, cost: float) -> float:
        """Seconds until one more run costing `cost` calls should start, so the division's runs come due at the rate
        its minute admits them (a back-fill's records spread out instead of all falling due at once)."""
        wait_ms = await self._schedule(keys=[self._key, pace_key], args=[int(now * 1000), cost, 60_000])
        return max(0.0, int(wait_ms) / 1000)

    async def refund(self, reservation: Reservation, unused: int) -> None:
        """Give back the calls of `reservation` a run did not use (to windows that have not reset since)."""
        if unused > 0:
            args = [unused, reservation.minute_reset, reservation.day_reset]
            await self._refund(keys=[self._key], args=args)

    async def observe(self, headers: dict[str, str], now: float) -> None:  # noqa: ARG002 - same signature as others
        lower = {k.lower(): v for k, v in headers.items()}
        for prefix, name in (("m", "x-ratelimit-minutely-"), ("d", "x-ratelimit-")):
            try:
                limit = int(lower[f"{name}limit"])
                remaining = int(lower[f"{name}remaining"])
                reset = int(lower[f"{name}reset"])
            except (KeyError, ValueError):
                continue  # Exact omits the daily headers while the minutely quota is exhausted
            await self._observe(keys=[self._key], args=[prefix, limit, remaining, reset])

    async def snapshot(self) -> dict[str, int]:
        raw = await self._redis.hgetall(self._key)  # type: ignore[misc]
        return {k.decode(): int(v) for k, v in raw.items()}


class WindowBudget(_BlockMixin):
    """A documented fixed limit per window, counted in Redis (for APIs without rate-limit headers)."""

    def __init__(self, redis: Redis, key: str, *, windows_key: str, limit: int, window_seconds: float) -> None:
        self._redis = redis
        self._key = key
        self._windows_key = windows_key
        self._limit = limit
        self._span_ms = int(window_seconds * 1000)
        self._window = redis.register_script(_WINDOW)

    async def acquire(self, now: float) -> float:
        wait_ms = await self._window(
            keys=[self._windows_key, self._key], args=[int(now * 1000), self._limit, self._span_ms, 1]
        )
        return max(0.0, int(wait_ms) / 1000)

    async def wait(self, now: float, calls: int = 1) -> float:
        limit = self._limit - max(calls, 1) + 1
        wait_ms = await self._window(
            keys=[self._windows_key, self._key], args=[int(now * 1000), limit, self._span_ms, 0]
        )
        return max(0.0, int(wait_ms) / 1000)

    async def observe(self, headers: dict[str, str], now: float) -> None:  # noqa: ARG002 - no headers to read
        return None
