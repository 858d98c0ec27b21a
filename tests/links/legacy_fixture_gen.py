"""Writes `tests/links/legacy_v1.json`: a populated Redis in the single-link key layout (before links existed).

Ran once against commit 2b044d6 (the last commit with the single-administration layout), so the upgrade test
(`tests/links/test_upgrade.py`) loads data that the previous code really wrote, not data we believe it wrote. It
does not run against the current code (it drives the old engine's API) and is kept as the record of how the fixture
was made:

    REDIS_URL=redis://127.0.0.1:6393 .venv/bin/python -m tests.links.legacy_fixture_gen

What it does, with the default settings of an existing installation (prefix `lb`, queue `ledgerbridge:queue`):
configure the orders flow, poll and run orders (one fails: a SKU Exact lacks), products and stock polls, a
shipments run, a signed webhook through the API, then one more order left *queued* in arq. Every key of the
database is then dumped with its type, value and time to live.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path
from typing import Any

from app.engine import enqueue_record
from app.main import connect_redis
from app.settings import Settings
from flows.products import PRODUCTS
from flows.registry import load_flows
from tests.harness import drain, make_world, webhook_bridge

OUT = Path(__file__).with_name("legacy_v1.json")


def _text_or_b64(raw: bytes) -> dict[str, str]:
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(raw).decode()}


async def _dump(redis: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in sorted(await redis.keys("*")):
        kind = (await redis.type(key)).decode()
        ttl = int(await redis.pttl(key))
        row: dict[str, Any] = {"key": key.decode(), "type": kind, "pttl": ttl}
        if kind == "string":
            row["value"] = _text_or_b64(await redis.get(key))
        elif kind == "hash":
            raw = await redis.hgetall(key)
            row["value"] = {k.decode(): _text_or_b64(v) for k, v in sorted(raw.items())}
        elif kind == "zset":
            row["value"] = [[m.decode(), s] for m, s in await redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "set":
            row["value"] = sorted(m.decode() for m in await redis.smembers(key))
        elif kind == "list":
            row["value"] = [_text_or_b64(v) for v in await redis.lrange(key, 0, -1)]
        else:
            raise ValueError(f"unexpected type {kind} of {key!r}")
        rows.append(row)
    return rows


async def main() -> None:
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        demo=True,
        redis={"url": f"{base}/15", "key_prefix": "lb", "queue_name": "ledgerbridge:queue"},
    )
    redis = connect_redis(settings)
    await redis.flushdb()  # database 15 of the developer's own Redis
    async with make_world(settings, redis) as world:
        flows = load_flows()
        await world.engine.configs.put("orders", {"enabled": True, "options": {"statuses": [2]}})
        await world.engine.configs.put("customers_to_exact", {"enabled": False, "options": {}})
        for name in ("orders", "products", "customers_to_eaccounting", "stock"):
            await world.engine.poll_flow(name)
        await drain(world, workers=2)
        # A delivery of a transferred order, recorded by the shipments flow.
        ours = [
            o
            for o in world.exact_sim.division().store("SalesOrders").records.values()
            if not str(o.get("YourRef") or "").startswith("DEMO-") and o.get("Status") in (12, 20)
        ]
        world.exact_sim.deliver_order(ours[0]["OrderNumber"], tracking_number="3SLEGACY1", shipping_method="PostNL")
        await world.engine.poll_flow("shipments")
        await drain(world)
        # A signed webhook through the API (its de-duplication key), for an item change.
        async with webhook_bridge(world, flows) as bridge:
            await bridge.subscribe(world, *PRODUCTS.webhook_topics)
            world.exact_sim.upsert_item("SKU-0001", {"Description": "Legacy renamed"})
            await bridge.flush(world)
        await drain(world)
        # One more order, left queued (as if the worker stopped for the upgrade).
        extra = world.ea_sim.create_order("1001", [("SKU-0002", 1)])
        await enqueue_record(redis, world.settings, "orders", str(extra["Id"]).lower(), "manual")
        dump = {
            "generated_at": time.time(),
            "commit": "2b044d6",
            "prefix": "lb",
            "queue": "ledgerbridge:queue",
            "keys": await _dump(redis),
        }
    await redis.flushdb()
    await redis.aclose()
    OUT.write_text(json.dumps(dump, indent=1, sort_keys=True) + "\n")
    print(f"{len(dump['keys'])} keys -> {OUT}")  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
