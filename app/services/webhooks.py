"""An Exact webhook event, verified by the route: routed by its Division to the link(s) of that division,
de-duplicated, and one record job enqueued per enabled flow of each link listening to its topic.

Exact retries a delivery it got no 2xx for during about a day, and reliably re-sends: an identical delivery is
remembered for `SEEN_TTL_SECONDS` and enqueues nothing new. The delivery is remembered in the same Redis script that
enqueues its jobs (`app.jobs.enqueue_batch`), so it is remembered exactly when its jobs are queued: a delivery that
failed is not remembered, and Exact's retry is enqueued rather than answered as a duplicate.

An event costs at most one Redis round trip: events are planned from the process's snapshot of the link registry
and the webhook flows' configs, and the script that enqueues them first checks, atomically, that Redis still holds
that snapshot (a fingerprint of the same keys); when it does not (a link or config changed anywhere), nothing is
done and the script answers what it found, the process plans again from that and sends the script once more: two
round trips for the first event after a change (three when a link was added: its configs are read once). Events
that arrive while a script call is in flight share the next one (`_Ingest`), so under load an event costs a fraction
of a round trip. The route logs one line per event.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from collections.abc import Mapping
from contextvars import Context
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.flowconfig import ConfigInvalid, default_config, resolve
from app.jobs import Delivery, Guard, RecordRun, enqueue_batch
from app.links import Link
from app.scope import Process
from app.services.errors import ServiceError
from connectors.exact.webhooks import IngestEvent
from flows.base import FlowDefinition

SEEN_TTL_SECONDS = 3 * 86400  # longer than Exact's retry schedule (~34 h)


@dataclass(slots=True)
class Accepted:
    """What the API answers: `status` (accepted, ignored, duplicate), the reason, and per link the flows queued."""

    status: str
    reason: str | None = None
    links: dict[str, list[str]] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """What the route's one log line carries about the outcome: the answer, its status as `outcome`, without
        the list of flows (the links name them)."""
        shown = self.body()
        shown["outcome"] = shown.pop("status")
        shown.pop("flows", None)
        return shown

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.links:
            body["links"] = self.links
            body["flows"] = sorted({flow for flows in self.links.values() for flow in flows})
        return body

    def rendered(self) -> bytes:
        """`body()` as JSON: the answers are few (per outcome, which links and flows), so each is rendered once."""
        key = (self.status, self.reason, tuple((link, tuple(flows)) for link, flows in self.links.items()))
        found = _RENDERED.get(key)
        if found is None:
            found = json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()
            if len(_RENDERED) >= 1024:  # reasons name topics, which come from signed bodies: bounded all the same
                _RENDERED.clear()
            _RENDERED[key] = found
        return found


_RENDERED: dict[tuple[Any, ...], bytes] = {}


def _on_division(links: list[Link], division: Any) -> list[Link]:
    active = [link for link in links if not link.paused]
    wanted = str(division) if division is not None else None
    exact = [link for link in active if link.division is not None and str(link.division) == wanted]
    return exact or [link for link in active if link.division is None]


# Whether a stored config (its JSON text, None: never stored) enables its flow, per flow: validating a config is
# pydantic work and mapping compiles, and the text rarely changes, so each text is judged once per process.
_ENABLED: dict[tuple[str, bytes | None], bool] = {}


def _enabled(definition: FlowDefinition, stored: bytes | None) -> bool:
    """A flow whose stored config is invalid counts as enabled: its runs then fail visibly in the activity log
    instead of changes being dropped silently."""
    key = (definition.name, stored)
    found = _ENABLED.get(key)
    if found is None:
        try:
            raw = json.loads(stored) if stored is not None else default_config(definition)
            found = resolve(definition, raw).config.enabled
        except (ConfigInvalid, ValueError, RecursionError, TypeError):
            found = True
        if len(_ENABLED) > 1024:
            _ENABLED.clear()
        _ENABLED[key] = found
    return found


@dataclass(slots=True)
class _Snapshot:
    """The link registry (raw and parsed) and the stored configs of every webhook flow of every link, as one
    process last read them. Events are planned from it, and `enqueue_batch` checks in Redis, atomically, that it
    still holds (`Guard`): a change made anywhere (another API process, the console) is seen by the next event."""

    registry: dict[bytes, bytes]
    links: list[Link]
    configs: dict[tuple[str, str], bytes | None]
    _guard: Guard | None = None

    def guard(self, process: Process) -> Guard:
        """The guard of a plan: the registry and the webhook flows' config keys of every link (built once)."""
        if self._guard is None:
            configs = {
                process.keys.for_link(link.id).flow_config(flow): self.configs.get((link.id, flow))
                for link in self.links
                for flow in _webhook_flows(process)
            }
            self._guard = Guard(process.keys.links, self.registry, configs)
        return self._guard


def _webhook_flows(process: Process) -> list[str]:
    return [d.name for d in process.flows.values() if d.webhook_topics]


