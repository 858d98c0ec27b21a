"""Prometheus scrape endpoint (admin-only: configure the scraper with the bearer token); every link's series carry
a `link` label."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from app.deps import ADMIN_RESPONSES, AdminDep, ProcessDep
from app.metrics import render

router = APIRouter(tags=["monitoring"], dependencies=[AdminDep], responses=ADMIN_RESPONSES)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format 0.0.4)",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE: {"example": "ledgerbridge_queue_depth 0\n"}}}},
)
async def metrics(process: ProcessDep) -> PlainTextResponse:
    snapshots: dict[str, dict[str, Any]] = {}
    dead: dict[str, dict[str, int]] = {}
    for link in await process.links():
        engine = process.engine(link)
        snapshots[link.id] = await engine.metrics.snapshot()
        dead[link.id] = await engine.dead_letters.count_by_flow()
    queue_depth = int(await process.redis.zcard(process.settings.redis.queue_name))
    body = render(snapshots, queue_depth=queue_depth, dead_letters=dead)
    return PlainTextResponse(body, media_type=CONTENT_TYPE)
