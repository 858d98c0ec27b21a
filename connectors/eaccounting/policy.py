"""eAccounting's error answers turned into the shared error tree, and how long a 429 says to wait.

The error body is `{"ErrorCode": 2000, "DeveloperErrorMessage": "...", "ErrorId": "<uuid>", "Errors": []}`
(docs/eaccounting-api.md §3). `DeveloperErrorMessage` is what names the broken field, so it becomes the error's
message; `ErrorCode` and `ErrorId` (what Visma support asks for) go into `details`. The documented 429 carries no
`Retry-After`; its wait is only in the message ("Try again in 55 seconds."), and failing that the documented
window (600 calls per minute) means waiting at most a minute.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

import httpx

from connectors.errors import (
    AccessNotSetUp,
    AuthError,
    ConnectorError,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    TransientError,
)

__all__ = [
    "API_MODULE_ACTION",
    "STARTUP_GUIDE_ACTION",
    "SYSTEM",
    "EAccountingErrorPolicy",
    "ErrorCode",
    "access_problem",
]

SYSTEM = "eaccounting"
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.IGNORECASE)
_MAX_MESSAGE = 1000


class ErrorCode:
    """The documented `ErrorCode` values we act on (developer.vismaonline.com/docs/error-codes)."""

    DATA_MODEL_VALIDATION = 2000
    RESOURCE_NOT_FOUND = 3000
    FISCAL_YEAR_NOT_FOUND = 3001
    ACCOUNT_NOT_FOUND = 3002
    CONFLICT = 4000
    CANNOT_BE_DELETED = 4001
    CANNOT_BE_CREATED_OR_UPDATED = 4002
    NOT_AUTHORIZED = 4005
    STARTUP_GUIDE_NOT_COMPLETED = 4003
    NO_ACCESS_TO_SCOPES = 4006
    RATE_LIMITED = 4010


# What the operator must do about the usual first-connection failures (community.visma.com, "Knowledge base in
# Visma eAccounting API": "No access to module: api_standard" and "the startup guide has not been completed").
API_MODULE_ACTION = (
    "eAccounting does not give this company API access: in eAccounting, open Settings > Apps and extensions and "
    "activate the API (integration) for the company. If you use several companies, check that the login is not "
    "fixed to a default company without an eAccounting licence (remove the default company, the star in the company "
    "list), then connect eAccounting again and pick the right company."
)
STARTUP_GUIDE_ACTION = (
    "This eAccounting company has not been set up yet: log in to eAccounting with it and complete the startup guide "
    "(the first-time setup), then let the flows run again; no reconnection is needed."
)


def access_problem(message: str, code: Any) -> str | None:
    """The operator message for a first-connection failure, or None when the error is not one."""
    text = message.lower()
    if "no access to module" in text:
        return f"{message.rstrip('.')}. {API_MODULE_ACTION}"
    if code == ErrorCode.STARTUP_GUIDE_NOT_COMPLETED or "startup guide" in text:
        return f"{message.rstrip('.')}. {STARTUP_GUIDE_ACTION}"
    return None


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content) if response.content.strip() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(body: dict[str, Any], response: httpx.Response) -> str:
    text = body.get("DeveloperErrorMessage") or body.get("Message") or body.get("error_description")
    if not text and isinstance(body.get("Errors"), list) and body["Errors"]:
        text = "; ".join(_describe_item(item) for item in body["Errors"])
    if not text:
        text = response.reason_phrase or f"HTTP {response.status_code}"
    return str(text)[:_MAX_MESSAGE]


def _describe_item(item: Any) -> str:
    """`Errors` items are undocumented; take a message-like member or the item itself."""
    if isinstance(item, dict):
        for key in ("DeveloperErrorMessage", "ErrorMessage", "Message", "message"):
            if item.get(key):
                return str(item[key])
    return str(item)


class EAccountingErrorPolicy:
    """`connectors.http.ErrorPolicy` for the eAccounting API v2."""

    system = SYSTEM

    def __init__(self, *, default_wait: float = 60.0) -> None:
        # The documented limit is per minute: without any hint, the window is over within 60 s.
        self.default_wait = default_wait

    def retry_after(self, response: httpx.Response, now: float) -> float:
        """Seconds to wait after a 429: `Retry-After` if sent, else the message's "Try again in N seconds"."""
        header = response.headers.get("Retry-After")
        if header:
            header = header.strip()
            try:
                return max(0.0, float(header))
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(header)
                except (TypeError, ValueError):
                    when = None
                if when is not None:
                    return max(0.0, when.timestamp() - now)
        found = _TRY_AGAIN.search(str(_body(response).get("DeveloperErrorMessage") or ""))
        if found:
            return float(found.group(1))
        return self.default_wait

    def error(self, response: httpx.Response, endpoint: str) -> ConnectorError:
        body = _body(response)
        status = response.status_code
        message = _message(body, response)
        code = body.get("ErrorCode")
        details = {
            "error_code": code,
            "error_id": body.get("ErrorId"),
            "errors": body.get("Errors") or [],
        }
        common: dict[str, Any] = {"system": SYSTEM, "status": status, "endpoint": endpoint, "details": details}
        if status == 429 or code == ErrorCode.RATE_LIMITED:
            return RateLimited(message, retry_after=self.retry_after(response, time.time()), **common)
        operator = access_problem(message, code)
        if operator is not None:
            return AccessNotSetUp(operator, **common)
        if status in (401, 403) or code in (ErrorCode.NOT_AUTHORIZED, ErrorCode.NO_ACCESS_TO_SCOPES):
            return AuthError(message, **common)
        if status == 404:
            return NotFound(message, **common)
        if status >= 500:
            if status == 501:  # not implemented: retrying cannot help
                return PermanentError(message, **common)
            return TransientError(message, **common)
        if 400 <= status < 500:
            return Rejected(message, **common)
        return PermanentError(f"unexpected HTTP {status}: {message}", **common)
