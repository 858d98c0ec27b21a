"""`POST /webhooks/exact`: verify, then route, de-duplicate and enqueue ids (`app.services.webhooks`); no outbound
API call inside the request.

Exact signs the raw text of the `Content` object (HMAC-SHA256 with the app's webhook secret, uppercase hex) and
cannot send auth headers, so the signature is the only authentication. Right after a subscription is created,
Exact POSTs an empty body and the subscription fails unless that gets a 2xx: it is answered 200 unsigned.

The endpoint is open to anyone: a body of any shape (nested 20,000 deep, a 5,000-digit number, not UTF-8, too
large) is a 4xx with one short log line, never a traceback. Every request logs exactly one line
(`webhook.received`, `webhook.refused` or `webhook.validation_request`) instead of the HTTP middleware's.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from app.logging import mark_logged
from app.scope import Process
from app.services.webhooks import BadEvent, DeliveryFailed, accept_exact_event
from app.settings import Settings
from connectors.exact.webhooks import read_exact_layout, verify_signature

router = APIRouter(tags=["webhooks"])
log = structlog.get_logger("webhooks")


def _refuse(request: Request, status_code: int, reason: str, **fields: Any) -> JSONResponse:
    """A refused delivery: one short log line (no body, no traceback) and a 4xx naming the reason."""
    _log_once(request, "webhook.refused", status=status_code, reason=reason, **fields)
    return JSONResponse({"detail": reason}, status_code=status_code)


def _log_once(request: Request, event: str, *, level: str = "info", **fields: Any) -> None:
    """The request's one log line (the HTTP middleware then writes none)."""
    mark_logged(request.scope)
    getattr(log, level)(event, **fields)


def _parse(body: bytes) -> Any:
    """The body as JSON, or a ValueError with a short reason: whatever its shape (nesting deeper than the parser's
    recursion limit, an integer of more digits than Python converts, invalid UTF-8), never another exception."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc.msg} at {exc.pos}") from None
    except UnicodeDecodeError:
        raise ValueError("body is not UTF-8 JSON") from None
    except RecursionError:
        raise ValueError("body is nested too deeply") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise ValueError("body holds a number too long to read") from None


@router.post(
    "/webhooks/exact",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Exact Online webhook callback",
    responses={
        200: {"description": "Validation handshake (empty body), duplicate, or a topic no flow uses"},
        400: {"description": "Malformed JSON or payload (e.g. a Key that is not a GUID)"},
        401: {"description": "Missing or wrong HashCode"},
        413: {"description": "Body too large"},
    },
)
async def exact_webhook(request: Request) -> Response:
    # The hot path of the API: its state and the one header it reads come straight from the ASGI scope, rather than
    # through Depends (whose solving is a measurable part of the route's CPU time per event) or the `State` and
    # `Headers` wrappers (bench/bench_webhooks.py).
    state = request.scope["state"]
    settings: Settings = state["settings"]
    process: Process = state["process"]
    limit = settings.engine.webhook_max_body_bytes
    declared = next((value for name, value in request.scope["headers"] if name == b"content-length"), None)
    too_large = f"body larger than {limit} bytes"
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return _refuse(request, status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    raw = bytearray()
    more = True
    while more:  # the ASGI messages themselves: `request.stream()` adds an async generator per request
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        raw += message.get("body", b"")
        if len(raw) > limit:
            return _refuse(request, status.HTTP_413_CONTENT_TOO_LARGE, too_large)
        more = message.get("more_body", False)
    body = bytes(raw)
    if not body.strip():
        _log_once(request, "webhook.validation_request")
        return JSONResponse({"status": "ok"}, status_code=200)
    secret = settings.exact.webhook_secret.get_secret_value() if settings.exact.webhook_secret else ""
    signed = read_exact_layout(body)  # Exact's own layout, read at once; any other goes the long way
    if signed is not None:
        content: Any = signed.content
        valid = signed.signed_with(secret)
    else:
        try:
            document = _parse(body)
        except ValueError as exc:
            return _refuse(request, status.HTTP_400_BAD_REQUEST, str(exc))
        content = document.get("Content") if isinstance(document, dict) else None
        if not isinstance(content, dict) or not isinstance(document.get("HashCode"), str):
            return _refuse(request, status.HTTP_400_BAD_REQUEST, "body must be an object with Content and HashCode")
        valid = bool(secret) and verify_signature(body, secret)
    topic = content.get("Topic") if isinstance(content.get("Topic"), str) else None
    if not valid:
        return _refuse(request, status.HTTP_401_UNAUTHORIZED, "HashCode does not match", topic=topic)
    try:
        accepted = await accept_exact_event(process, content)
    except BadEvent as exc:
        return _refuse(request, status.HTTP_400_BAD_REQUEST, str(exc.detail), topic=topic)
    except DeliveryFailed as exc:  # one line, no traceback: Redis's own message says which write failed and why
        reason = str(exc.detail)
        _log_once(
            request, "webhook.failed", level="error", status=500, reason=reason, topic=topic, key=content.get("Key")
        )
        return JSONResponse({"detail": str(exc.detail)}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
    key = content.get("Key")
    _log_once(request, "webhook.received", topic=topic, key=key, action=content.get("Action"), **accepted.fields())
    return Response(
        accepted.rendered(), status_code=202 if accepted.status == "accepted" else 200, media_type="application/json"
    )
