"""Checks of the installation itself: Redis answers, keeps what it is given, and a worker is alive."""

from __future__ import annotations

import time
from typing import Any

from redis.exceptions import RedisError, ResponseError

from app.doctor.context import DoctorContext
from app.doctor.model import Verdict, fail, ok, warn
from app.routes.config import mask_url_password

_AOF_FIX = (
    "Turn on AOF and keep Redis's data directory on a volume: `redis-server --appendonly yes` (docker-compose.yml "
    "does this), or on a running server `redis-cli CONFIG SET appendonly yes` then `redis-cli CONFIG REWRITE`."
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def redis_reachable(ctx: DoctorContext, _target: None) -> Verdict:
    where = mask_url_password(ctx.settings.redis.url)
    started = time.perf_counter()
    try:
        await ctx.redis.ping()
        server = await ctx.redis.info("server")
    except (RedisError, OSError) as exc:
        ctx.memo[("redis", "down")] = True
        return fail(
            f"Redis at {where} does not answer ({type(exc).__name__}: {exc})",
            "Start Redis, or point REDIS__URL at a running one (the API, the worker and this check must share it).",
        )
    took = (time.perf_counter() - started) * 1000
    return ok(f"Redis {server.get('redis_version', '?')} answers at {where} ({took:.0f} ms)")


async def _config(ctx: DoctorContext, name: str) -> str | None:
    """One CONFIG GET value, or None where CONFIG is not allowed (managed Redis services often rename it)."""
    try:
        found = await ctx.redis.config_get(name)
    except ResponseError:
        return None
    value = found.get(name) if isinstance(found, dict) else None
    return None if value is None else _text(value)


async def redis_persistence(ctx: DoctorContext, _target: None) -> Verdict:
    """AOF on (CONFIG GET appendonly, else INFO persistence), its last write fine, and no eviction of our keys."""
    if ctx.memo.get(("redis", "down")):
        return warn("not checked: Redis does not answer (see above)")
    info = await ctx.redis.info("persistence")
    appendonly = await _config(ctx, "appendonly")
    aof_on = appendonly == "yes" if appendonly is not None else str(info.get("aof_enabled")) == "1"
    if not aof_on:
        snapshots = await _config(ctx, "save")
        rdb = f"only RDB snapshots ({snapshots})" if snapshots else "no snapshots either"
        return fail(
            f"AOF is off ({rdb}): after a restart Redis forgets what it was told since its last save: rotated "
            "OAuth tokens (a human must connect both systems again), queued jobs, cursors, the activity log",
            _AOF_FIX,
        )
    if _text(info.get("aof_last_write_status", "ok")) != "ok":
        return fail(
            "AOF is on but its last write failed (aof_last_write_status: err): Redis cannot persist",
            "Check the disk of Redis's data directory (space, permissions); `redis-cli INFO persistence` shows more.",
        )
    fsync = await _config(ctx, "appendfsync")
    policy = await _config(ctx, "maxmemory-policy")
    maxmemory = await _config(ctx, "maxmemory")
    if policy not in (None, "noeviction") and maxmemory not in (None, "0"):
        return warn(
            f"AOF is on, but maxmemory-policy is {policy}: when memory runs out Redis deletes keys (tokens, jobs)",
            "Set `maxmemory-policy noeviction` (Redis then refuses writes instead of losing data), or raise maxmemory.",
        )
    return ok(f"AOF is on (appendfsync {fsync or '?'}): a restart keeps tokens, jobs, cursors and the log")


async def worker_heartbeat(ctx: DoctorContext, _target: None) -> Verdict:
    if ctx.memo.get(("redis", "down")):
        return warn("not checked: Redis does not answer (see above)")
    raw = await ctx.redis.get(ctx.keys.worker_heartbeat)
    queued = await ctx.redis.zcard(ctx.settings.redis.queue_name)
    start = "Start one: `ledgerbridge worker` (`docker compose up -d worker`) with the same REDIS__URL and "
    fix = start + "REDIS__KEY_PREFIX as the API."
    if raw is None:
        return fail(f"no worker heartbeat: no worker runs on this Redis and prefix; {queued} jobs wait", fix)
    age = time.time() - float(raw)
    max_age = ctx.settings.worker.heartbeat_max_age_seconds
    if age > max_age:
        return fail(
            f"the last worker heartbeat is {age:.0f} s old (more than {max_age:.0f} s); {queued} jobs wait", fix
        )
    return ok(f"a worker's heartbeat is {age:.0f} s old; {queued} jobs queued")
