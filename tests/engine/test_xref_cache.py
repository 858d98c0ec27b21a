import asyncio
from collections.abc import Callable
from decimal import Decimal

from app.xref import CrossRefs, content_hash
from connectors.keys import Keys
from flows.cache import RedisShared, RefCache
from tests.redisdb import RUN_PREFIX


async def test_link_is_bidirectional_and_clears_the_intent(redis) -> None:
    xref = CrossRefs(redis, Keys(RUN_PREFIX, "default"))
    assert await xref.begin("ea:order>exact:salesorder", "o1") is False
    assert await xref.pending("ea:order>exact:salesorder", "o1")
    await xref.link("ea:order>exact:salesorder", "o1", "guid-1", payload_hash="h1")
    assert await xref.target("ea:order>exact:salesorder", "o1") == "guid-1"
    assert await xref.source("ea:order>exact:salesorder", "guid-1") == "o1"
    assert await xref.last_hash("ea:order>exact:salesorder", "o1") == "h1"
    assert not await xref.pending("ea:order>exact:salesorder", "o1")
    assert await xref.targets("ea:order>exact:salesorder", ["o1", "o2"]) == {"o1": "guid-1"}
    await xref.unlink("ea:order>exact:salesorder", "o1")
    assert await xref.target("ea:order>exact:salesorder", "o1") is None
    assert await xref.source("ea:order>exact:salesorder", "guid-1") is None


async def test_begin_reports_an_unlinked_earlier_intent(redis) -> None:
    """A run that died between the target write and link() leaves an intent the next run sees."""
    xref = CrossRefs(redis, Keys(RUN_PREFIX, "default"))
    await xref.begin("k", "s1")
    assert await xref.begin("k", "s1") is True


async def test_last_values_and_kinds_are_separate(redis) -> None:
    xref = CrossRefs(redis, Keys(RUN_PREFIX, "default"))
    await xref.set_last_value("stock", "SKU-1", "5")
    await xref.link("other", "SKU-1", "x")
    assert await xref.last_values("stock", ["SKU-1", "SKU-2"]) == {"SKU-1": "5"}
    assert await xref.target("stock", "SKU-1") is None
    assert await xref.count("other") == 1


def test_content_hash_ignores_key_order_and_decimal_formatting() -> None:
    a = {"b": Decimal("1.50"), "a": [1, {"y": 2, "x": 1}]}
    b = {"a": [1, {"x": 1, "y": 2}], "b": Decimal("1.50")}
    assert content_hash(a) == content_hash(b)
    assert content_hash({"n": Decimal("2.00")}) == content_hash({"n": Decimal("2")})
    assert content_hash({"n": Decimal("2.01")}) != content_hash({"n": Decimal("2.00")})


async def test_ref_cache_loads_once_for_concurrent_readers_and_expires() -> None:
    now = [0.0]
    cache = RefCache(default_ttl=10, clock=lambda: now[0])
    loads = 0

    async def loader() -> dict[str, str]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0)
        return {"21": "2"}

    results = await asyncio.gather(*(cache.get("vat", loader) for _ in range(10)))
    assert loads == 1 and all(r == {"21": "2"} for r in results)
    now[0] = 11
    await cache.get("vat", loader)
    assert loads == 2
    cache.invalidate("vat")
    await cache.get("vat", loader)
    assert loads == 3


async def test_a_shared_cache_loads_once_for_every_process_of_a_link(redis, keys) -> None:
    """Two processes' caches of one link: what one loaded (with a time to live) the other takes from Redis."""
    calls: list[str] = []

    async def vat_codes() -> list[str]:
        calls.append("vat")
        return ["2", "3"]

    def process() -> RefCache:
        shared = RedisShared(
            redis,
            key_of=lambda name: keys.flow_state("cache", name),
            lock_of=lambda name: keys.flow_state("cache-loading", name),
        )
        return RefCache(shared=shared)

    first, second = process(), process()
    assert await first.get("orders:vat_codes", vat_codes) == ["2", "3"]
    assert await second.get("orders:vat_codes", vat_codes) == ["2", "3"]
    assert calls == ["vat"]
    second.invalidate("orders:vat_codes")  # a miss in the second process: it loads afresh, and shares that
    assert await second.get("orders:vat_codes", vat_codes) == ["2", "3"]
    assert calls == ["vat", "vat"]

    # Working state without a time to live (a sync index a flow updates in place), and what does not pickle, stay.
    async def index() -> dict[str, str]:
        calls.append("index")
        return {}

    async def client() -> Callable[[], None]:
        calls.append("client")
        return lambda: None

    for cache in (first, second):
        await cache.get("orders:items_by_code", index, ttl=float("inf"))
        await cache.get("orders:client", client)
    assert calls[2:] == ["index", "client", "index", "client"]
