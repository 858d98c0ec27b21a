"""Connector errors as HTTP answers of the admin API (the few endpoints that call a system on request)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status

from connectors.errors import AuthError, ConnectorError, NotFound, RateLimited, TransientError

# For the `responses=` of an endpoint that calls Exact or eAccounting while answering.
UPSTREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "The system is not connected (or must be re-authorized): connect it first"},
    502: {"description": "The system refused the request; `detail` carries its message"},
    503: {"description": "The system is unavailable or rate-limited; try again after `Retry-After` seconds"},
}


def upstream_error(exc: ConnectorError) -> HTTPException:
    """409 for a connection a human must fix, 404 for a missing record, 503 for a passing outage, else 502."""
    detail = exc.to_dict()
    if isinstance(exc, AuthError):
        return HTTPException(status.HTTP_409_CONFLICT, detail=detail)
    if isinstance(exc, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)
    if isinstance(exc, TransientError):
        wait = exc.retry_after if isinstance(exc, RateLimited) else 30.0
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=detail, headers={"Retry-After": str(max(1, round(wait)))}
        )
    return HTTPException(status.HTTP_502_BAD_GATEWAY, detail=detail)