def _guard_slots(snapshot: _Snapshot, process: Process) -> list[tuple[str, str]]:
    """The (link, flow) of each config key of `snapshot.guard`, in its order."""
    return [(link.id, flow) for link in snapshot.links for flow in _webhook_flows(process)]


def _queue_configs(pipe: Any, process: Process, link_ids: list[str], flows: list[str]) -> list[tuple[str, str]]:
    """Queue on `pipe` the read of each link's stored config of each flow; the (link, flow) of each, in order."""
    slots = [(link_id, flow) for link_id in link_ids for flow in flows]
    for link_id, flow in slots:
        pipe.get(process.keys.for_link(link_id).flow_config(flow))
    return slots


class DeliveryFailed(ServiceError):
    """Redis refused one of an event's writes (a key of the wrong type, say): 500, the delivery is not remembered,
    so Exact retries it; the events it shared a batch with are not affected."""

    status_code = 500


class BadEvent(ServiceError):
    """A signed body whose `Content` is not an Exact event (e.g. a `Key` that is not a GUID): 400, nothing queued."""


def parse_event(content: Mapping[str, Any]) -> IngestEvent:
    """The event in a verified body's `Content`; BadEvent naming the fields at fault."""
    try:
        return IngestEvent.model_validate(content)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            if error["loc"][0] == "EventCreatedOn":  # one message for the field, not one per form it may take
                problems["Content.EventCreatedOn"] = "must be /Date(milliseconds)/ or an ISO 8601 date-time"
            else:
                problems.setdefault(f"Content.{'.'.join(str(p) for p in error['loc'])}", str(error["msg"]))
        raise BadEvent("; ".join(f"{field}: {message}" for field, message in problems.items())) from None


async def accept_exact_event(process: Process, content: Mapping[str, Any]) -> Accepted:
    """Route one verified event (`Content` of the body) to its links and enqueue its jobs, in one Redis round trip
    (shared with the events that arrive meanwhile, `_Ingest`) while the process's snapshot of links and configs
    holds, two after a change. Raises BadEvent for a Content that is not an event; Redis errors propagate."""
    event = parse_event(content)
    ingest = _INGESTS.get(process)
    if ingest is None:
        ingest = _INGESTS[process] = _Ingest()
    flows = ingest.flows_of(process, event.topic)
    if not flows:
        return Accepted("ignored", f"no flow uses topic {event.topic}")
    await process.ready()
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    seen = process.keys.webhook_seen(digest)
    return await ingest.submit(process, _Event(event.topic, event.key.lower(), event.division, flows, seen))


MAX_BATCH = 64  # deliveries per script call: bounds the script's run time (Redis runs nothing else meanwhile)


@dataclass(slots=True)
class _Event:
    """A verified event waiting for its batch: what to plan it from, and where its answer goes."""

    topic: str
    key: str
    division: Any
    flows: list[FlowDefinition]
    seen: str
    answer: asyncio.Future[Accepted] | None = None

    def settle(self, accepted: Accepted) -> None:
        """Answer the event's request (unless it went away: its delivery is handled all the same)."""
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(accepted)

    def fail(self, error: BaseException | None) -> None:
        """Answer the event's request with `error` (None: cancel it)."""
        if self.answer is not None and not self.answer.done():
            if error is None or isinstance(error, asyncio.CancelledError):
                self.answer.cancel()
            else:
                self.answer.set_exception(error)

    def plan(self, snapshot: _Snapshot) -> tuple[list[Link], list[RecordRun]]:
        """The links on the event's division and the runs they take, by `snapshot`."""
        chosen = _on_division(snapshot.links, self.division)
        runs = [
            RecordRun(link.id, definition.name, self.key)
            for link in chosen
            for definition in self.flows
            if _enabled(definition, snapshot.configs.get((link.id, definition.name)))
        ]
        return chosen, runs


