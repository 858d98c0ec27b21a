"""OAuth 2.0 as Exact runs it (reference §2): one token chain per user and app, strict rotation.

- `GET /api/oauth2/auth` auto-consents and redirects with `?code=…&state=…`. Codes contain `!`, so they
  arrive URL-encoded (`%21`) and a client that forgets to decode them fails, as with the real host.
  Codes live 3 minutes and are single use.
- `POST /api/oauth2/token` (form): `expires_in` is a **string** ("600"). A new access token is refused with
  401 "Access token not expired" until 570 s after the previous one was issued. Every refresh rotates the
  refresh token and the old one is dead at once (the reported grace period is unsure (?), so none here).
  Unused refresh tokens expire after 30 days. A new code exchange ends the previous chain (one live chain
  per user+app). At most 200 token calls per app per day.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sandbox.exact.clock import SimClock
from sandbox.exact.config import ExactSimConfig
from sandbox.exact.errors import ExactApiError

__all__ = ["OAuthState", "TokenError", "oauth_router"]


class TokenError(Exception):
    """A token-endpoint failure in the OAuth error shape `{"error": …, "error_description": …}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class _Code:
    redirect_uri: str
    expires_at: datetime


@dataclass
class OAuthState:
    config: ExactSimConfig
    clock: SimClock
    codes: dict[str, _Code] = field(default_factory=dict)
    access_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expires at
    refresh_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expires at
    rotated: set[str] = field(default_factory=set)
    last_issued_at: datetime | None = None
    token_calls: dict[str, int] = field(default_factory=dict)  # UTC date -> calls
    refreshes: int = 0
    exchanges: int = 0

    # --- authorization --------------------------------------------------------------------------------

    def authorize(self, client_id: str, redirect_uri: str, response_type: str) -> str:
        if client_id != self.config.client_id:
            raise TokenError(400, "invalid_request", "Unknown client_id")
        if not redirect_uri:
            raise TokenError(400, "invalid_request", "redirect_uri is required")
        if self.config.redirect_uri is not None and redirect_uri != self.config.redirect_uri:
            raise TokenError(400, "invalid_request", "redirect_uri does not match the registered redirect URI")
        if response_type != "code":
            raise TokenError(400, "unsupported_response_type", "Only response_type=code is simulated")
        code = f"stampNL001.!{secrets.token_urlsafe(24)}!{secrets.token_urlsafe(8)}"
        self.codes[code] = _Code(redirect_uri, self.clock.now() + timedelta(seconds=self.config.authorization_code_ttl))
        return code

    # --- token endpoint -------------------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> dict[str, str]:
        now = self.clock.now()
        day = now.date().isoformat()
        self.token_calls[day] = self.token_calls.get(day, 0) + 1
        limit = self.config.token_calls_per_day
        if limit is not None and self.token_calls[day] > limit:
            raise TokenError(429, "invalid_request", "Too many token requests for this app today")
        if form.get("client_id") != self.config.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.config.client_secret
        ):
            raise TokenError(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            return self._exchange(form, now)
        if grant == "refresh_token":
            return self._refresh(form, now)
        raise TokenError(400, "unsupported_grant_type", f"grant_type '{grant}' is not supported")

    def _exchange(self, form: dict[str, str], now: datetime) -> dict[str, str]:
        code = form.get("code", "")
        entry = self.codes.pop(code, None)
        if entry is None:
            hint = " (is it still URL-encoded?)" if "%21" in code else ""
            raise TokenError(400, "invalid_grant", f"The authorization code is invalid or was already used{hint}")
        if entry.expires_at <= now:
            raise TokenError(400, "invalid_grant", "The authorization code has expired")
        if form.get("redirect_uri") != entry.redirect_uri:
            raise TokenError(400, "invalid_grant", "redirect_uri does not match the authorization request")
        # Only one live chain per user+app: a new login ends the old one.
        self.access_tokens.clear()
        self.rotated.update(self.refresh_tokens)
        self.refresh_tokens.clear()
        self.exchanges += 1
        return self._issue(now)

    def _refresh(self, form: dict[str, str], now: datetime) -> dict[str, str]:
        token = form.get("refresh_token", "")
        expires_at = self.refresh_tokens.get(token)
        if expires_at is None:
            if token in self.rotated:
                raise TokenError(400, "invalid_grant", "Old refresh token used")
            raise TokenError(400, "invalid_grant", "Invalid refresh token")
        if expires_at <= now:
            raise TokenError(
                400,
                "invalid_request",
                f"The refresh token expired at {expires_at:%Y-%m-%d %H:%M:%S} and it is now {now:%Y-%m-%d %H:%M:%S}",
            )
        if (
            self.last_issued_at is not None
            and (now - self.last_issued_at).total_seconds() < self.config.refresh_min_age
        ):
            # Refused without consuming the refresh token: the client may retry after 570 s.
            raise TokenError(401, "invalid_request", "Access token not expired")
        del self.refresh_tokens[token]
        self.rotated.add(token)
        self.refreshes += 1
        return self._issue(now)

    def _issue(self, now: datetime) -> dict[str, str]:
        access = f"stampNL001.{secrets.token_urlsafe(48)}"
        refresh = f"stampNL001.{secrets.token_urlsafe(48)}"
        self.access_tokens[access] = now + timedelta(seconds=self.config.access_token_ttl)
        self.refresh_tokens[refresh] = now + timedelta(seconds=self.config.refresh_token_ttl)
        self.last_issued_at = now
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(self.config.access_token_ttl),
            "refresh_token": refresh,
        }

    # --- resource access ------------------------------------------------------------------------------

    def check(self, authorization: str | None) -> None:
        """Raise 401 unless `authorization` carries a live bearer token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ExactApiError(401, "Unauthorized", {"WWW-Authenticate": 'Bearer realm="Exact Online"'})
        expires_at = self.access_tokens.get(token.strip())
        if expires_at is None:
            raise ExactApiError(
                401, "Unauthorized", {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="invalid"'}
            )
        if expires_at <= self.clock.now():
            raise ExactApiError(
                401,
                "Unauthorized",
                {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="access token expired"'},
            )

    # --- controls -------------------------------------------------------------------------------------

    def issue_for_tests(self) -> dict[str, str]:
        """A token pair without the browser dance (`/_sim/token`), as if a user had just consented."""
        self.access_tokens.clear()
        self.rotated.update(self.refresh_tokens)
        self.refresh_tokens.clear()
        return self._issue(self.clock.now())

    def expire_refresh_tokens(self) -> int:
        """Age every live refresh token past its 30 days (the 'user must re-consent' state)."""
        past = self.clock.now() - timedelta(seconds=1)
        for token in self.refresh_tokens:
            self.refresh_tokens[token] = past
        return len(self.refresh_tokens)

    def revoke(self) -> int:
        """The user withdraws the app's consent: every access and refresh token stops working at once."""
        revoked = len(self.access_tokens) + len(self.refresh_tokens)
        self.access_tokens.clear()
        self.refresh_tokens.clear()
        return revoked

    def expire_access_tokens(self) -> int:
        past = self.clock.now() - timedelta(seconds=1)
        for token in self.access_tokens:
            self.access_tokens[token] = past
        return len(self.access_tokens)


def _token_error(exc: TokenError) -> JSONResponse:
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status)


def oauth_router() -> APIRouter:
    """Routes on the same host as the REST API; the sim is read from `request.app.state.sim`."""
    router = APIRouter()

    @router.get("/api/oauth2/auth")
    async def authorize(request: Request) -> Response:
        oauth: OAuthState = request.app.state.sim.oauth
        params = request.query_params
        try:
            code = oauth.authorize(
                params.get("client_id", ""), params.get("redirect_uri", ""), params.get("response_type", "")
            )
        except TokenError as exc:
            return _token_error(exc)
        query = {"code": code}
        if params.get("state") is not None:
            query["state"] = params["state"]
        redirect_uri = params["redirect_uri"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(query), status_code=302)

    @router.post("/api/oauth2/token")
    async def token(request: Request) -> Response:
        oauth: OAuthState = request.app.state.sim.oauth
        content_type = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" not in content_type:
            return _token_error(TokenError(400, "invalid_request", "Expected application/x-www-form-urlencoded"))
        # Parsed by hand: no python-multipart dependency for a url-encoded form.
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        try:
            return JSONResponse(oauth.token(fields), headers={"Cache-Control": "no-store"})
        except TokenError as exc:
            return _token_error(exc)

    return router
