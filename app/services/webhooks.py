"""An Exact webhook event, verified by the route: routed by its Division to the link(s) of that division,
de-duplicated, and one record job enqueued per enabled flow of each link listening to its topic.

Exact retries a delivery it got no 2xx for during about a day, and reliably re-sends: an identical delivery is
remembered for `SEEN_TTL_SECONDS` and enqueues nothing new. The delivery is remembered in the same Redis script that
enqueues its jobs (`app.jobs.enqueue_once`), so it is remembered exactly when its jobs are queued: a delivery that
failed is not remembered, and Exact's retry is enqueued rather than answered as a duplicate.

An event costs two Redis round trips: one pipeline reading the link registry and the configs of the flows its topic
concerns, and that script. The route logs one line per event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.engine import Engine
from app.flowconfig import ConfigInvalid, default_config, resolve
from app.jobs import RecordRun, enqueue_once
from app.links import Link
from app.scope import Process
from app.services.errors import ServiceError
from connectors.exact.webhooks import WebhookContent
from flows.base import FlowDefinition

SEEN_TTL_SECONDS = 3 * 86400  # longer than Exact's retry schedule (~34 h)


@dataclass(slots=True)
class Accepted:
    """What the API answers: `status` (accepted, ignored, duplicate), the reason, and per link the flows queued."""

    status: str
    reason: str | None = None
    links: dict[str, list[str]] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """What the route's one log line carries about the outcome."""
        shown: dict[str, Any] = {"outcome": self.status}
        if self.reason is not None:
            shown["reason"] = self.reason
        if self.links:
            shown["links"] = self.links
        return shown

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.links:
            body["links"] = self.links
            body["flows"] = sorted({flow for flows in self.links.values() for flow in flows})
        return body


async def links_of_division(process: Process, division: Any) -> list[Engine]:
    """The engines of the active links on `division` (a link whose division is not known yet: the upgraded single
    link, whose division comes from `current/Me`, takes the events no other link claims)."""
    return [process.engine(link) for link in _on_division(await process.links(), division)]


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


class _View:
    """The links and the stored configs of the flows an event's topic concerns, read in one pipeline.

    The configs are read for the links the previous event saw (the set rarely changes); a link that appeared since
    costs one more round trip, once.
    """

    known_links: tuple[str, ...] = ()
    parsed: tuple[Any, list[Link]] = (None, [])  # the registry's last answer and its links (parsed once)

    @classmethod
    async def read(
        cls, process: Process, flows: list[FlowDefinition]
    ) -> tuple[list[Link], dict[tuple[str, str], bytes | None]]:
        guessed = cls.known_links
        async with process.redis.pipeline(transaction=False) as pipe:
            process.registry.queue_all(pipe)
            for link in guessed:
                for definition in flows:
                    pipe.get(process.keys.for_link(link).flow_config(definition.name))
            answers = await pipe.execute()
        registry = tuple(sorted(answers[0].items()))
        if cls.parsed[0] != registry:
            cls.parsed = (registry, process.registry.parse_all(answers[0]))
        links = [process.effective(link) for link in cls.parsed[1]]
        stored = dict(zip([(link, d.name) for link in guessed for d in flows], answers[1:], strict=True))
        missing = [link.id for link in links if link.id not in guessed]
        if missing:
            async with process.redis.pipeline(transaction=False) as pipe:
                for link in missing:
                    for definition in flows:
                        pipe.get(process.keys.for_link(link).flow_config(definition.name))
                more = await pipe.execute()
            stored |= dict(zip([(link, d.name) for link in missing for d in flows], more, strict=True))
        cls.known_links = tuple(link.id for link in links)
        return links, stored


class BadEvent(ServiceError):
    """A signed body whose `Content` is not an Exact event (e.g. a `Key` that is not a GUID): 400, nothing queued."""


def parse_event(content: Mapping[str, Any]) -> WebhookContent:
    """The event in a verified body's `Content`; BadEvent naming the fields at fault."""
    try:
        return WebhookContent.model_validate(content)
    except ValidationError as exc:
        problems = "; ".join(f"Content.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise BadEvent(problems) from None


async def accept_exact_event(process: Process, content: Mapping[str, Any]) -> Accepted:
    """Route one verified event (`Content` of the body) to its links and enqueue its jobs: in two Redis round trips,
    one reading the links and configs, one remembering the delivery and enqueueing its jobs
    (`app.jobs.enqueue_once`). Raises BadEvent for a Content that is not an event."""
    event = parse_event(content)
    topic, key, division = event.topic, event.key.lower(), event.division
    wanted = topic.lower()
    flows = [d for d in process.flows.values() if wanted in (t.lower() for t in d.webhook_topics)]
    if not flows:
        return Accepted("ignored", f"no flow uses topic {topic}")
    await process.ready()
    links, stored = await _View.read(process, flows)
    chosen = _on_division(links, division)
    if not chosen:
        return Accepted("ignored", "no link on this division")
    runs = [
        RecordRun(link.id, definition.name, key)
        for link in chosen
        for definition in flows
        if _enabled(definition, stored.get((link.id, definition.name)))
    ]
    if not runs:
        return Accepted("ignored", f"no enabled flow uses topic {topic}")
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    seen = process.keys.webhook_seen(digest)
    queued = await enqueue_once(process.redis, process.settings, seen, SEEN_TTL_SECONDS, runs, "webhook")
    if queued is None:
        return Accepted("duplicate")
    accepted = Accepted("accepted")
    for run in runs:
        accepted.links.setdefault(run.link, []).append(run.flow)
    return accepted
