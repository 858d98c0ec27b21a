"""The eAccounting error body and the codes the API documents.

Every API error has the shape `{"ErrorCode": int, "DeveloperErrorMessage": str, "ErrorId": uuid,
"Errors": []}` (developer.vismaonline.com/docs/error-codes and a real 4002 body quoted in public client
code; see docs/eaccounting-api.md). `Errors` is always an empty list here: its item shape is not
documented, so a connector must rely on `DeveloperErrorMessage`, which names the field.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "ACCOUNT_NOT_FOUND",
    "CANNOT_BE_CREATED_OR_UPDATED",
    "CANNOT_BE_DELETED",
    "CONFLICT",
    "DATA_MODEL_VALIDATION",
    "FISCAL_YEAR_NOT_FOUND",
    "NOT_AUTHORIZED",
    "NO_ACCESS_TO_MODULE",
    "NO_ACCESS_TO_SCOPES",
    "RATE_LIMITED",
    "RESOURCE_NOT_FOUND",
    "STARTUP_GUIDE_NOT_COMPLETED",
    "ApiError",
    "error_body",
]

DATA_MODEL_VALIDATION = 2000
RESOURCE_NOT_FOUND = 3000
FISCAL_YEAR_NOT_FOUND = 3001
ACCOUNT_NOT_FOUND = 3002
CONFLICT = 4000
CANNOT_BE_DELETED = 4001
CANNOT_BE_CREATED_OR_UPDATED = 4002
NO_ACCESS_TO_MODULE = 4002  # the same code (S4: "CanNotBeCreatedOrUpdated / NoAccessToModule")
STARTUP_GUIDE_NOT_COMPLETED = 4003
NOT_AUTHORIZED = 4005
NO_ACCESS_TO_SCOPES = 4006
RATE_LIMITED = 4010


def error_body(code: int, message: str) -> dict[str, Any]:
    """The documented error body with a fresh `ErrorId` (what Visma support asks for)."""
    return {"ErrorCode": code, "DeveloperErrorMessage": message, "ErrorId": str(uuid.uuid4()), "Errors": []}


class ApiError(Exception):
    """Raised by the simulator's logic; the app turns it into the HTTP status and error body."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def validation_error(message: str) -> ApiError:
    return ApiError(400, DATA_MODEL_VALIDATION, message)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, RESOURCE_NOT_FOUND, f"{what} with id '{ident}' was not found.")