class _Ingest:
    """One process's webhook events on their way to Redis. An event that arrives while no script call is in flight
    goes at once, alone; the events that arrive while one is in flight go together in the next call (at most
    `MAX_BATCH`): under load an event costs a share of a round trip and of the client's per-call work, never a
    wait for a timer. Each event still gets its own answer (accepted, duplicate, ignored) or the call's error."""

    def __init__(self) -> None:  # no reference to its process: `_INGESTS` would keep the process alive
        self.waiting: list[_Event] = []
        self.sender: asyncio.Task[None] | None = None
        self.topics: dict[str, list[FlowDefinition]] = {}
        self.snapshot: _Snapshot | None = None  # what events are planned from (see `_Snapshot`)

    def flows_of(self, process: Process, topic: str) -> list[FlowDefinition]:
        """The flows listening to `topic` (Exact's topic names, compared case-insensitively)."""
        found = self.topics.get(topic)
        if found is None:
            wanted = topic.lower()
            found = [d for d in process.flows.values() if wanted in (t.lower() for t in d.webhook_topics)]
            if len(self.topics) < 256:  # topics come from signed bodies, but stay bounded all the same
                self.topics[topic] = found
        return found

    async def read(self, process: Process) -> _Snapshot:
        """Read the registry and the webhook flows' configs in one pipeline (the configs of the links the last snapshot
        knew; a link that appeared since costs one more round trip, once)."""
        flows = _webhook_flows(process)
        last = self.snapshot
        guessed = [link.id for link in last.links] if last is not None else []
        async with process.redis.pipeline(transaction=False) as pipe:
            process.registry.queue_all(pipe)
            slots = _queue_configs(pipe, process, guessed, flows)
            answers = await pipe.execute()
        configs = dict(zip(slots, answers[1:], strict=True))
        return await self.complete(process, answers[0], configs)

    async def complete(
        self, process: Process, registry: dict[bytes, bytes], configs: dict[tuple[str, str], bytes | None]
    ) -> _Snapshot:
        """The snapshot of `registry` with `configs`, reading those of links that are new to it (one more pipeline)."""
        flows = _webhook_flows(process)
        last = self.snapshot
        if last is not None and last.registry == registry:
            links = last.links
        else:
            links = [process.effective(link) for link in process.registry.parse_all(registry)]
        missing = [link.id for link in links if any((link.id, flow) not in configs for flow in flows)]
        if missing:
            async with process.redis.pipeline(transaction=False) as pipe:
                slots = _queue_configs(pipe, process, missing, flows)
                more = await pipe.execute()
            configs |= dict(zip(slots, more, strict=True))
        snapshot = _Snapshot(registry, links, configs)
        self.snapshot = snapshot
        return snapshot

    def submit(self, process: Process, event: _Event) -> asyncio.Future[Accepted]:
        loop = asyncio.get_running_loop()
        event.answer = answer = loop.create_future()
        self.waiting.append(event)
        if self.sender is None or self.sender.done():
            # A context of its own: the sender serves many requests, so it carries none's request id.
            self.sender = loop.create_task(self._send_all(process), name="webhook-ingest", context=Context())
            self.sender.add_done_callback(self._sender_done)
        return answer

    def _sender_done(self, sender: asyncio.Task[None]) -> None:
        """A sender cancelled before it ran (the loop shutting down) answers nobody: its waiting events are
        cancelled here, so no request waits for a batch that will not be sent."""
        if sender.cancelled() and self.waiting:
            for event in self.waiting:
                event.fail(None)
            self.waiting = []

    async def _send_all(self, process: Process) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            try:
                await self._send(process, batch)
            except BaseException as exc:  # the batch's requests answer with it (503 for Redis errors)
                for event in batch:
                    event.fail(exc)
                if not isinstance(exc, Exception):
                    for event in self.waiting:
                        event.fail(None)  # the process is shutting down: nothing more is sent
                    self.waiting = []
                    raise

    async def _send(self, process: Process, batch: list[_Event]) -> None:
        snapshot, fresh = self.snapshot, False
        for attempt in range(3):
            if snapshot is None:
                snapshot, fresh = await self.read(process), True
            plans = [(event, *event.plan(snapshot)) for event in batch]
            if not fresh and any(not runs for _event, _chosen, runs in plans):
                snapshot = None  # a remembered "nothing to do" is confirmed by a fresh read, never trusted
                continue
            sending: list[tuple[_Event, list[RecordRun]]] = []
            for event, chosen, runs in plans:
                if not chosen:
                    event.settle(Accepted("ignored", "no link on this division"))
                elif not runs:
                    event.settle(Accepted("ignored", f"no enabled flow uses topic {event.topic}"))
                else:
                    sending.append((event, runs))
            if not sending:
                return
            # The last try goes ahead with what it just read, as a read-then-write would, whatever changed since.
            guard = snapshot.guard(process) if attempt < 2 else None
            deliveries = [Delivery(event.seen, runs) for event, runs in sending]
            done = await enqueue_batch(process.redis, process.settings, deliveries, SEEN_TTL_SECONDS, "webhook", guard)
            if done.status == "done":
                for (event, runs), queued in zip(sending, done.deliveries, strict=True):
                    if isinstance(queued, str):
                        event.fail(DeliveryFailed(f"Redis refused to queue this event's jobs: {queued}"))
                    else:
                        event.settle(_accepted(runs) if queued is not None else Accepted("duplicate"))
                return
            # Stale: links or configs changed since this process read them; plan again from what the script found.
            found = dict(zip(_guard_slots(snapshot, process), (done.configs or {}).values(), strict=True))
            snapshot, fresh = await self.complete(process, done.registry or {}, found), True
            batch = [event for event, _runs in sending]
        raise AssertionError("the third try sends without a guard")  # pragma: no cover


def _accepted(runs: list[RecordRun]) -> Accepted:
    accepted = Accepted("accepted")
    for run in runs:
        accepted.links.setdefault(run.link, []).append(run.flow)
    return accepted


_INGESTS: weakref.WeakKeyDictionary[Process, _Ingest] = weakref.WeakKeyDictionary()
