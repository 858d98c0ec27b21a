"""Wiring one `ExactClient` from the settings: Exact's OAuth, the Redis token store, the per-division rate budget.

- OAuth (docs/exact-online-api.md §2): authorization code at `{auth}/api/oauth2/auth`, tokens at
  `{auth}/api/oauth2/token` with the client id and secret in the form body. Access tokens live 600 s and a new one
  is refused earlier than 570 s after the previous one ("Access token not expired", §2.4), so the refresh margin
  is 20 s: a token is refreshed from 580 s on, inside the 570-600 s window with 10 s to spare for the clock
  difference between us and Exact (our issue time is taken before the token request is sent, Exact's after it
  arrives). `min_refresh_interval=570` makes `TokenManager` refuse to try earlier even after an unexpected 401.
  Refresh tokens rotate; `TokenManager` refreshes single-flight under a Redis lock across processes.
- Rate limit (§3): 60 calls a minute and 5,000 a day per app and division, reported in `X-RateLimit-*` headers on
  every division URL. `HeaderBudget` follows them in Redis, keyed per division, so every process waits for the
  window instead of running into 429. The key needs the division, which may only be known after `current/Me`
  (that call carries no rate-limit headers and does not count): `DivisionBudget` is bound when it is known.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import Redis

from connectors.exact.client import ExactClient
from connectors.exact.policy import SYSTEM, ExactErrorPolicy
from connectors.http import ApiClient
from connectors.keys import Keys
from connectors.oauth import BearerAuth, OAuthConfig, TokenManager, connection_tokens
from connectors.ratelimit import HeaderBudget, Reservation

if TYPE_CHECKING:
    from app.settings import Settings

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "MIN_REFRESH_INTERVAL",
    "REFRESH_MARGIN",
    "DivisionBudget",
    "build_exact_client",
    "exact_client",
    "exact_tokens",
    "oauth_config",
]

ACCESS_TOKEN_SECONDS = 600
MIN_REFRESH_INTERVAL = 570.0
REFRESH_MARGIN = 20.0  # refresh from 580 s: after 570 s (Exact's rule), before 600 s (expiry)


def oauth_config(settings: Settings) -> OAuthConfig:
    section = settings.exact
    auth = section.auth_base_url.rstrip("/")
    if section.client_id is None or section.client_secret is None:
        raise ValueError("EXACT__CLIENT_ID and EXACT__CLIENT_SECRET are required")
    return OAuthConfig(
        system=SYSTEM,
        authorize_url=f"{auth}/api/oauth2/auth",
        token_url=f"{auth}/api/oauth2/token",
        client_id=section.client_id,
        client_secret=section.client_secret.get_secret_value(),
        redirect_uri=section.redirect_uri,
        client_auth="form",
        refresh_margin=REFRESH_MARGIN,
        min_refresh_interval=MIN_REFRESH_INTERVAL,
        # Exact's own parameter (§2.2): 0 = reuse a browser session that is already logged in.
        extra_authorize_params=(("force_login", "0"),),
    )


class DivisionBudget:
    """The `HeaderBudget` of the client's division, bound once the division is known (no limit before that)."""

    def __init__(self, redis: Redis, key_for: Callable[[int], str]) -> None:
        self._redis = redis
        self._key_for = key_for
        self._inner: HeaderBudget | None = None
        self.division: int | None = None

    def bind(self, division: int) -> None:
        if self.division != division:
            self.division = division
            self._inner = HeaderBudget(self._redis, self._key_for(division))

    async def acquire(self, now: float) -> float:
        return 0.0 if self._inner is None else await self._inner.acquire(now)

    async def wait(self, now: float, calls: int = 1) -> float:
        return 0.0 if self._inner is None else await self._inner.wait(now, calls)

    async def reserve(self, now: float, calls: int) -> tuple[float, Reservation | None]:
        return (0.0, None) if self._inner is None else await self._inner.reserve(now, calls)

    async def refund(self, reservation: Reservation, unused: int) -> None:
        if self._inner is not None:
            await self._inner.refund(reservation, unused)

    async def schedule(self, pace_key: Callable[[int], str], now: float, cost: float) -> float:
        """Seconds until one more run of the division should start (0 before the division is known)."""
        if self._inner is None or self.division is None:
            return 0.0
        return await self._inner.schedule(pace_key(self.division), now, cost)

    async def minute_limit(self) -> int | None:
        """The division's minutely limit as Exact's headers last reported it (None: not seen yet)."""
        if self._inner is None:
            return None
        return (await self._inner.snapshot()).get("m_limit")

    async def observe(self, headers: dict[str, str], now: float) -> None:
        if self._inner is not None:
            await self._inner.observe(headers, now)

    async def block_until(self, until: float) -> None:
        if self._inner is not None:
            await self._inner.block_until(until)


def exact_tokens(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    keys: Keys,
    connection: str = "default",
    clock: Callable[[], float] = time.time,
) -> TokenManager:
    """The token manager of one Exact connection (one user's consent). Exact tokens are per user and reach every
    division the user has rights on (docs/exact-online-api.md §2.7), so one manager serves every link on it."""
    secret = settings.token_encryption_key
    return connection_tokens(
        oauth_config(settings),
        redis,
        http,
        key=keys.token(SYSTEM, connection),
        lock_key=keys.token_lock(SYSTEM, connection),
        encryption_key=secret.get_secret_value() if secret is not None else None,
        clock=clock,
    )


def exact_client(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    tokens: TokenManager,
    keys: Keys,
    division: int | None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    max_wait: float = 90.0,
) -> ExactClient:
    """An Exact client on `division` (None: `current/Me`'s) over a connection's `tokens`, with the division's budget.

    :param max_wait: the longest the client waits for its budget in place; longer waits raise `RateLimited`.
    """
    budget = DivisionBudget(redis, lambda number: keys.ratelimit(SYSTEM, str(number)))
    api = ApiClient(
        http,
        base_url=f"{settings.exact.api_base_url.rstrip('/')}/api/v1/",
        policy=ExactErrorPolicy(),
        auth=BearerAuth(tokens),
        budget=budget,
        default_headers={"Accept": "application/json"},
        on_problem=tokens.note_problem,
        sleep=sleep,
        clock=clock,
        max_wait=max_wait,
    )
    return ExactClient(api, tokens, division=division, on_division=budget.bind)


def build_exact_client(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    connection: str = "default",
    max_wait: float = 90.0,
) -> ExactClient:
    """The Exact client of one connection on `EXACT__DIVISION`, sharing `http` and `redis` with the process."""
    keys = Keys.of(settings)
    tokens = exact_tokens(settings, http, redis, keys=keys, connection=connection, clock=clock)
    return exact_client(
        settings,
        http,
        redis,
        tokens=tokens,
        keys=keys,
        division=settings.exact.division,
        clock=clock,
        sleep=sleep,
        max_wait=max_wait,
    )
