"""Errors in Exact's shape: `{"error": {"code": "", "message": {"lang": "", "value": "…"}}}` (reference §4.6)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ExactApiError", "bad_request", "error_body", "not_found"]


def error_body(message: str, code: str = "") -> dict[str, object]:
    return {"error": {"code": code, "message": {"lang": "", "value": message}}}


class ExactApiError(Exception):
    """Raised anywhere in request handling; rendered once with the status and extra headers."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> ExactApiError:
    return ExactApiError(400, message)


def not_found(message: str = "Not found") -> ExactApiError:
    return ExactApiError(404, message)
