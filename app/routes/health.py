"""Liveness (no I/O) and readiness (Redis and a recent worker heartbeat)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from app.deps import KeysDep, RedisDep, SettingsDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up (no I/O)")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Redis answers and a worker heartbeat is recent",
    responses={503: {"description": "A dependency is down; `failing` names it"}},
)
async def ready(redis: RedisDep, keys: KeysDep, settings: SettingsDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await redis.ping()
        checks["redis"] = "ok"
        raw = await redis.get(keys.worker_heartbeat)
    except (RedisError, OSError) as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        raw = None
        checks["worker"] = "unknown (redis unreachable)"
    else:
        if raw is None:
            checks["worker"] = "no heartbeat seen"
        else:
            age = time.time() - float(raw)
            max_age = settings.worker.heartbeat_max_age_seconds
            checks["worker"] = "ok" if age <= max_age else f"heartbeat {age:.0f}s old (max {max_age:.0f}s)"
    failing = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "checks": checks, "failing": failing}
    return JSONResponse(body, status_code=200 if not failing else 503)
