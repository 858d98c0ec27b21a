"""Links of the installation: create, list, change, pause, resume, remove (removing a link removes its data).

Removal order matters with workers running: the link leaves the registry first (no job of it starts any more:
a worker finds no link and drops the job), its queued jobs leave the queue, then its keys are deleted. A run that was
already going when the link was removed sweeps the link's keys again when it ends (`Engine.run_record`), so nothing
of it survives the removal.
"""

from __future__ import annotations

from typing import Any

import structlog

from app.links import Link, LinkChanges, NewLink, link_json
from app.scope import Process
from app.services.errors import Conflict, NotFoundError
from app.xref import text_of
from connectors.errors import ConnectorError

log = structlog.get_logger("links")

_DELETE_BATCH = 500


async def list_links(process: Process) -> list[dict[str, Any]]:
    return [link_json(link) for link in await process.links()]


async def get_link(process: Process, link_id: str) -> Link:
    link = await process.link(link_id)
    if link is None:
        raise NotFoundError(f"no link {link_id!r}; see GET /links")
    return link


async def create_link(process: Process, new: NewLink) -> Link:
    """A new link on `new.division`; its eAccounting connection is its own unless it names another."""
    await process.ready()
    link = Link(
        id=new.id,
        title=new.title,
        division=new.division,
        exact_connection=new.exact_connection,
        eaccounting_connection=new.eaccounting_connection or new.id,
        alert_url=new.alert_url,
    )
    if not await process.registry.add(link):
        raise Conflict(f"a link {new.id!r} exists already")
    log.info(
        "link.created",
        link=link.id,
        division=link.division,
        eaccounting=link.eaccounting_connection,
        own_alerts=link.alert_url is not None,
    )
    return link


async def change_link(process: Process, link_id: str, changes: LinkChanges) -> Link:
    """Change a link's title or alert destination; every process's next use of the link sees the change (a
    scope is rebuilt when its link's definition differs)."""
    await get_link(process, link_id)
    stored = await process.registry.get(link_id)
    assert stored is not None
    updates = changes.updates()
    updated = stored.model_copy(update=updates)
    await process.registry.put(updated)
    process.forget(link_id)
    # The URL itself is a secret: only whether the link has one is logged.
    log.info("link.changed", link=link_id, fields=sorted(updates), own_alerts=updated.alert_url is not None)
    return process.effective(updated)


async def set_paused(process: Process, link_id: str, paused: bool) -> Link:
    link = await get_link(process, link_id)
    stored = await process.registry.get(link_id)
    assert stored is not None
    updated = stored.model_copy(update={"paused": paused})
    await process.registry.put(updated)
    process.forget(link_id)
    log.info("link.paused" if paused else "link.resumed", link=link.id)
    return process.effective(updated)


async def remember_company(process: Process, link_id: str, company: str | None) -> None:
    """Store the eAccounting company's name a link's connection turned out to be bound to (after consent)."""
    stored = await process.registry.get(link_id)
    if stored is not None and stored.company != company:
        await process.registry.put(stored.model_copy(update={"company": company}))
        process.forget(link_id)


async def remove_link(process: Process, link_id: str) -> dict[str, Any]:
    """Remove the link and everything it owns; returns what was removed."""
    link = await get_link(process, link_id)
    others = [other for other in await process.links() if other.id != link_id]
    unsubscribed = await _unsubscribe(process, link, others)
    await process.registry.delete(link_id)
    jobs = await _drop_queued_jobs(process, link_id)
    keys = await purge_link_data(process, link_id)
    tokens = 0
    if not any(other.eaccounting_connection == link.eaccounting_connection for other in others):
        # The company's connection served only this link: its tokens go with it.
        tokens = int(await process.redis.delete(process.keys.token("eaccounting", link.eaccounting_connection)))
    process.forget(link_id)
    log.info("link.removed", link=link_id, keys=keys, jobs=jobs, tokens=tokens)
    return {"removed": link_id, "keys": keys, "queued_jobs": jobs, "tokens": tokens, "webhooks": unsubscribed}


async def purge_link_data(process: Process, link_id: str) -> int:
    """Delete every key of the link (`{prefix}:l:{link}:*`)."""
    removed = 0
    batch: list[Any] = []
    async for key in process.redis.scan_iter(match=process.keys.for_link(link_id).link_data, count=1000):
        batch.append(key)
        if len(batch) >= _DELETE_BATCH:
            removed += int(await process.redis.delete(*batch))
            batch = []
    if batch:
        removed += int(await process.redis.delete(*batch))
    return removed


async def _drop_queued_jobs(process: Process, link_id: str) -> int:
    """Take the link's jobs out of the queue (their ids are under the link's keys)."""
    queue = process.settings.redis.queue_name
    dropped = 0
    async for raw, _score in process.redis.zscan_iter(queue, match=process.keys.for_link(link_id).link_data):
        job_id = text_of(raw) or ""
        await process.redis.zrem(queue, job_id)
        await process.redis.delete(process.keys.arq_job(job_id))
        dropped += 1
    return dropped


async def _unsubscribe(process: Process, link: Link, others: list[Link]) -> dict[str, str]:
    """Exact webhook subscriptions of the link's division at our callback, unless another link is on it."""
    url = process.settings.exact.public_webhook_url
    if not url or link.division is None or any(other.division == link.division for other in others):
        return {}
    engine = process.engine(link)
    done: dict[str, str] = {}
    try:
        for subscription in await engine.exact.webhook_subscriptions():
            if subscription.callback_url == url:
                await engine.exact.unsubscribe(subscription.id)
                done[str(subscription.topic)] = "removed"
    except ConnectorError as exc:
        log.warning("link.unsubscribe_failed", link=link.id, error=str(exc))
        done["error"] = str(exc)
    return done
