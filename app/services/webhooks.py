"""An Exact webhook event, verified by the route: routed by its Division to the link(s) of that division,
de-duplicated, and one record job enqueued per enabled flow of each link listening to its topic.

Exact retries a delivery it got no 2xx for during about a day, and reliably re-sends: an identical delivery is
remembered for `SEEN_TTL_SECONDS` and enqueues nothing new. A delivery that failed half-way is forgotten again, so
Exact's retry is enqueued rather than answered as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import structlog

from app.engine import Engine
from app.flowconfig import ConfigInvalid
from app.scope import Process
from flows.base import FlowDefinition

log = structlog.get_logger("webhooks")

SEEN_TTL_SECONDS = 3 * 86400  # longer than Exact's retry schedule (~34 h)


@dataclass(slots=True)
class Accepted:
    """What the API answers: `status` (accepted, ignored, duplicate), the reason, and per link the flows queued."""

    status: str
    reason: str | None = None
    links: dict[str, list[str]] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.links:
            body["links"] = self.links
            body["flows"] = sorted({flow for flows in self.links.values() for flow in flows})
        return body


async def _flows_for(engine: Engine, topic: str) -> list[FlowDefinition]:
    """Enabled flows of the link that listen to `topic` (a flow whose stored config is invalid counts as enabled:
    its runs then fail visibly in the activity log instead of changes being dropped silently)."""
    chosen = []
    for definition in engine.flows.values():
        if topic.lower() not in (t.lower() for t in definition.webhook_topics):
            continue
        try:
            enabled = (await engine.configs.get(definition.name)).config.enabled
        except ConfigInvalid:
            enabled = True
        if enabled:
            chosen.append(definition)
    return chosen


async def links_of_division(process: Process, division: Any) -> list[Engine]:
    """The engines of the active links on `division` (a link whose division is not known yet: the upgraded single
    link, whose division comes from `current/Me`, takes the events no other link claims)."""
    links = [link for link in await process.links() if not link.paused]
    wanted = str(division) if division is not None else None
    exact = [link for link in links if link.division is not None and str(link.division) == wanted]
    if exact:
        return [process.engine(link) for link in exact]
    return [process.engine(link) for link in links if link.division is None]


async def accept_exact_event(process: Process, content: dict[str, Any]) -> Accepted:
    """Route one verified event (`Content` of the body) to its links and enqueue its jobs."""
    topic, key, division = str(content["Topic"]), str(content["Key"]), content.get("Division")
    targets: dict[str, tuple[Engine, list[FlowDefinition]]] = {}
    engines = await links_of_division(process, division)
    if not engines:
        log.info("webhook.other_division", topic=topic, division=division)
        return Accepted("ignored", "no link on this division")
    for engine in engines:
        flows = await _flows_for(engine, topic)
        if flows:
            targets[engine.link] = (engine, flows)
    if not targets:
        log.info("webhook.unknown_topic", topic=topic, division=division)
        return Accepted("ignored", f"no flow uses topic {topic}")
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    seen = process.keys.webhook_seen(digest)
    if not await process.redis.set(seen, "1", nx=True, ex=SEEN_TTL_SECONDS):
        log.info("webhook.duplicate", topic=topic, key=key)
        return Accepted("duplicate")
    accepted = Accepted("accepted")
    try:
        for link, (engine, flows) in targets.items():
            for definition in flows:
                await engine.enqueue(definition.name, key.lower(), "webhook")
                accepted.links.setdefault(link, []).append(definition.name)
    except Exception:
        # Not remembered as seen: Exact's retry of this delivery must be enqueued, not answered as a duplicate.
        await process.redis.delete(seen)
        raise
    log.info("webhook.accepted", topic=topic, key=key, action=content.get("Action"), links=accepted.links)
    return accepted
