"""Exact Online's error answers turned into the shared error tree, and how long a 429 says to wait.

The REST error body is `{"error": {"code": "", "message": {"lang": "", "value": "<text>"}}}`
(docs/exact-online-api.md §4.6); the value names the broken property ("Mandatory field is missing: Description"),
so it becomes the error's message. Two 403s need a human and are named as such: `Forbidden - WrongDivision` (the
user has no access to the division in the URL) and `Forbidden - Application Scope Violated` (the app lacks the
API scope for the endpoint; mandatory since autumn 2024, §2.1).

A 429 carries no `Retry-After` (none is confirmed, §3 (?)); the wait is read from the reset header of the window
that is spent: `X-RateLimit-Minutely-Reset`, or the daily `X-RateLimit-Reset` (both UTC epoch milliseconds). When
the minute is spent Exact sends only the minutely headers, when the day is spent only the daily ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.errors import (
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    TransientError,
)

__all__ = ["SYSTEM", "ExactErrorPolicy", "error_message"]

SYSTEM = "exact"
_MAX_MESSAGE = 1000
_REJECTED = frozenset({400, 409, 413, 422})


def _body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content.strip() else None
    except ValueError:
        return None


def error_message(response: httpx.Response) -> str:
    """The API's own text: `error.message.value`, else an OAuth-style `error_description`, else the status line."""
    body = _body(response)
    text: Any = None
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            message = error.get("message")
            text = message.get("value") if isinstance(message, Mapping) else message
            text = text or error.get("code")
        elif isinstance(error, str):
            text = body.get("error_description") or error
    if not text:
        # An expired token says why only in this header (`error_description="access token expired"`).
        text = response.headers.get("WWW-Authenticate") or response.reason_phrase or f"HTTP {response.status_code}"
    return str(text)[:_MAX_MESSAGE]


def _reset_ms(headers: httpx.Headers, prefix: str) -> int | None:
    try:
        return int(headers[f"{prefix}Reset"])
    except (KeyError, ValueError):
        return None


def _remaining(headers: httpx.Headers, prefix: str) -> int | None:
    try:
        return int(headers[f"{prefix}Remaining"])
    except (KeyError, ValueError):
        return None


class ExactErrorPolicy:
    """`connectors.http.ErrorPolicy` for the Exact Online REST API."""

    system = SYSTEM

    def __init__(self, *, default_wait: float = 60.0, skew: float = 1.0) -> None:
        # Without any header the minute window is over within 60 s. `skew` is added to a reset time: our clock and
        # Exact's differ a little, and waking a moment early only earns another 429 (and an error on the budget).
        self.default_wait = default_wait
        self.skew = skew

    def retry_after(self, response: httpx.Response, now: float) -> float:
        """Seconds until the spent window resets (the later one if both are spent), from the reset headers."""
        headers = response.headers
        resets: list[int] = []
        for prefix in ("X-RateLimit-Minutely-", "X-RateLimit-"):
            reset = _reset_ms(headers, prefix)
            remaining = _remaining(headers, prefix)
            if reset is not None and (remaining is None or remaining <= 0):
                resets.append(reset)
        if not resets:
            return self.default_wait
        return max(0.0, max(resets) / 1000 - now) + self.skew

    def error(self, response: httpx.Response, endpoint: str) -> ConnectorError:
        status = response.status_code
        message = error_message(response)
        body = _body(response)
        error = body.get("error") if isinstance(body, Mapping) else None
        code = error.get("code") if isinstance(error, Mapping) else None
        common: dict[str, Any] = {
            "system": SYSTEM,
            "status": status,
            "endpoint": endpoint,
            "details": {"code": code or None, "message": message},
        }
        lowered = message.lower()
        if status == 429:
            return RateLimited(message, retry_after=self.retry_after(response, time.time()), **common)
        if status == 403 and "wrongdivision" in lowered.replace(" ", ""):
            return AuthError(
                f"{message}: the connected Exact user has no access to this division (check EXACT__DIVISION)",
                **common,
            )
        if status == 403 and "scope" in lowered:
            return AuthError(
                f"{message}: the app lacks the API scope for {endpoint}; grant it in the Exact App Center",
                **common,
            )
        if status in (401, 403):
            return AuthError(message, **common)
        if status == 404:
            return NotFound(message, **common)
        if status in _REJECTED:
            return Rejected(message, **common)
        if status == 501:  # not implemented: retrying cannot help
            return PermanentError(message, **common)
        if status >= 500:
            return TransientError(message, **common)
        if status >= 400:  # 405, 406, 415: a request this connector should never send
            return PermanentError(message, **common)
        return PermanentError(f"unexpected HTTP {status}: {message}", **common)
