"""Exact webhook subscriptions for the flows' topics, kept pointing at our public callback URL."""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from connectors.exact import ExactClient
from flows.base import FlowDefinition

log = structlog.get_logger("subscriptions")


def webhook_topics(flows: Mapping[str, FlowDefinition]) -> set[str]:
    return {topic for d in flows.values() for topic in d.webhook_topics}


async def ensure_subscriptions(exact: ExactClient, callback_url: str, topics: set[str]) -> dict[str, str]:
    """Make sure one Exact subscription per topic points at `callback_url`; returns topic -> what was done.

    Exact allows one subscription per topic per app and division, so one pointing elsewhere (an old public URL) is
    replaced. Creating one makes Exact POST an empty body to the callback first, which `POST /webhooks/exact`
    answers with 200; the callback must therefore be reachable when this runs.
    """
    existing = await exact.webhook_subscriptions()
    done: dict[str, str] = {}
    for topic in sorted(topics):
        mine = [s for s in existing if (s.topic or "").lower() == topic.lower()]
        if any(s.callback_url == callback_url for s in mine):
            done[topic] = "exists"
            continue
        for stale in mine:
            await exact.unsubscribe(stale.id)
        await exact.subscribe(topic, callback_url)
        done[topic] = "created"
    log.info("webhooks.subscriptions", callback_url=callback_url, topics=done)
    return done
