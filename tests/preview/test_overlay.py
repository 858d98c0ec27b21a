"""The preview's Redis overlay on a real Redis: reads see the real state and the run's own writes; the real state
never changes; a command the overlay does not know is refused, never passed through."""

from __future__ import annotations

import pytest
from arq.connections import ArqRedis

from app.preview import DryRunViolation, OverlayRedis
from app.settings import Settings
from app.xref import CrossRefs
from connectors.keys import Keys


async def _snapshot(redis: ArqRedis, prefix: str) -> dict[str, object]:
    out: dict[str, object] = {}
    async for raw in redis.scan_iter(match=f"{prefix}:*"):
        key = raw.decode()
        kind = (await redis.type(key)).decode()
        out[key] = await (redis.get(key) if kind == "string" else redis.hgetall(key))
    return out


async def test_reads_see_real_state_and_own_writes_and_the_real_state_stays(
    settings: Settings, redis: ArqRedis
) -> None:
    prefix = settings.redis.key_prefix
    await redis.set(f"{prefix}:s", "real")
    await redis.hset(f"{prefix}:h", mapping={"a": "1", "b": "2"})
    before = await _snapshot(redis, prefix)
    overlay = OverlayRedis(redis)

    assert await overlay.get(f"{prefix}:s") == b"real"
    assert await overlay.set(f"{prefix}:s", "mine", nx=True) is None  # exists (really)
    assert await overlay.set(f"{prefix}:s", "mine", px=1000) is True
    assert await overlay.get(f"{prefix}:s") == b"mine"
    await overlay.hset(f"{prefix}:h", "c", "3")
    await overlay.hdel(f"{prefix}:h", "a")
    assert await overlay.hgetall(f"{prefix}:h") == {b"b": b"2", b"c": b"3"}
    assert await overlay.hmget(f"{prefix}:h", ["a", "b", "c"]) == [None, b"2", b"3"]
    assert await overlay.hlen(f"{prefix}:h") == 2 and await overlay.hexists(f"{prefix}:h", "c")
    async with overlay.pipeline(transaction=True) as pipe:
        pipe.hset(f"{prefix}:h", "d", "4")
        pipe.delete(f"{prefix}:s")
        await pipe.execute()
    assert await overlay.get(f"{prefix}:s") is None and await overlay.exists(f"{prefix}:s") == 0
    assert await overlay.hget(f"{prefix}:h", "d") == b"4"
    with pytest.raises(DryRunViolation):
        await overlay.lpush(f"{prefix}:l", "x")
    with pytest.raises(DryRunViolation):
        await overlay.eval("return redis.call('flushdb')", 0)

    assert await _snapshot(redis, prefix) == before


async def test_cross_references_and_their_locks_work_over_the_overlay(settings: Settings, redis: ArqRedis) -> None:
    keys = Keys.of(settings).for_link("default")
    real = CrossRefs(redis, keys)
    await real.link("ea:order>exact:salesorder", "o1", "t1")
    before = await _snapshot(redis, settings.redis.key_prefix)
    xref = CrossRefs(OverlayRedis(redis), keys)  # type: ignore[arg-type]
    assert await xref.target("ea:order>exact:salesorder", "o1") == "t1"
    assert await xref.begin("ea:order>exact:salesorder", "o2") is False
    async with xref.lock("ea:customer", "c1"):
        await xref.link("ea:order>exact:salesorder", "o2", "t2", payload_hash="h")
    assert await xref.target("ea:order>exact:salesorder", "o2") == "t2"
    assert await xref.count("ea:order>exact:salesorder") == 2
    assert await real.target("ea:order>exact:salesorder", "o2") is None
    assert await _snapshot(redis, settings.redis.key_prefix) == before
