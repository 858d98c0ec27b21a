"""Upgrading a Redis written by an older ledgerbridge, once, before a process serves anything.

Layout versions (`Keys.schema`):

1. (no schema key) one administration per installation: per-administration keys directly under the prefix, arq's
   keys under `arq:`, the queue `ledgerbridge:queue` unless `REDIS__QUEUE_NAME` said otherwise.
2. links: per-link keys under `{p}:l:{link}:`; arq's keys under `{p}:arq:` (`app/redis.py`); the queue `{p}:queue`
   unless `REDIS__QUEUE_NAME` says otherwise.

From 1 to 2 nothing is lost: every per-administration key is renamed (RENAME keeps its value and time to live)
into link `default`, which is registered with the settings' division and the existing connections, so its
cross-references, cursors, configs, activity log, dead letters, metrics and stock/shipments indexes stay its own;
jobs still waiting in the old queue move to the new one with their arq data (`arq:job:{id}` -> `{p}:arq:job:{id}`),
and run as link `default` (their arguments carry no link). Tokens, rate budgets and webhook de-duplication were
installation-wide already and keep their names.

Every API and worker process calls `upgrade` at start-up. One of them does the work under a lock while the others
wait; the steps are idempotent (a crash half-way is finished by the next start).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from app.links import Link, LinkStore
from app.settings import Settings
from app.xref import RELEASE_SCRIPT, text_of
from connectors.keys import ARQ_KEY_PREFIXES, DEFAULT_LINK, Keys

log = structlog.get_logger("upgrade")

SCHEMA = 2
LEGACY_QUEUE = "ledgerbridge:queue"  # REDIS__QUEUE_NAME's default before links
LOCK_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Legacy:
    """Where layout 1 kept arq's data (a test loads a layout-1 fixture under its own names)."""

    queue: str = LEGACY_QUEUE
    arq_prefix: str = "arq:"


@dataclass(slots=True)
class Report:
    from_schema: int
    moved_keys: int = 0
    moved_jobs: int = 0
    links: list[str] = field(default_factory=list)


async def current_schema(redis: ArqRedis, keys: Keys) -> int:
    raw = text_of(await redis.get(keys.schema))
    return int(raw) if raw else 1


async def upgrade(redis: ArqRedis, settings: Settings, *, legacy: Legacy | None = None) -> Report | None:
    """Bring the installation's keys to the current layout; None when they already are."""
    keys = Keys.of(settings)
    if await current_schema(redis, keys) >= SCHEMA:
        return None
    token = secrets.token_hex(8)
    while not await redis.set(keys.upgrade_lock, token, nx=True, ex=LOCK_SECONDS):
        await asyncio.sleep(0.2)  # another process is upgrading: wait for it, then find the work done
        if await current_schema(redis, keys) >= SCHEMA:
            return None
    try:
        if await current_schema(redis, keys) >= SCHEMA:
            return None
        report = Report(from_schema=1)
        report.moved_keys = await _adopt_link_keys(redis, keys)
        report.moved_jobs = await _move_queue(redis, settings, keys, legacy or Legacy())
        store = LinkStore(redis, keys)
        if not await store.all():
            await store.add(Link(id=DEFAULT_LINK, title="", division=settings.exact.division))
        report.links = [link.id for link in await store.all()]
        await redis.set(keys.schema, str(SCHEMA))
        log.info("upgrade.done", schema=SCHEMA, moved_keys=report.moved_keys, moved_jobs=report.moved_jobs)
        return report
    finally:
        await redis.eval(RELEASE_SCRIPT, 1, keys.upgrade_lock, token)  # type: ignore[misc]


async def _adopt_link_keys(redis: ArqRedis, keys: Keys) -> int:
    """Rename every per-administration key of layout 1 into link `default`."""
    default = keys.for_link(DEFAULT_LINK)
    moved = 0
    async for raw in redis.scan_iter(match=keys.everything, count=1000):
        key = text_of(raw) or ""
        if Keys.legacy_link_key(keys.prefix, key):
            await redis.rename(key, default.adopt(key))
            moved += 1
    return moved


async def _move_queue(redis: ArqRedis, settings: Settings, keys: Keys, legacy: Legacy) -> int:
    """Jobs waiting in layout 1's queue, with their arq data, into the current queue and arq namespace.

    `redis` rewrites `arq:` arguments into our namespace (app/redis.py), so the old names are read through a plain
    client on the same connection pool.
    """
    raw = Redis(connection_pool=redis.connection_pool)
    moved = 0
    for raw_id, score in await raw.zrange(legacy.queue, 0, -1, withscores=True):
        job_id = text_of(raw_id) or ""
        for arq_key in ARQ_KEY_PREFIXES[:3]:  # the job, its in-progress marker, its try counter
            old = Keys.legacy_arq(legacy.arq_prefix, arq_key, job_id)
            if await raw.exists(old):
                await raw.rename(old, keys.arq_of_job(arq_key, job_id))
        if legacy.queue != settings.redis.queue_name:
            await raw.zadd(settings.redis.queue_name, {job_id: score})
            await raw.zrem(legacy.queue, job_id)
        moved += 1
    return moved
