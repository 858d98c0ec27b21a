"""Infrastructure of the simulator: clock, OAuth grants, rate windows, faults and counters.

Kept apart from the business rules (`domain.py`) so each stays small. Everything is in memory and
single-threaded (one event loop), so no locks are needed.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import NO_ACCESS_TO_SCOPES, NOT_AUTHORIZED, RATE_LIMITED, ApiError

__all__ = ["AccessGrant", "Counters", "Fault", "OAuthState", "RateLimiter", "SimClock"]


class SimClock:
    """Wall-clock time plus an offset, or a frozen instant when a start time is given (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._frozen = start.astimezone(UTC) if start is not None else None
        self._offset = timedelta()

    def now(self) -> datetime:
        base = self._frozen if self._frozen is not None else datetime.now(UTC)
        return base + self._offset

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        return self.now()


@dataclass
class Fault:
    """An injected failure: the next `times` matching requests get `status` (None = until cleared)."""

    status: int
    path: str | None = None
    method: str | None = None
    times: int | None = 1
    skip: int = 0
    error_code: int | None = None
    message: str | None = None
    retry_after: int | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or path.startswith(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "path": self.path,
            "method": self.method,
            "times": self.times,
            "skip": self.skip,
            "error_code": self.error_code,
            "message": self.message,
            "retry_after": self.retry_after,
            "hits": self.hits,
        }


@dataclass(frozen=True)
class AccessGrant:
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime
    company: str | None = None  # the company chosen at consent; the token reaches that company only


@dataclass
class _RefreshGrant:
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime
    used_at: datetime | None = None
    company: str | None = None


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    expires_at: datetime
    used: bool = False
    company: str | None = None


class OAuthError(Exception):
    """An RFC 6749 token-endpoint error (`invalid_grant`, `invalid_client`, ...)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class OAuthState:
    """Authorization codes, access tokens and one-time refresh tokens of the identity server."""

    clock: SimClock
    access_ttl: int
    refresh_ttl: int
    refresh_grace: int
    code_ttl: int
    codes: dict[str, _AuthCode] = field(default_factory=dict)
    access: dict[str, AccessGrant] = field(default_factory=dict)
    refresh: dict[str, _RefreshGrant] = field(default_factory=dict)
    # The company the user picks on the consent page (a host of several companies sets it; `sandbox/.../host.py`).
    selected_company: str | None = None

    def new_code(self, client_id: str, redirect_uri: str, scopes: frozenset[str]) -> str:
        code = secrets.token_urlsafe(24)
        expires = self.clock.now() + timedelta(seconds=self.code_ttl)
        self.codes[code] = _AuthCode(client_id, redirect_uri, scopes, expires, company=self.selected_company)
        return code

    def issue(self, client_id: str, scopes: frozenset[str], company: str | None = None) -> dict[str, Any]:
        """A token response as Visma Connect (IdentityServer) sends it; the tokens are bound to `company`."""
        now = self.clock.now()
        token = secrets.token_urlsafe(32)
        self.access[token] = AccessGrant(client_id, scopes, now + timedelta(seconds=self.access_ttl), company)
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": self.access_ttl,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
        }
        if "offline_access" in scopes:
            refresh = secrets.token_urlsafe(32)
            expires = now + timedelta(seconds=self.refresh_ttl)
            self.refresh[refresh] = _RefreshGrant(client_id, scopes, expires, company=company)
            body["refresh_token"] = refresh
        return body

    def redeem_code(self, client_id: str, code: str, redirect_uri: str | None) -> dict[str, Any]:
        grant = self.codes.get(code)
        if grant is None or grant.used or grant.client_id != client_id or self.clock.now() >= grant.expires_at:
            raise OAuthError("invalid_grant", "Invalid, expired or already used authorization code")
        if redirect_uri != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the one of the authorization request")
        grant.used = True
        return self.issue(client_id, grant.scopes, grant.company)

    def redeem_refresh(self, client_id: str, token: str, scope: str | None) -> dict[str, Any]:
        grant = self.refresh.get(token)
        now = self.clock.now()
        if grant is None or grant.client_id != client_id or now >= grant.expires_at:
            raise OAuthError("invalid_grant", "Invalid or expired refresh token")
        if grant.used_at is not None and now >= grant.used_at + timedelta(seconds=self.refresh_grace):
            raise OAuthError("invalid_grant", "Refresh token has already been used")
        scopes = grant.scopes
        if scope:
            asked = frozenset(scope.split())
            if not asked <= grant.scopes:
                raise OAuthError("invalid_scope", "Requested scope exceeds the granted scope")
            scopes = asked | ({"offline_access"} & grant.scopes)
        if grant.used_at is None:
            grant.used_at = now
        return self.issue(client_id, scopes, grant.company)

    def expire_refresh_tokens(self, token: str | None = None) -> int:
        """Make refresh tokens unusable (all, or one) as if they had expired; returns how many."""
        past = self.clock.now() - timedelta(seconds=1)
        hit = 0
        for key, grant in self.refresh.items():
            if token is None or key == token:
                grant.expires_at = past
                hit += 1
        return hit

    def revoke(self) -> int:
        """The user withdraws the integration's consent: every access and refresh token stops working at once."""
        revoked = len(self.access) + len(self.refresh)
        self.access.clear()
        self.refresh.clear()
        return revoked

    def grant_of(self, header: str | None) -> AccessGrant | None:
        """The grant behind an `Authorization: Bearer` header, valid or not (None: no such token)."""
        if not header or not header.startswith("Bearer "):
            return None
        return self.access.get(header[len("Bearer ") :].strip())

    def authenticate(self, header: str | None) -> AccessGrant:
        """The grant behind an `Authorization: Bearer` header, or 401."""
        if not header or not header.startswith("Bearer "):
            raise _unauthorized("Authorization has been denied for this request.")
        grant = self.access.get(header[len("Bearer ") :].strip())
        if grant is None:
            raise _unauthorized("Authorization has been denied for this request.")
        if self.clock.now() >= grant.expires_at:
            raise _unauthorized("Authorization has been denied for this request. The access token has expired.")
        return grant


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, NOT_AUTHORIZED, message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def check_scopes(grant: AccessGrant, accepted: frozenset[str]) -> None:
    """`ea:api` plus any one of the scopes the operation lists in the description, or 403."""
    if "ea:api" not in grant.scopes or (accepted and not accepted & grant.scopes):
        wanted = ", ".join(sorted(s for s in accepted if not s.startswith("ea.local")))
        raise ApiError(
            403, NO_ACCESS_TO_SCOPES, f"The access token lacks a required scope: ea:api and one of {wanted}."
        )


class RateLimiter:
    """A sliding 60-second window per (client, endpoint) of accepted requests."""

    def __init__(self, clock: SimClock, limit: int | None, send_retry_after: bool) -> None:
        self.clock = clock
        self.limit = limit
        self.send_retry_after = send_retry_after
        self._windows: dict[tuple[str, str], deque[datetime]] = {}

    def check(self, client_id: str, endpoint: str) -> None:
        if self.limit is None:
            return
        now = self.clock.now()
        window = self._windows.setdefault((client_id, endpoint), deque())
        horizon = now - timedelta(seconds=60)
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= self.limit:
            wait = max(1, math.ceil((window[0] - horizon).total_seconds()))
            headers = {"Retry-After": str(wait)} if self.send_retry_after else {}
            message = (
                f"API calls quota exceeded! maximum admitted {self.limit} per Minute. Try again in {wait} seconds."
            )
            raise ApiError(429, RATE_LIMITED, message, headers)
        window.append(now)

    def reset(self) -> None:
        self._windows.clear()


@dataclass
class Counters:
    """Calls per `METHOD /path-template`, per status, and per (route, status)."""

    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    route_statuses: Counter[str] = field(default_factory=Counter)

    def count(self, route: str, status: int) -> None:
        self.calls[route] += 1
        self.statuses[status] += 1
        self.route_statuses[f"{route} {status}"] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": sum(self.calls.values()),
            "calls": dict(sorted(self.calls.items())),
            # Requests that may change something (any method but GET/HEAD/OPTIONS) to the API, not the identity server.
            "writes": sum(
                n
                for route, n in self.calls.items()
                if route.split(" ", 1)[0] not in ("GET", "HEAD", "OPTIONS") and "/v2/" in route
            ),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "route_statuses": dict(sorted(self.route_statuses.items())),
        }

    def reset(self) -> None:
        self.calls.clear()
        self.statuses.clear()
        self.route_statuses.clear()
