"""The flow engine of one link: running one record, polling, replays. See docs/engine.md.

An `Engine` is a link's scope (`app.scope.LinkScope`: its clients and stores) with the rules around a flow:

* Two runs of one record never overlap: a run takes a per-record Redis lock (a follow-up or replay that finds it
  taken is deferred). A run remembers the record's generation and, if a trigger bumped it meanwhile, enqueues one
  follow-up (`app.jobs`).
* What happens after a run is decided by `app.outcome.classify` (a pure table) and carried out by `_record`:
  activity entry, metrics, retry, dead letter, alert. Our own try counter (not arq's, which lock contention would
  consume) decides when a record that keeps failing transiently goes to the dead-letter list.
* A poll enqueues what changed since the stored cursor and stores the cursor only once a page is enqueued.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import structlog
from arq import Retry

from app import polling
from app.activity import ActivityEntry
from app.budgets import Budget
from app.flowconfig import ConfigInvalid, ResolvedConfig
from app.jobs import (
    JOB_POLL_DUE,
    JOB_POLL_FLOW,
    JOB_RUN_RECORD,
    TRIGGERS,
    enqueue_followup,
    enqueue_poll,
    enqueue_record,
)
from app.lease import Lease
from app.outcome import Verdict, classify
from app.resilience import REDIS_DOWN
from connectors.calls import capture_calls
from connectors.errors import ConnectorError, TransientError
from connectors.exact.factory import DivisionBudget
from connectors.ratelimit import prepaid_calls
from flows.base import FlowContext, FlowDefinition, Outcome, RecordFailed

if TYPE_CHECKING:
    from app.scope import LinkScope, Process

__all__ = ["JOB_POLL_DUE", "JOB_POLL_FLOW", "JOB_RUN_RECORD", "Engine", "enqueue_poll", "enqueue_record"]

log = structlog.get_logger("engine")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
LOCK_DEFER_SECONDS = 2.0
PAUSED_DEFER_SECONDS = 60.0
ATTEMPTS_TTL_SECONDS = 7 * 86400


def _now() -> datetime:
    return datetime.now(UTC)


class Engine:
    """One link's engine; built by `Process.engine(link)`, shared by that process's jobs of the link."""

    def __init__(self, process: Process, scope: LinkScope) -> None:
        self.process = process
        self.scope = scope
        self.settings = process.settings
        self.redis = process.redis
        self.flows = process.flows
        self.link = scope.id
        self.keys = scope.keys
        self.exact = scope.exact
        self.eaccounting = scope.eaccounting
        self.xref = scope.xref
        self.configs = scope.configs
        self.activity = scope.activity
        self.dead_letters = scope.dead_letters
        self.metrics = scope.metrics
        self.alerter = scope.alerter
        self.cache = scope.cache

    def context(self, definition: FlowDefinition, resolved: ResolvedConfig, trigger: str) -> FlowContext:
        """The flow's view of this link: its clients, stores and keys, and the flow's validated config."""
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
            link=self.link,
            log=structlog.get_logger("flow").bind(flow=definition.name, link=self.link),
        )

    async def enqueue(
        self,
        flow: str,
        record_id: str,
        trigger: str,
        *,
        payload: Any = None,
        replay_of: str | None = None,
        paced: bool = False,
    ) -> bool:
        """Queue a run of the record; `paced` (polls): due at the link's turn on its division's budget."""
        start_in = await self.scope.budgets.start_in() / self.process.timing.time_scale if paced else 0.0
        return await enqueue_record(
            self.redis,
            self.settings,
            flow,
            record_id,
            trigger,
            payload=payload,
            replay_of=replay_of,
            link=self.link,
            start_in=start_in,
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
            log.warning("engine.unknown_flow", flow=flow, record_id=record_id, link=self.link)
            return "unknown-flow"
        structlog.contextvars.bind_contextvars(link=self.link, flow=flow, record_id=record_id, trigger=trigger)
        if self.scope.link.paused:
            raise Retry(defer=PAUSED_DEFER_SECONDS)  # kept, not run, until the link is resumed
        wait, spent = await self.scope.budgets.wait()
        if wait > (self.process.timing.max_wait or 0.0):
            # The link's budget is spent: its turn comes later, and this worker slot goes to another job now.
            await self._defer(flow, spent, wait)
        keys = self.keys
        # A lease, not a long lock: renewed while this run lives, it lapses within ENGINE__LEASE_SECONDS of a crash,
        # so the record's next run is not kept waiting (app/lease.py). A run that cannot renew it is cut off first.
        lease = Lease(
            self.redis,
            keys.lock(flow, record_id),
            secrets.token_hex(8),
            seconds=self.settings.engine.lease_seconds,
            max_hold=self.settings.engine.lock_seconds,
            name=f"{flow} {record_id}",
        )
        if not await lease.acquire():
            # Another run of this record is in progress; run after it (it may also schedule a follow-up).
            raise Retry(defer=LOCK_DEFER_SECONDS)
        generation = await self.redis.get(keys.generation(flow, record_id))
        try:
            async with lease:
                budgets = self.scope.budgets
                wait, spent, reservations = await budgets.admit()
                if wait > (self.process.timing.max_wait or 0.0):
                    # The link's budget is spent: its turn comes later, and this worker slot goes to another job.
                    await self._defer(flow, spent, wait)
                prepaid = prepaid_calls.set({r.key: r.calls for r in reservations} or None)
                try:
                    return await self._run_locked(definition, record_id, trigger, job_id=job_id, replay_of=replay_of)
                finally:
                    left = dict(prepaid_calls.get() or {})
                    prepaid_calls.reset(prepaid)
                    await budgets.refund(reservations, left)
        finally:
            await lease.release()
            now_generation = await self.redis.get(keys.generation(flow, record_id))
            if now_generation != generation and now_generation is not None:
                await enqueue_followup(self.redis, self.settings, flow, record_id, link=self.link)
            await self._after_run()

    async def _after_run(self) -> None:
        """Keep the link's definition current: remember the division `current/Me` gave the upgraded link, and sweep
        what this run wrote when the link was removed while it ran."""
        budget = self.exact.api.budget
        division = budget.division if isinstance(budget, DivisionBudget) else None
        if self.scope.link.division is None and division is not None:
            stored = await self.process.registry.get(self.link)
            if stored is not None and stored.division is None:
                await self.process.registry.put(stored.model_copy(update={"division": division}))
        if not await self.process.registry.exists(self.link):
            from app.services.links import purge_link_data

            await purge_link_data(self.process, self.link)

    async def _run_locked(
        self, definition: FlowDefinition, record_id: str, trigger: str, *, job_id: str | None, replay_of: str | None
    ) -> str:
        flow = definition.name
        started = time.perf_counter()
        attempt = int(await self.redis.get(self.keys.attempts(flow, record_id)) or 0) + 1
        entry = ActivityEntry(
            id="",
            flow=flow,
            trigger=trigger if trigger in TRIGGERS else "manual",
            source_system=definition.source,
            source_id=record_id,
            target_system=definition.target,
            outcome="failed",
            started_at=_now(),
            attempt=attempt,
            job_id=job_id,
            replay_of=replay_of,
            worker=WORKER_ID,
        )
        with capture_calls() as calls:
            failure = await self._attempt(definition, record_id, trigger, entry)
            entry.api_calls = [c.to_dict() for c in calls]
        verdict = classify(
            failure,
            action=entry.outcome if failure is None else None,
            attempt=attempt,
            max_tries=self.settings.engine.max_tries,
            backoff_seconds=self.settings.engine.backoff_seconds,
        )
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 2)
        return await self._record(entry, verdict, trigger=trigger)

    async def _attempt(
        self, definition: FlowDefinition, record_id: str, trigger: str, entry: ActivityEntry
    ) -> BaseException | None:
        """Run the flow, filling `entry` in as it goes; returns what it raised (None: the flow returned)."""
        ctx: FlowContext | None = None
        try:
            resolved = await self.configs.get(definition.name)
            if not resolved.config.enabled and trigger not in ("manual", "retry"):
                entry.outcome, entry.reason = "skipped", "flow is disabled"
                return None
            ctx = self.context(definition, resolved, trigger)
            try:
                # Well inside the record lock and arq's job timeout: a run cut off here is logged and retried,
                # where arq's timeout would drop the job without a trace.
                async with asyncio.timeout(self.settings.engine.run_timeout_seconds):
                    await self._fetch_and_handle(definition, ctx, record_id, entry)
            except TimeoutError:
                raise TransientError(
                    f"the run took longer than {self.settings.engine.run_timeout_seconds:.0f} s",
                    system="ledgerbridge",
                ) from None
        except REDIS_DOWN:
            raise  # not the record's failure: nothing can be recorded now; the job runs again (app/worker.py)
        except (ConnectorError, ConfigInvalid) as exc:
            return self._with_payload(exc, ctx, entry)
        except RecordFailed as exc:
            return self._with_payload(exc, ctx, entry)
        except Exception as exc:  # a bug or an unmapped record: fail this record, never the others
            log.exception("engine.record_crashed")
            return self._with_payload(exc, ctx, entry)
        return None

    @staticmethod
    def _with_payload(exc: BaseException, ctx: FlowContext | None, entry: ActivityEntry) -> BaseException:
        if ctx is not None and entry.target_payload is None:
            entry.target_payload = ctx.target_payload
        return exc

    async def _record(self, entry: ActivityEntry, verdict: Verdict, *, trigger: str) -> str:
        """Carry out `verdict`: activity entry, metrics, the try counter, retry, dead letter, alerts."""
        flow, record_id = entry.flow, entry.source_id
        if verdict.outcome is None:
            # Not the record's failure (a rate budget): no entry, no try used; run again when the budget allows.
            system = str((verdict.error or {}).get("system") or "")
            await self._defer(flow, self.scope.budgets.of(system), verdict.retry_in or 1.0, entry.api_calls)
        entry.outcome = verdict.outcome  # type: ignore[assignment]
        if verdict.error is not None:
            entry.reason, entry.error = verdict.reason, verdict.error
        entry.id = await self.activity.add(entry)
        await self.metrics.record_entry(entry)
        log.info(
            "engine.record_done",
            outcome=entry.outcome,
            target_id=entry.target_id,
            reason=entry.reason,
            attempt=entry.attempt,
            api_calls=len(entry.api_calls),
            log_id=entry.id,
        )
        attempts = self.keys.attempts(flow, record_id)
        if "connection" in verdict.alerts and entry.error is not None:
            system = str(entry.error.get("system") or "")
            await self.alerter.alert(
                "connection", f"{system}: {entry.error.get('message')}", system=system, flow=flow, link=self.link
            )
        if not verdict.final:
            await self.redis.set(attempts, entry.attempt, ex=ATTEMPTS_TTL_SECONDS)
            raise Retry(defer=verdict.retry_in)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(attempts)
            pipe.srem(self.keys.queued(flow), record_id)
            await pipe.execute()
        if verdict.dead_letter:
            await self.dead_letters.add(
                flow, record_id, log_id=entry.id, error=entry.error or {"message": entry.reason}, trigger=trigger
            )
        else:
            await self.dead_letters.remove(flow, record_id)
        if entry.mismatch is not None:
            message = f"{flow} {record_id}: {entry.reason}"
            await self.alerter.alert(
                "totals_mismatch", message, flow=flow, record_id=record_id, log_id=entry.id, link=self.link
            )
        if "record_failed" in verdict.alerts:
            await self.alerter.alert(
                "record_failed",
                f"{flow} {record_id}: {entry.reason}",
                flow=flow,
                record_id=record_id,
                log_id=entry.id,
                link=self.link,
            )
        return entry.outcome

    async def _defer(
        self, flow: str, budget: Budget | None, wait: float, calls: list[dict[str, Any]] | None = None
    ) -> NoReturn:
        """Put the run off until its turn on the spent `budget` (app/budgets.py); no try used, no entry written."""
        # Budgets count on the connectors' clock; arq defers in real seconds.
        defer = await self.scope.budgets.turn(budget, wait) / self.process.timing.time_scale
        await self.metrics.deferred(flow, calls or [])
        log.info("engine.record_deferred", budget=budget.system if budget else None, defer=round(defer, 1))
        raise Retry(defer=defer)

    async def _fetch_and_handle(
        self, definition: FlowDefinition, ctx: FlowContext, record_id: str, entry: ActivityEntry
    ) -> None:
        source = await self._source(definition, ctx, record_id)
        entry.source_payload = source
        entry.label = definition.label_text(source, hide_person=self.activity.redact_personal)
        if source is None:
            entry.outcome, entry.reason = "skipped", "the source record no longer exists"
            return
        outcome: Outcome = await definition.handle(ctx, source)
        entry.outcome = outcome.action
        entry.target_id = outcome.target_id
        entry.reason = outcome.reason
        entry.target_payload = outcome.target_payload
        entry.mismatch = outcome.mismatch

    async def _source(self, definition: FlowDefinition, ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
        stashed = await self.redis.getdel(self.keys.stash(definition.name, record_id))
        if stashed is not None and ctx.trigger in ("poll", "reconcile"):
            data: dict[str, Any] = json.loads(stashed)
            return data
        return await definition.fetch(ctx, record_id)

    # ------------------------------------------------------------------ polling (app/polling.py)

    async def poll_flow(self, flow: str, since: str | None = None) -> int:
        """Enqueue every record changed since the stored cursor (or `since`); returns how many were enqueued."""
        return await polling.poll_flow(self, flow, since)

    async def polls_due(self, now: float) -> list[str]:
        """Enqueue a poll for every enabled flow of this link whose interval has passed."""
        return await polling.polls_due(self, now)

    async def poll_due(self) -> list[str]:
        """This link's due polls (kept for callers of the single-link engine)."""
        return await polling.polls_due(self, time.time())

    async def retry_failed(self, flow: str) -> int:
        count = 0
        for dead in await self.dead_letters.list(flow):
            await self.enqueue(flow, dead.source_id, "retry", replay_of=dead.log_id)
            count += 1
        return count
