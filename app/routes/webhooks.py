"""`POST /webhooks/exact`: verify, de-duplicate, enqueue ids; no outbound API call inside the request.

Exact signs the raw text of the `Content` object (HMAC-SHA256 with the app's webhook secret, uppercase hex) and
cannot send auth headers, so the signature is the only authentication. Right after a subscription is created,
Exact POSTs an empty body and the subscription fails unless that gets a 2xx: it is answered 200 unsigned.
Exact retries non-2xx deliveries for about a day, and reliably re-sends: identical deliveries enqueue nothing new.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from app.deps import KeysDep, RedisDep, SettingsDep
from app.engine import enqueue_record
from app.flowconfig import ConfigInvalid, FlowConfigStore
from connectors.exact.webhooks import verify_signature
from flows.base import FlowDefinition

router = APIRouter(tags=["webhooks"])
log = structlog.get_logger("webhooks")

SEEN_TTL_SECONDS = 3 * 86400  # longer than Exact's retry schedule (~34 h)


async def _flows_for(request: Request, topic: str) -> list[FlowDefinition]:
    """Enabled flows that listen to `topic` (a flow whose stored config is invalid counts as enabled: its
    runs then fail visibly in the activity log instead of changes being dropped silently)."""
    flows: dict[str, FlowDefinition] = request.state.flows
    configs: FlowConfigStore = request.state.configs
    chosen = []
    for definition in flows.values():
        if topic.lower() not in (t.lower() for t in definition.webhook_topics):
            continue
        try:
            enabled = (await configs.get(definition.name)).config.enabled
        except ConfigInvalid:
            enabled = True
        if enabled:
            chosen.append(definition)
    return chosen


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
async def exact_webhook(request: Request, settings: SettingsDep, redis: RedisDep, keys: KeysDep) -> JSONResponse:
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
    division = content.get("Division")
    if settings.exact.division is not None and division is not None and str(division) != str(settings.exact.division):
        log.info("webhook.other_division", topic=topic, division=division)
        return JSONResponse({"status": "ignored", "reason": "other division"}, status_code=200)
    flows = await _flows_for(request, topic)
    if not flows:
        log.info("webhook.unknown_topic", topic=topic)
        return JSONResponse({"status": "ignored", "reason": f"no flow uses topic {topic}"}, status_code=200)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    if not await redis.set(keys.webhook_seen(digest), "1", nx=True, ex=SEEN_TTL_SECONDS):
        log.info("webhook.duplicate", topic=topic, key=key)
        return JSONResponse({"status": "duplicate"}, status_code=200)
    enqueued = []
    try:
        for definition in flows:
            await enqueue_record(redis, settings, definition.name, key.lower(), "webhook")
            enqueued.append(definition.name)
    except Exception:
        # Not remembered as seen: Exact's retry of this delivery must be enqueued, not answered as a duplicate.
        await redis.delete(keys.webhook_seen(digest))
        raise
    log.info("webhook.accepted", topic=topic, key=key, action=content.get("Action"), flows=enqueued)
    return JSONResponse({"status": "accepted", "flows": enqueued}, status_code=202)
