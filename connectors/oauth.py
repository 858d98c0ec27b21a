"""OAuth2 authorization-code tokens shared by all processes: encrypted in Redis, refreshed single-flight.

Both Exact Online and Visma rotate refresh tokens: each refresh returns a new one and the old one dies. Two
processes refreshing with the same refresh token therefore kill the chain (a human must re-consent). So a refresh
happens under a Redis lock, re-reads the stored token after taking the lock (another process may have refreshed),
and persists the rotated token *before* the new access token is used. Exact also refuses a refresh earlier than
570 s after the previous one ("Access token not expired"), expressed here as `min_refresh_interval`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import httpx
import structlog
from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis

from connectors.calls import ApiCall, record
from connectors.errors import AuthError, ReauthorizationRequired, TransientError

log = structlog.get_logger("connectors.oauth")


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds
    issued_at: float  # when this access token was issued (epoch seconds)
    refresh_issued_at: float  # when this refresh token was issued; Exact's unused refresh tokens die after 30 days

    def __repr__(self) -> str:  # never print the tokens
        return f"TokenSet(expires_at={self.expires_at:.0f}, issued_at={self.issued_at:.0f})"


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    system: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str = ""
    client_auth: Literal["form", "basic"] = "form"
    # Refresh this many seconds before expiry...
    refresh_margin: float = 60.0
    # ...but never sooner than this after the previous issue (Exact: 570 s, refused with 401 otherwise).
    min_refresh_interval: float = 0.0
    extra_authorize_params: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return f"OAuthConfig(system={self.system!r}, token_url={self.token_url!r}, client_id={self.client_id!r})"


class TokenStore(Protocol):
    async def get(self) -> TokenSet | None: ...
    async def put(self, tokens: TokenSet) -> None: ...
    async def needs_reauthorization(self) -> str | None: ...
    async def set_needs_reauthorization(self, reason: str | None) -> None: ...
    async def problem(self) -> str | None: ...
    async def set_problem(self, message: str | None) -> None: ...
    def lock(self) -> Any: ...


class RedisTokenStore:
    """Tokens of one connection, Fernet-encrypted at rest in Redis, with a cross-process refresh lock."""

    def __init__(
        self, redis: Redis, *, key: str, fernet: Fernet, lock_key: str | None = None, lock_timeout: float = 60.0
    ) -> None:
        """`key` holds the tokens; `lock_key` the refresh lock (None: a store that only reads, e.g. in a tool)."""
        self._redis = redis
        self._key = key
        self._lock_key = lock_key
        self._fernet = fernet
        self._lock_timeout = lock_timeout

    async def get(self) -> TokenSet | None:
        raw = await self._redis.hget(self._key, "tokens")  # type: ignore[misc]
        if raw is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(raw))
        except (InvalidToken, ValueError) as exc:
            # A changed TOKEN_ENCRYPTION_KEY: the stored tokens are unusable, say so instead of crashing.
            raise ReauthorizationRequired("stored tokens cannot be decrypted (encryption key changed?)") from exc
        return TokenSet(**data)

    async def put(self, tokens: TokenSet) -> None:
        blob = self._fernet.encrypt(json.dumps(asdict(tokens)).encode())
        await self._redis.hset(self._key, mapping={"tokens": blob, "reauth": "", "problem": ""})  # type: ignore[misc]

    async def needs_reauthorization(self) -> str | None:
        raw = await self._redis.hget(self._key, "reauth")  # type: ignore[misc]
        reason = raw.decode() if isinstance(raw, bytes) else raw
        return reason or None

    async def set_needs_reauthorization(self, reason: str | None) -> None:
        await self._redis.hset(self._key, "reauth", reason or "")  # type: ignore[misc]

    async def problem(self) -> str | None:
        raw = await self._redis.hget(self._key, "problem")  # type: ignore[misc]
        text = raw.decode() if isinstance(raw, bytes) else raw
        return text or None

    async def set_problem(self, message: str | None) -> None:
        await self._redis.hset(self._key, "problem", message or "")  # type: ignore[misc]

    def lock(self) -> Any:
        if self._lock_key is None:
            raise RuntimeError("this token store has no lock key: it cannot refresh")
        return self._redis.lock(self._lock_key, timeout=self._lock_timeout, blocking_timeout=self._lock_timeout)


def make_fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def connection_tokens(
    config: OAuthConfig,
    redis: Redis,
    http: httpx.AsyncClient,
    *,
    key: str,
    lock_key: str,
    encryption_key: str | None,
    clock: Callable[[], float] = time.time,
) -> TokenManager:
    """The token manager of one connection: its tokens Fernet-encrypted in Redis under `key`, refreshed under the
    cross-process lock `lock_key`."""
    if encryption_key is None:
        raise ValueError(f"TOKEN_ENCRYPTION_KEY is required to store {config.system} tokens")
    store = RedisTokenStore(redis, key=key, lock_key=lock_key, fernet=make_fernet(encryption_key))
    return TokenManager(config, store, http, clock=clock)


class TokenManager:
    """Hands out valid access tokens for one connection; refreshes single-flight across processes."""

    def __init__(
        self,
        config: OAuthConfig,
        store: TokenStore,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        on_reauthorization: Callable[[str, str], Any] | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._http = http
        self._clock = clock
        self._local_lock = asyncio.Lock()
        self._on_reauth = on_reauthorization

    # -- authorization-code flow -------------------------------------------------------------------------------

    def authorize_url(self, state: str) -> str:
        params = {
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if self.config.scopes:
            params["scope"] = self.config.scopes
        params.update(dict(self.config.extra_authorize_params))
        return f"{self.config.authorize_url}?{urllib.parse.urlencode(params)}"

    async def exchange_code(self, code: str) -> TokenSet:
        """Exchange an authorization code for tokens and store them (clears a pending re-authorization)."""
        tokens = await self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.config.redirect_uri}
        )
        await self._store.put(tokens)
        log.info("oauth.connected", system=self.config.system)
        return tokens

    # -- access tokens -------------------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """Connection state for the admin API (no secrets)."""
        reason = await self._store.needs_reauthorization()
        tokens = await self._store.get() if reason is None else None
        return {
            "system": self.config.system,
            "connected": tokens is not None and reason is None,
            "needs_reauthorization": reason,
            "problem": await self._store.problem(),
            "access_token_expires_at": tokens.expires_at if tokens else None,
            "refresh_token_issued_at": tokens.refresh_issued_at if tokens else None,
        }

    async def note_problem(self, message: str | None) -> None:
        """Remember (or, with None, forget) why the system refuses the connection although its tokens are fine
        (`AccessNotSetUp`): `/connections` shows it until a call succeeds or the system is connected again."""
        await self._store.set_problem(message)

    def _due(self, tokens: TokenSet) -> bool:
        now = self._clock()
        return now >= tokens.expires_at - self.config.refresh_margin

    def _allowed(self, tokens: TokenSet) -> bool:
        return self._clock() >= tokens.issued_at + self.config.min_refresh_interval

    async def access_token(self) -> str:
        tokens = await self._current()
        if not self._due(tokens):
            return tokens.access_token
        return (await self._refresh_single_flight(stale=tokens.access_token)).access_token

    async def after_unauthorized(self, used_access_token: str) -> str | None:
        """A 401 came back for `used_access_token`: return a different valid token to retry with, or None."""
        tokens = await self._current()
        if tokens.access_token != used_access_token and not self._due(tokens):
            return tokens.access_token  # someone else refreshed meanwhile
        if not self._allowed(tokens):
            return None  # refreshing now would be refused (Exact's 570 s rule); report the 401 instead
        fresh = await self._refresh_single_flight(stale=used_access_token, force=True)
        return fresh.access_token if fresh.access_token != used_access_token else None

    async def _current(self) -> TokenSet:
        reason = await self._store.needs_reauthorization()
        if reason:
            raise ReauthorizationRequired(f"re-authorize {self.config.system}: {reason}", system=self.config.system)
        tokens = await self._store.get()
        if tokens is None:
            raise ReauthorizationRequired(
                f"{self.config.system} is not connected: authorize it first", system=self.config.system
            )
        return tokens

    async def _refresh_single_flight(self, *, stale: str, force: bool = False) -> TokenSet:
        async with self._local_lock, self._store.lock():
            # Re-read after taking the lock: another process may have refreshed while we waited.
            tokens = await self._current()
            if tokens.access_token != stale and not self._due(tokens):
                return tokens
            if not force and not self._due(tokens):
                return tokens
            if not self._allowed(tokens):
                wait = tokens.issued_at + self.config.min_refresh_interval - self._clock()
                if tokens.expires_at > self._clock():
                    return tokens  # still valid; refreshing now would be refused
                raise TransientError(
                    f"token expired but refresh is not allowed for {wait:.0f}s", system=self.config.system
                )
            fresh = await self._token_request(
                {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}, previous=tokens
            )
            # Persist the rotated refresh token before anyone uses the new access token.
            await self._store.put(fresh)
            log.info("oauth.refreshed", system=self.config.system, token_expires_at=round(fresh.expires_at))
            return fresh

    async def _token_request(self, form: dict[str, str], previous: TokenSet | None = None) -> TokenSet:
        headers = {"Accept": "application/json"}
        body = dict(form)
        if self.config.client_auth == "basic":
            pair = f"{self.config.client_id}:{self.config.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            body["client_id"] = self.config.client_id
            body["client_secret"] = self.config.client_secret
        started = self._clock()
        perf = time.perf_counter()
        try:
            response = await self._http.post(self.config.token_url, data=body, headers=headers)
        except httpx.TransportError as exc:
            record(ApiCall(self.config.system, "POST", "oauth/token", None, (time.perf_counter() - perf) * 1000))
            raise TransientError(
                f"token endpoint unreachable: {type(exc).__name__}", system=self.config.system
            ) from exc
        record(
            ApiCall(
                self.config.system, "POST", "oauth/token", response.status_code, (time.perf_counter() - perf) * 1000
            )
        )
        payload = _json_or_empty(response)
        if response.is_success and "access_token" in payload:
            return _parse_tokens(payload, started, previous)
        if previous is not None and payload.get("refresh_token"):
            # Seen with Exact: a refused refresh may still rotate the refresh token. Keep what came back.
            await self._store.put(
                TokenSet(
                    access_token=previous.access_token,
                    refresh_token=str(payload["refresh_token"]),
                    expires_at=previous.expires_at,
                    issued_at=previous.issued_at,
                    refresh_issued_at=started,
                )
            )
        description = str(payload.get("error_description") or payload.get("error") or response.reason_phrase)
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(
                f"token endpoint: {description}", system=self.config.system, status=response.status_code
            )
        if form["grant_type"] == "refresh_token" and "not expired" in description.lower():
            raise AuthError(f"refresh refused: {description}", system=self.config.system, status=response.status_code)
        if form["grant_type"] == "refresh_token":
            reason = f"refresh token refused ({description})"
            await self._store.set_needs_reauthorization(reason)
            log.error("oauth.reauthorization_required", system=self.config.system, reason=reason)
            if self._on_reauth is not None:
                result = self._on_reauth(self.config.system, reason)
                if asyncio.iscoroutine(result):
                    await result
            raise ReauthorizationRequired(
                f"re-authorize {self.config.system}: {reason}", system=self.config.system, status=response.status_code
            )
        raise AuthError(f"code exchange refused: {description}", system=self.config.system, status=response.status_code)


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _parse_tokens(payload: dict[str, Any], issued_at: float, previous: TokenSet | None) -> TokenSet:
    # Exact sends expires_in as a string ("600"); Visma as a number.
    expires_in = float(payload.get("expires_in") or 0)
    refresh = payload.get("refresh_token")
    if not refresh and previous is None:
        raise AuthError("token response without refresh_token (is offline_access granted?)")
    return TokenSet(
        access_token=str(payload["access_token"]),
        refresh_token=str(refresh or (previous.refresh_token if previous else "")),
        expires_at=issued_at + expires_in,
        issued_at=issued_at,
        refresh_issued_at=issued_at if refresh else (previous.refresh_issued_at if previous else issued_at),
    )


class BearerAuth(httpx.Auth):
    """httpx auth flow: attach a valid bearer token; on a 401 swap in a refreshed token once and resend."""

    def __init__(self, manager: TokenManager) -> None:
        self._manager = manager

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._manager.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self._manager.after_unauthorized(token)
            if fresh is not None:
                request.headers["Authorization"] = f"Bearer {fresh}"
                yield request
