"""Wiring one `EAccountingClient` from the settings: Visma Connect OAuth, the Redis token store, the rate budget.

- OAuth: authorization code at `{identity}/connect/authorize`, tokens at `{identity}/connect/token` with the client
  authenticating by HTTP Basic (as Visma's documentation shows). Access tokens live an hour; refresh tokens rotate
  and may be one-time (docs/eaccounting-api.md §2), which is exactly what `TokenManager`'s single-flight refresh
  under a Redis lock protects. `prompt=login` and `acr_values=...forceselectcompany:true` make the admin pick the
  company to connect, as the documentation's example does.
- Rate limit: documented as 600 calls per minute per client *and endpoint*, enforced by the API over a sliding
  minute. One budget for all endpoints is stricter than that and needs no endpoint in the budget interface; it is
  counted in fixed 10-second windows of 85 calls, because a sliding minute overlaps at most seven such windows
  (7 x 85 = 595 <= 600), so no minute ever sees more than the limit however the windows fall (a fixed 600-per-60-s
  window could let 1200 through across a boundary). That still allows 510 calls a minute. A 429 despite the budget
  (another client on the same credentials) is waited out by `ApiClient` with the wait the API names. The limit
  names the client, not the company: a token reaches one company, but every company's calls come from our one
  client, so the budget is keyed by the client id and every connection (every link) spends the same one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import Redis

from connectors.eaccounting.client import MAX_PAGE_SIZE, EAccountingClient
from connectors.eaccounting.policy import SYSTEM, EAccountingErrorPolicy
from connectors.http import ApiClient
from connectors.keys import Keys
from connectors.oauth import BearerAuth, OAuthConfig, TokenManager, connection_tokens
from connectors.ratelimit import WindowBudget

if TYPE_CHECKING:
    from app.settings import Settings

__all__ = [
    "BUDGET_CALLS",
    "BUDGET_WINDOW_SECONDS",
    "DOCUMENTED_LIMIT_PER_MINUTE",
    "build_eaccounting_client",
    "eaccounting_client",
    "eaccounting_tokens",
    "oauth_config",
]

DOCUMENTED_LIMIT_PER_MINUTE = 600
BUDGET_WINDOW_SECONDS = 10.0
BUDGET_CALLS = 85
# The eAccounting service id of Visma Connect, from Visma's authorize-URL example (docs/eaccounting-api.md §2).
_ACR_VALUES = "service:44643EB1-3F76-4C1C-A672-402AE8085934 forceselectcompany:true"


def oauth_config(settings: Settings) -> OAuthConfig:
    section = settings.eaccounting
    identity = section.identity_base_url.rstrip("/")
    if section.client_id is None or section.client_secret is None:
        raise ValueError("EACCOUNTING__CLIENT_ID and EACCOUNTING__CLIENT_SECRET are required")
    return OAuthConfig(
        system=SYSTEM,
        authorize_url=f"{identity}/connect/authorize",
        token_url=f"{identity}/connect/token",
        client_id=section.client_id,
        client_secret=section.client_secret.get_secret_value(),
        redirect_uri=section.redirect_uri,
        scopes=section.scopes,
        client_auth="basic",
        refresh_margin=60.0,
        min_refresh_interval=0.0,
        extra_authorize_params=(("prompt", "login"), ("acr_values", _ACR_VALUES)),
    )


def eaccounting_tokens(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    keys: Keys,
    connection: str = "default",
    clock: Callable[[], float] = time.time,
) -> TokenManager:
    """The token manager of one eAccounting connection: a token is bound to the one company chosen at consent."""
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


def eaccounting_client(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    tokens: TokenManager,
    keys: Keys,
    budget_scope: str,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    page_size: int = MAX_PAGE_SIZE,
    max_wait: float = 90.0,
) -> EAccountingClient:
    """An eAccounting client over a connection's `tokens`, counting its calls in the budget `budget_scope`."""
    budget = WindowBudget(
        redis,
        keys.ratelimit(SYSTEM, budget_scope),
        windows_key=keys.ratelimit_windows(SYSTEM, budget_scope),
        limit=BUDGET_CALLS,
        window_seconds=BUDGET_WINDOW_SECONDS,
    )
    api = ApiClient(
        http,
        base_url=settings.eaccounting.api_base_url,
        policy=EAccountingErrorPolicy(),
        auth=BearerAuth(tokens),
        budget=budget,
        default_headers={"Accept": "application/json"},
        on_problem=tokens.note_problem,
        sleep=sleep,
        clock=clock,
        max_wait=max_wait,
    )
    return EAccountingClient(api, tokens, page_size=page_size)


def build_eaccounting_client(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    connection: str = "default",
    page_size: int = MAX_PAGE_SIZE,
    max_wait: float = 90.0,
) -> EAccountingClient:
    """The eAccounting client of one connection, sharing `http` and `redis` with the rest of the process."""
    keys = Keys.of(settings)
    tokens = eaccounting_tokens(settings, http, redis, keys=keys, connection=connection, clock=clock)
    return eaccounting_client(
        settings,
        http,
        redis,
        tokens=tokens,
        keys=keys,
        # Visma counts the limit per client (and endpoint), not per company: one budget for every connection.
        budget_scope=settings.eaccounting.client_id or connection,
        clock=clock,
        sleep=sleep,
        page_size=page_size,
        max_wait=max_wait,
    )
