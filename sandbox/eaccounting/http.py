"""HTTP plumbing shared by the API, identity and control routes: JSON encoding, bodies, faults."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import RATE_LIMITED, ApiError, error_body, validation_error
from .state import Fault

__all__ = ["fault_response", "json_response", "read_json_body"]

_DEFAULT_CODES = {400: 2000, 401: 4005, 403: 4006, 404: 3000, 409: 4000, 429: RATE_LIMITED}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # JSON numbers, as the API sends them; float keeps the shortest exact form of 2-4 decimals.
        exponent = value.as_tuple().exponent
        whole = isinstance(exponent, int) and exponent >= 0
        return int(value) if whole else float(value)
    raise TypeError(f"Cannot encode {type(value).__name__}")


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(content, default=_default, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), error.status, error.headers)


async def read_json_body(request: Request, definition: str) -> Any:
    """The JSON body with decimals kept exact; refuses other media types and malformed JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "text/json"):
        raise ApiError(
            415,
            2000,
            f"The request entity's media type '{media or 'none'}' is not supported for this resource.",
        )
    raw = await request.body()
    if not raw.strip():
        raise validation_error(f"The request body is required: a JSON object of type '{definition}'.")
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error(f"The request body is not valid JSON: {exc}.") from None


def fault_response(fault: Fault, *, oauth: bool) -> Response:
    """The response an injected fault produces, in the shape of the host it hits."""
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    if oauth:
        error = "invalid_grant" if fault.status == 400 else "server_error"
        body: dict[str, Any] = {"error": error, "error_description": fault.message or "Injected fault"}
        return json_response(body, fault.status, headers)
    code = fault.error_code if fault.error_code is not None else _DEFAULT_CODES.get(fault.status, 0)
    message = fault.message or ("An error has occurred." if fault.status >= 500 else "Injected fault")
    if fault.status == 429 and fault.message is None:
        message = "API calls quota exceeded! maximum admitted 600 per Minute. Try again in 60 seconds."
    return json_response(error_body(code, message), fault.status, headers)
