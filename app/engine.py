"""The flow engine: enqueueing with de-duplication and coalescing, running one record, retries, dead letters, polling.

Jobs carry only ids. The arq job id of a record run is ``{prefix}:rec:{flow}:{record}``, so while a run for a
record is queued, more triggers for it collapse into that one job (arq refuses a second job with a live id). A
trigger that arrives while the job *runs* would be lost that way, so every trigger also bumps a generation counter;
a run remembers the generation it started with and, if it changed meanwhile, enqueues one follow-up run. Change
triggers (webhooks, polls) and follow-ups wait `ENGINE__COALESCE_SECONDS` before they run, so the rest of a burst
joins the queued job: a burst of 50 changes gives at most two writes, the last one with the final state.

Two runs of one record never overlap: a run takes a per-record Redis lock (a follow-up or replay that finds it
taken is deferred). Our own try counter (not arq's, which lock contention would consume) decides when a record
that keeps failing transiently goes to the dead-letter list.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from arq import Retry
from arq.connections import ArqRedis

from app.activity import ActivityEntry, ActivityLog, DeadLetters
from app.alerts import Alerter
from app.flowconfig import ConfigInvalid, FlowConfigStore, ResolvedConfig
from app.metrics import Metrics
from app.settings import Settings
from app.xref import RELEASE_SCRIPT, CrossRefs
from connectors.calls import capture_calls
from connectors.eaccounting import EAccountingClient
from connectors.errors import AuthError, ConnectorError, RateLimited, ReauthorizationRequired, TransientError
from connectors.exact import ExactClient
from connectors.keys import Keys
from flows.base import FlowContext, FlowDefinition, Outcome, RecordFailed
from flows.cache import RefCache

log = structlog.get_logger("engine")

JOB_RUN_RECORD = "run_record"
JOB_POLL_FLOW = "poll_flow"
JOB_POLL_DUE = "poll_due"

STASH_TTL_SECONDS = 3600
MAX_BACKOFF_SECONDS = 900.0
LOCK_DEFER_SECONDS = 2.0


async def enqueue_record(
    redis: ArqRedis,
    settings: Settings,
    flow: str,
    record_id: str,
    trigger: str,
    *,
    payload: Mapping[str, Any] | None = None,
    replay_of: str | None = None,
) -> bool:
    """Ask for a run of `flow` for `record_id`. True when a new job was queued, False when it joined a queued one.

    Either way the change is not lost: the generation bump makes a running job schedule a follow-up.
    """
    keys = Keys.of(settings)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(keys.generation(flow, record_id))
        pipe.expire(keys.generation(flow, record_id), 7 * 86400)
        if payload is not None:
            pipe.set(keys.stash(flow, record_id), json.dumps(payload, default=str), ex=STASH_TTL_SECONDS)
        await pipe.execute()
    # Change triggers wait a moment, so the rest of a burst (Exact sends one event per change) joins this job.
    defer = settings.engine.coalesce_seconds if trigger in _COALESCED else 0.0
    job = await redis.enqueue_job(
        JOB_RUN_RECORD,
        flow,
        record_id,
        trigger,
        replay_of,
        _job_id=keys.record_job(flow, record_id),
        _queue_name=settings.redis.queue_name,
        _defer_by=defer or None,
    )
    return job is not None


async def enqueue_poll(redis: ArqRedis, settings: Settings, flow: str, *, since: str | None = None) -> bool:
    job = await redis.enqueue_job(
        JOB_POLL_FLOW,
        flow,
        since,
        _job_id=Keys.of(settings).poll_job(flow),
        _queue_name=settings.redis.queue_name,
    )
    return job is not None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Engine:
    """Per-process engine state: shared clients and stores. Built once in the worker's start-up."""

    settings: Settings
    redis: ArqRedis
    flows: Mapping[str, FlowDefinition]
    exact: ExactClient
    eaccounting: EAccountingClient
    activity: ActivityLog
    dead_letters: DeadLetters
    metrics: Metrics
    alerter: Alerter
    xref: CrossRefs
    configs: FlowConfigStore
    cache: RefCache = field(default_factory=RefCache)

    @property
    def keys(self) -> Keys:
        return Keys.of(self.settings)

    def context(self, definition: FlowDefinition, resolved: ResolvedConfig, trigger: str) -> FlowContext:
        return FlowContext(
            flow=definition.name,
            trigger=trigger,
            settings=self.settings,
            config=resolved.config,
            options=resolved.options,
            mapping=resolved.compiled(),
            mappings=resolved.compiled,
            exact=self.exact,
            eaccounting=self.eaccounting,
            xref=self.xref,
            cache=self.cache,
            redis=self.redis,
            keys=self.keys,
            log=structlog.get_logger("flow").bind(flow=definition.name),
        )

    # ------------------------------------------------------------------ one record

    async def run_record(
        self,
        flow: str,
        record_id: str,
        trigger: str,
        *,
        job_id: str | None = None,
        replay_of: str | None = None,
    ) -> str:
        """Run `flow` for one record; returns the outcome (or raises arq's Retry to run again later)."""
        definition = self.flows.get(flow)
        if definition is None:
            log.warning("engine.unknown_flow", flow=flow, record_id=record_id)
            return "unknown-flow"
        structlog.contextvars.bind_contextvars(flow=flow, record_id=record_id, trigger=trigger)
        keys = self.keys
        token = secrets.token_hex(8)
        lock_ms = int((self.settings.engine.lock_seconds) * 1000)
        if not await self.redis.set(keys.lock(flow, record_id), token, nx=True, px=lock_ms):
            # Another run of this record is in progress; run after it (it may also schedule a follow-up).
            raise Retry(defer=LOCK_DEFER_SECONDS)
        generation = await self.redis.get(keys.generation(flow, record_id))
        try:
            return await self._run_locked(definition, record_id, trigger, job_id=job_id, replay_of=replay_of)
        finally:
            await self._release(keys.lock(flow, record_id), token)
            now_generation = await self.redis.get(keys.generation(flow, record_id))
            if now_generation != generation and now_generation is not None:
                await self._follow_up(flow, record_id)

    async def _follow_up(self, flow: str, record_id: str) -> None:
        """The record changed while it ran: make sure one more run is queued, after the coalescing window.

        The running job's own id is still taken until it returns, so the follow-up uses whichever of the record's
        two job ids is free. If neither is, the other one is queued and has not started: it reads the final state.
        """
        for job_id in (self.keys.record_job(flow, record_id), self.keys.followup_job(flow, record_id)):
            job = await self.redis.enqueue_job(
                JOB_RUN_RECORD,
                flow,
                record_id,
                "followup",
                None,
                _job_id=job_id,
                _queue_name=self.settings.redis.queue_name,
                _defer_by=self.settings.engine.coalesce_seconds or None,
            )
            if job is not None:
                return

    async def _release(self, key: str, token: str) -> None:
        await self.redis.eval(RELEASE_SCRIPT, 1, key, token)  # type: ignore[misc]

    async def _run_locked(
        self,
        definition: FlowDefinition,
        record_id: str,
        trigger: str,
        *,
        job_id: str | None,
        replay_of: str | None,
    ) -> str:
        flow = definition.name
        keys = self.keys
        started = time.perf_counter()
        started_at = _now()
        attempt = int(await self.redis.incr(keys.attempts(flow, record_id)))
        await self.redis.expire(keys.attempts(flow, record_id), 7 * 86400)
        entry = ActivityEntry(
            id="",
            flow=flow,
            trigger=trigger if trigger in _TRIGGERS else "manual",
            source_system=definition.source,
            source_id=record_id,
            target_system=definition.target,
            target_id=None,
            outcome="failed",
            reason=None,
            error=None,
            source_payload=None,
            target_payload=None,
            api_calls=[],
            started_at=started_at,
            duration_ms=0.0,
            attempt=attempt,
            job_id=job_id,
            replay_of=replay_of,
        )
        retry_in: float | None = None
        ctx: FlowContext | None = None
        with capture_calls() as calls:
            try:
                resolved = await self.configs.get(flow)
                if not resolved.config.enabled and trigger not in ("manual", "retry"):
                    entry.outcome = "skipped"
                    entry.reason = "flow is disabled"
                else:
                    ctx = self.context(definition, resolved, trigger)
                    try:
                        # Well inside the record lock and arq's job timeout: a run cut off here is logged and
                        # retried, where arq's timeout would drop the job without a trace.
                        async with asyncio.timeout(self.settings.engine.run_timeout_seconds):
                            await self._fetch_and_handle(definition, ctx, record_id, entry)
                    except TimeoutError:
                        raise TransientError(
                            f"the run took longer than {self.settings.engine.run_timeout_seconds:.0f} s",
                            system="ledgerbridge",
                        ) from None
            except (TransientError, AuthError) as exc:
                entry.error = exc.to_dict()
                entry.reason = str(exc)
                if attempt < self.settings.engine.max_tries and not isinstance(exc, ReauthorizationRequired):
                    entry.outcome = "retrying"
                    retry_in = self._backoff(attempt, exc)
                if isinstance(exc, AuthError):
                    await self.alerter.alert("connection", f"{exc.system}: {exc.message}", system=exc.system, flow=flow)
            except ConnectorError as exc:
                entry.error = exc.to_dict()
                entry.reason = str(exc)
            except RecordFailed as exc:
                entry.error = exc.to_dict()
                entry.reason = exc.reason
            except ConfigInvalid as exc:
                entry.error = {"type": "ConfigInvalid", "message": str(exc), "errors": exc.errors}
                entry.reason = f"flow config invalid: {exc}"
            except Exception as exc:  # a bug or an unmapped record: fail this record, never the others
                entry.error = {"type": type(exc).__name__, "message": str(exc)}
                entry.reason = f"{type(exc).__name__}: {exc}"
                log.exception("engine.record_crashed")
            if ctx is not None and entry.target_payload is None:
                entry.target_payload = ctx.target_payload
            entry.api_calls = [c.to_dict() for c in calls]
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 2)
        entry.id = await self.activity.add(entry)
        await self.metrics.record_entry(entry)
        log.info(
            "engine.record_done",
            outcome=entry.outcome,
            target_id=entry.target_id,
            reason=entry.reason,
            attempt=attempt,
            api_calls=len(entry.api_calls),
            log_id=entry.id,
        )
        if retry_in is not None:
            raise Retry(defer=retry_in)
        await self.redis.delete(keys.attempts(flow, record_id))
        if entry.outcome == "failed":
            await self.dead_letters.add(
                flow, record_id, log_id=entry.id, error=entry.error or {"message": entry.reason}, trigger=trigger
            )
            await self.alerter.alert(
                "record_failed", f"{flow} {record_id}: {entry.reason}", flow=flow, record_id=record_id, log_id=entry.id
            )
        else:
            await self.dead_letters.remove(flow, record_id)
        if entry.mismatch is not None:
            message = f"{flow} {record_id}: {entry.reason}"
            await self.alerter.alert("totals_mismatch", message, flow=flow, record_id=record_id, log_id=entry.id)
        return entry.outcome

    async def _fetch_and_handle(
        self, definition: FlowDefinition, ctx: FlowContext, record_id: str, entry: ActivityEntry
    ) -> None:
        source = await self._source(definition, ctx, record_id)
        entry.source_payload = source
        if source is None:
            entry.outcome = "skipped"
            entry.reason = "the source record no longer exists"
            return
        outcome: Outcome = await definition.handle(ctx, source)
        entry.outcome = outcome.action
        entry.target_id = outcome.target_id
        entry.reason = outcome.reason
        entry.target_payload = outcome.target_payload
        entry.mismatch = outcome.mismatch

    def _backoff(self, attempt: int, exc: ConnectorError) -> float:
        delay = float(min(self.settings.engine.backoff_seconds * (2 ** (attempt - 1)), MAX_BACKOFF_SECONDS))
        if isinstance(exc, RateLimited):
            delay = max(delay, exc.retry_after)
        return delay

    async def _source(self, definition: FlowDefinition, ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
        stashed = await self.redis.getdel(self.keys.stash(definition.name, record_id))
        if stashed is not None and ctx.trigger in ("poll", "reconcile"):
            data: dict[str, Any] = json.loads(stashed)
            return data
        return await definition.fetch(ctx, record_id)

    # ------------------------------------------------------------------ polling

    async def poll_flow(self, flow: str, since: str | None = None) -> int:
        """Enqueue every record changed since the stored cursor (or `since`); returns how many were enqueued."""
        definition = self.flows.get(flow)
        if definition is None or definition.poll is None:
            return 0
        keys = self.keys
        token = secrets.token_hex(8)
        if not await self.redis.set(keys.poll_lock(flow), token, nx=True, px=600_000):
            return 0
        enqueued = 0
        try:
            resolved = await self.configs.get(flow)
            ctx = self.context(definition, resolved, "poll")
            raw_cursor = await self.redis.get(keys.cursor(flow))
            cursor = since if since is not None else (raw_cursor.decode() if raw_cursor else None)
            structlog.contextvars.bind_contextvars(flow=flow)
            with capture_calls() as calls:
                async for page in definition.poll(ctx, cursor):
                    for record_id in page.record_ids:
                        await enqueue_record(
                            self.redis, self.settings, flow, record_id, "poll", payload=page.payloads.get(record_id)
                        )
                    enqueued += len(page.record_ids)
                    # Only now is the page safely in the queue: advance the cursor.
                    if page.cursor is not None:
                        await self.redis.set(keys.cursor(flow), page.cursor)
                    log.info("engine.poll_page", flow=flow, records=len(page.record_ids), total=enqueued)
                    await self.metrics.poll_page(flow, len(page.record_ids), [c.to_dict() for c in calls])
                    calls.clear()
        except ConnectorError as exc:
            log.warning("engine.poll_failed", flow=flow, error=str(exc), enqueued=enqueued)
            if isinstance(exc, AuthError):
                await self.alerter.alert("connection", f"polling {flow}: {exc}", flow=flow)
        except Exception as exc:  # a bug, or a `since` the flow's cursor cannot read: logged, never a crash loop
            log.exception("engine.poll_crashed", flow=flow, error=f"{type(exc).__name__}: {exc}", since=since)
            await self.alerter.alert("poll_failed", f"polling {flow} failed: {type(exc).__name__}: {exc}", flow=flow)
        finally:
            # Also after a failure: the next try comes after the interval, not on the next 5-second tick.
            await self.redis.set(keys.last_poll(flow), repr(time.time()))
            await self._release(keys.poll_lock(flow), token)
        return enqueued

    async def poll_due(self) -> list[str]:
        """Enqueue a poll for every enabled flow whose interval has passed (called by a frequent cron job)."""
        started: list[str] = []
        now = time.time()
        for name, definition in self.flows.items():
            if definition.poll is None:
                continue
            try:
                resolved = await self.configs.get(name)
            except ConfigInvalid:
                continue
            if not resolved.config.enabled:
                continue
            interval = resolved.config.poll_interval_seconds or self.settings.worker.poll_interval_seconds
            raw = await self.redis.get(self.keys.last_poll(name))
            if raw is not None and now - float(raw) < interval:
                continue
            if await enqueue_poll(self.redis, self.settings, name):
                started.append(name)
        await self.alerter.flush_digest()
        return started

    async def retry_failed(self, flow: str) -> int:
        count = 0
        for dead in await self.dead_letters.list(flow):
            await enqueue_record(self.redis, self.settings, flow, dead.source_id, "retry", replay_of=dead.log_id)
            count += 1
        return count


_TRIGGERS = frozenset({"webhook", "poll", "manual", "retry", "followup", "reconcile"})
_COALESCED = frozenset({"webhook", "poll", "reconcile"})
