"""Liveness (no I/O), readiness (Redis and a recent worker heartbeat), and the doctor's full report (admin)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from app.deps import ADMIN_RESPONSES, AdminDep, KeysDep, RedisDep, SettingsDep
from app.doctor import Report, doctor_context, run_doctor

router = APIRouter(prefix="/health", tags=["health"])

READY_RETRY_AFTER_SECONDS = 5


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
        # Why, in words: refused (not running), timed out (unreachable or stalled), loading (restarted, reading
        # its AOF back), or the error's name.
        checks["redis"] = f"unreachable: {type(exc).__name__}: {str(exc)[:160]}"
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
    if not failing:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(READY_RETRY_AFTER_SECONDS)})


@router.get(
    "/doctor",
    dependencies=[AdminDep],
    responses=ADMIN_RESPONSES,
    summary="Everything an operator asks first, checked: Redis, worker, connections, division, company, webhooks, "
    "clocks, rate budgets (what `ledgerbridge doctor` prints)",
)
async def doctor(request: Request, settings: SettingsDep, redis: RedisDep) -> Report:
    """One line per check: name, status (ok/warn/fail), what was found and what to do. Answered 200 whatever the
    report says; `status` is the worst check's. Makes about a dozen API calls (Exact: about ten of the day's 5,000)."""
    process = request.state.process
    return await run_doctor(await doctor_context(settings, redis, process.flows, process))
