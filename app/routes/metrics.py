"""Prometheus scrape endpoint (admin-only: configure the scraper with the bearer token)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from app.deps import ADMIN_RESPONSES, AdminDep, LinkDep

router = APIRouter(tags=["monitoring"], dependencies=[AdminDep], responses=ADMIN_RESPONSES)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format 0.0.4)",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE: {"example": "ledgerbridge_queue_depth 0\n"}}}},
)
async def metrics(engine: LinkDep) -> PlainTextResponse:
    queue_depth = int(await engine.redis.zcard(engine.settings.redis.queue_name))
    dead = await engine.dead_letters.count_by_flow()
    body = await engine.metrics.render(queue_depth=queue_depth, dead_letters=dead)
    return PlainTextResponse(body, media_type=CONTENT_TYPE)
