"""One error tree for every connector; flows never see `httpx` exceptions.

ConnectorError                      base: system, message, status, endpoint (path only, never a query string)
├── TransientError                  worth retrying later: 5xx, timeouts, dropped connections
│   └── RateLimited                 429 or budget exhausted; `retry_after` seconds until the window resets
├── AuthError                       401/403 the connector could not fix by refreshing
│   ├── ReauthorizationRequired     no usable refresh token: a human must connect the system again
│   └── AccessNotSetUp              the connected account or company is not set up for the API yet; the message
│                                   says what the operator must do (it shows in the log, the alert, /connections)
└── PermanentError                  retrying the same request cannot succeed
    ├── NotFound                    404, or a lookup that found nothing where something was required
    └── Rejected                    400/409/422: the API refused the data; `details` holds its message(s)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessNotSetUp",
    "AuthError",
    "ConnectorError",
    "NotFound",
    "PermanentError",
    "RateLimited",
    "ReauthorizationRequired",
    "Rejected",
    "TransientError",
]


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int | None = None,
        endpoint: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.endpoint = endpoint
        self.details = details

    def __str__(self) -> str:
        where = " ".join(p for p in (self.system, self.endpoint) if p)
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{where}{status}: {self.message}" if where or status else self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description for the activity log and the dead-letter list."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "system": self.system,
            "status": self.status,
            "endpoint": self.endpoint,
            "details": self.details,
            "retryable": self.retryable,
        }


class TransientError(ConnectorError):
    retryable = True


class RateLimited(TransientError):
    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, retry_after)


class AuthError(ConnectorError):
    pass


class ReauthorizationRequired(AuthError):
    pass


class AccessNotSetUp(AuthError):
    """A first-connection failure a human fixes in the other system (not by reconnecting alone): the API module not
    enabled for the company, a setup wizard not completed. `message` ends with what to do."""


class PermanentError(ConnectorError):
    pass


class NotFound(PermanentError):
    pass


class Rejected(PermanentError):
    pass
