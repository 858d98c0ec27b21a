"""A small flow over Redis hashes, to test the engine's guarantees without either real API.

Everything lives in the link's own keys, `key(keys, part)` (= `keys.flow_state("echo", part)`): source records in
`src:{id}`, the "target system" in `tgt:{target_id}` with the source id as its natural key. Per-record failure
modes are set in `fail:{id}`: `transient:N` (fail N times), `permanent`, `slow:N` (take 2 s, N times: longer than a
test's run timeout), `redis-away:N` (Redis's connection fails mid-run N times), `crash-after-write:N` (write
the target, then die before `link()` N times: the worker killed between the target write and the cross-reference
write). `hold:{id}` = seconds makes every run of the record take that long, and `maxrun:{id}` records the most
runs of it that were ever in progress at once; `writes` counts target writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from connectors.errors import Rejected, TransientError
from connectors.keys import Keys
from flows.base import FlowContext, FlowDefinition, FlowOptions, Outcome, PollPage, RecordFailed

KIND = "test:src>test:tgt"


def key(keys: Keys, part: str) -> str:
    """A key of the echo flow's little world, inside the link's keys."""
    return keys.flow_state("echo", part)


class EchoOptions(FlowOptions):
    uppercase: bool = False


async def fetch(ctx: FlowContext, record_id: str) -> dict[str, Any] | None:
    raw = await ctx.redis.hgetall(key(ctx.keys, f"src:{record_id}"))
    if not raw:
        return None
    return {"id": record_id, **{k.decode(): v.decode() for k, v in raw.items()}}


async def _consume_failure(ctx: FlowContext, record_id: str, mode: str) -> bool:
    raw = await ctx.redis.get(key(ctx.keys, f"fail:{record_id}"))
    if raw is None:
        return False
    kind, _, count = raw.decode().partition(":")
    if kind != mode:
        return False
    if mode == "permanent":
        return True
    left = int(count or "1")
    if left <= 0:
        return False
    await ctx.redis.set(key(ctx.keys, f"fail:{record_id}"), f"{kind}:{left - 1}")
    return True


async def _find_by_natural_key(ctx: FlowContext, record_id: str) -> str | None:
    async for found in ctx.redis.scan_iter(match=key(ctx.keys, "tgt:*")):
        payload = json.loads(await ctx.redis.get(found))
        if payload["source_id"] == record_id:
            return str(found.decode().rsplit(":", 1)[1])
    return None


async def handle(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    record_id = source["id"]
    running = await ctx.redis.incr(key(ctx.keys, f"running:{record_id}"))
    try:
        current = int(await ctx.redis.get(key(ctx.keys, f"maxrun:{record_id}")) or 0)
        if running > current:
            await ctx.redis.set(key(ctx.keys, f"maxrun:{record_id}"), running)
        hold = await ctx.redis.get(key(ctx.keys, f"hold:{record_id}"))
        if hold is not None:
            await asyncio.sleep(float(hold))
        return await _handle(ctx, source)
    finally:
        await ctx.redis.decr(key(ctx.keys, f"running:{record_id}"))


async def _handle(ctx: FlowContext, source: dict[str, Any]) -> Outcome:
    record_id = source["id"]
    if await _consume_failure(ctx, record_id, "slow"):
        await asyncio.sleep(2)
    if await _consume_failure(ctx, record_id, "redis-away"):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    if await _consume_failure(ctx, record_id, "transient"):
        raise TransientError("simulated outage", system="test", status=503)
    if await _consume_failure(ctx, record_id, "permanent"):
        raise RecordFailed(f"record {record_id} is marked broken")
    if source.get("reject"):
        raise Rejected("target refused the value", system="test", status=400)
    value = source.get("value", "")
    if ctx.options.uppercase:
        value = value.upper()
    payload = {"source_id": record_id, "value": value}
    ctx.target_payload = payload
    await ctx.redis.incr(key(ctx.keys, "writes"))
    target_id = await ctx.xref.target(KIND, record_id)
    if target_id is None and await ctx.xref.begin(KIND, record_id):
        target_id = await _find_by_natural_key(ctx, record_id)  # an earlier run may have written it
    if target_id is not None:
        old = await ctx.redis.get(key(ctx.keys, f"tgt:{target_id}"))
        if old is not None and json.loads(old) == payload:
            await ctx.xref.link(KIND, record_id, target_id)
            await ctx.redis.decr(key(ctx.keys, "writes"))
            return Outcome("unchanged", target_id=target_id, target_payload=payload)
        await ctx.redis.set(key(ctx.keys, f"tgt:{target_id}"), json.dumps(payload))
        await ctx.xref.link(KIND, record_id, target_id)
        return Outcome("updated", target_id=target_id, target_payload=payload)
    sequence = await ctx.redis.incr(key(ctx.keys, "tgt-seq"))
    target_id = f"t{sequence}"
    await ctx.redis.set(key(ctx.keys, f"tgt:{target_id}"), json.dumps(payload))
    if await _consume_failure(ctx, record_id, "crash-after-write"):
        raise TransientError("worker died after the target write", system="test")
    await ctx.xref.link(KIND, record_id, target_id)
    return Outcome("created", target_id=target_id, target_payload=payload)


async def poll(ctx: FlowContext, cursor: str | None) -> AsyncIterator[PollPage]:
    start = int(cursor or 0)
    sources = ctx.redis.scan_iter(match=key(ctx.keys, "src:*"))
    ids = sorted([k.decode().rsplit(":", 1)[1] async for k in sources])
    for i in range(start, len(ids), 2):
        page = ids[i : i + 2]
        yield PollPage(record_ids=page, cursor=str(i + len(page)))


ECHO = FlowDefinition(
    name="echo",
    title="Echo (test)",
    source="exact",
    target="eaccounting",
    fetch=fetch,
    handle=handle,
    poll=poll,
    webhook_topics=("Items",),
    options_model=EchoOptions,
    default_mapping=None,
    parse_record_id=str.strip,  # the echo world names its records "a", "b", ...
)
FLOWS = {"echo": ECHO}
