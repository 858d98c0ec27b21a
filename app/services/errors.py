"""Errors of the service layer, each with the HTTP status the API answers it with (one handler in `app.main`)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base: `detail` is what the API answers (a message, or a list of {loc, msg} for invalid input)."""

    status_code = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(str(detail))
        self.detail = detail


class NotFoundError(ServiceError):
    status_code = 404


class InvalidInput(ServiceError):
    status_code = 422


class Conflict(ServiceError):
    status_code = 409
