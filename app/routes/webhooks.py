"""`POST /webhooks/exact`: verify, then route, de-duplicate and enqueue ids (`app.services.webhooks`); no outbound
API call inside the request.

Exact signs the raw text of the `Content` object (HMAC-SHA256 with the app's webhook secret, uppercase hex) and
cannot send auth headers, so the signature is the only authentication. Right after a subscription is created,
Exact POSTs an empty body and the subscription fails unless that gets a 2xx: it is answered 200 unsigned.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from app.deps import ProcessDep, SettingsDep
from app.services.webhooks import accept_exact_event
from connectors.exact.webhooks import verify_signature

router = APIRouter(tags=["webhooks"])
log = structlog.get_logger("webhooks")


@router.post(
    "/webhooks/exact",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Exact Online webhook callback",
    responses={
        200: {"description": "Validation handshake (empty body), duplicate, or a topic no flow uses"},
        400: {"description": "Malformed JSON or payload"},
        401: {"description": "Missing or wrong HashCode"},
        413: {"description": "Body too large"},
    },
)
async def exact_webhook(request: Request, settings: SettingsDep, process: ProcessDep) -> JSONResponse:
    limit = settings.engine.webhook_max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body larger than {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body larger than {limit} bytes")
    body = bytes(raw)
    if not body.strip():
        log.info("webhook.validation_request")
        return JSONResponse({"status": "ok"}, status_code=200)
    try:
        document: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"body is not JSON: {exc}") from None
    content = document.get("Content") if isinstance(document, dict) else None
    if not isinstance(content, dict) or not isinstance(document.get("HashCode"), str):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="body must be an object with Content and HashCode")
    secret = settings.exact.webhook_secret.get_secret_value() if settings.exact.webhook_secret else ""
    if not secret or not verify_signature(body, secret):
        log.warning("webhook.bad_signature", topic=content.get("Topic"))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="HashCode does not match")
    topic, key = content.get("Topic"), content.get("Key")
    if not isinstance(topic, str) or not isinstance(key, str) or not key:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="Content.Topic and Content.Key are required")
    accepted = await accept_exact_event(process, content)
    return JSONResponse(accepted.body(), status_code=202 if accepted.status == "accepted" else 200)
