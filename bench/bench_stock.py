"""Benchmark: reconcile the stock of 10,000 items of which 2 % changed, counted by the simulators.

Both simulators run in-process (httpx ASGITransport) with the real connectors (tests/harness.py). Exact is seeded
with 10,000 stock items (the demo seed, stock in the main warehouse, open sales orders on a few), eAccounting with
the same 10,000 SKUs. A first reconcile writes every article that differs (the state a running installation is
in); then 200 items get a new stock count and the measured reconcile runs: the flow's poll (a forced full read of
every stock position from `sync/Inventory/StockPositions`, as the periodic full reconcile does, compared with every
article's StockBalance in eAccounting) and `handle` for every record it enqueues, with the rows its page carried
(what a poll-triggered job reads from the engine's stash). Then eAccounting lowers 50 balances itself (orders
shipped there) and the next incremental poll puts them back (it lists the articles eAccounting changed since); 50
more are changed without moving the article's ChangedUtc and a full reconcile corrects them. Last, an incremental
poll with 200 changed in Exact (the every-minute case, compared with the last values written). Rate limits are
raised in the simulators' configs, so the run counts calls, not waits. Targets for each full reconcile: Exact calls
<= ceil(10,000 / 1,000) + 2, eAccounting writes = the items that differ.

Needs Redis (BENCH_REDIS_URL, default redis://localhost:6379/14; only keys under `lbbench-stock` are touched).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.main import connect_redis
from app.settings import Settings
from flows.stock import STOCK
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.domain import create_record
from sandbox.exact import ExactSimConfig
from tests.harness import World, ea_calls_by_endpoint, exact_calls_by_endpoint, make_world, poll_and_handle

ITEMS = 10_000
CHANGED = 200  # 2 %
DRIFTED = 50  # balances eAccounting changes itself (orders shipped there)
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PREFIX = "lbbench-stock"
PUT = "PUT /v2/articles/{articleId}"


def _articles(world: World) -> None:
    """The SKUs the eAccounting demo seed lacks, as a previous products sync would have created them."""
    template = world.ea_sim.by_unique("articles", "SKU-0001")
    assert template is not None
    for n in range(41, ITEMS + 1):
        if world.ea_sim.by_unique("articles", f"SKU-{n:04d}") is not None:
            continue  # SKU-9999 is in the eAccounting seed too
        body = {"IsActive": True, "Number": f"SKU-{n:04d}", "Name": f"Bench item {n}",
                "CodingId": template["CodingId"], "UnitId": template["UnitId"]}  # fmt: skip
        create_record(world.ea_sim, "articles", body)


def _change(world: World, rng: random.Random, codes: list[str]) -> list[str]:
    """A new stock count on CHANGED random items (always a different number)."""
    chosen = rng.sample(codes, CHANGED)
    for code in chosen:
        rows = world.exact_sim.engine.item_warehouses(
            world.exact_sim.division(), world.exact_sim.item_by_code(code)["ID"]
        )
        world.exact_sim.set_stock(code, rows[0]["CurrentStock"] + rng.randint(1, 50))
    return chosen


async def _ship_in_eaccounting(world: World, rng: random.Random, codes: list[str]) -> list[str]:
    """eAccounting orders of DRIFTED random items, shipped there: eAccounting lowers their StockBalance itself."""
    chosen = rng.sample(codes, DRIFTED)
    for code in chosen:
        order = world.ea_sim.create_order("1002", [(code, 1)])
        await world.ea.mark_order_shipped(str(order["Id"]), date(2026, 3, 2))
    return chosen


def _drift_unseen(world: World, rng: random.Random, codes: list[str]) -> list[str]:
    """DRIFTED balances changed in eAccounting without moving the article's ChangedUtc (only a full read sees it)."""
    chosen = rng.sample(codes, DRIFTED)
    for code in chosen:
        article = world.ea_sim.by_unique("articles", code)
        assert article is not None
        world.ea_sim.put(
            "articles", {**article, "StockBalance": Decimal(str(article["StockBalance"])) - 1}, touch=False
        )
    return chosen


def _exact_calls(world: World) -> dict[str, int]:
    return {k: v for k, v in exact_calls_by_endpoint(world.exact_sim).items() if k != "GET current/Me"}


async def _measure(world: World, label: str, cursor: str | None) -> tuple[str | None, dict[str, Any]]:
    world.ea_sim.advance_clock(60)  # a minute between polls, on both sides
    world.exact_sim.clock.advance(60)
    world.reset_counters()
    started = time.perf_counter()
    outcomes, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    elapsed = time.perf_counter() - started
    ea = ea_calls_by_endpoint(world.ea_sim)
    figures = {
        "label": label,
        "outcomes": dict(Counter(o.action for o in outcomes.values())),
        "exact": _exact_calls(world),
        "ea": ea,
        "writes": ea.get(PUT, 0),
        "seconds": elapsed,
    }
    return cursor, figures


def _print(figures: dict[str, Any], *, target: int | None, changed: int | None) -> None:
    exact = sum(figures["exact"].values())
    ea = sum(figures["ea"].values())
    print(f"{figures['label']}:")
    print(f"  records handled: {figures['outcomes']}")
    goal = f" (target <= {target})" if target is not None else ""
    print(f"  Exact calls: {exact}{goal}  {figures['exact']}")
    expected = f" (target = {changed} changed items)" if changed is not None else ""
    print(f"  eAccounting calls: {ea}, writes: {figures['writes']}{expected}  {figures['ea']}")
    print(f"  wall time in-process: {figures['seconds']:.2f} s")


async def main() -> None:
    rng = random.Random(20261201)
    url = os.environ.get("BENCH_REDIS_URL", "redis://localhost:6379/14")
    settings = Settings(
        _env_file=None,
        demo=True,
        redis={"url": url, "key_prefix": PREFIX, "queue_name": f"{PREFIX}:queue"},
    )
    redis = connect_redis(settings)
    async for key in redis.scan_iter(match=f"{PREFIX}:*"):
        await redis.delete(key)
    # Rate limits raised so the bench counts calls instead of waiting.
    exact_config = ExactSimConfig(start_time=START, minutely_limit=10**7, daily_limit=10**8, seed_items=ITEMS)
    ea_config = EAccountingSimConfig(start_time=START, rate_limit_per_minute=None)
    try:
        async with make_world(settings, redis, exact_config=exact_config, ea_config=ea_config) as world:
            _articles(world)
            codes = [f"SKU-{n:04d}" for n in range(1, ITEMS + 1)]
            cursor, first = await _measure(world, "first reconcile (every article that differs written; setup)", None)
            assert not [c for c in codes if _balance(world, c) != _on_hand(world, c)], "setup left wrong balances"

            changed = _change(world, rng, codes)
            cursor, full = await _measure(world, f"full reconcile, {ITEMS:,} items, {CHANGED} changed in Exact", "0")
            drifted = await _ship_in_eaccounting(world, rng, codes)
            label = f"incremental poll, {DRIFTED} lowered by eAccounting itself (orders shipped there)"
            cursor, seen = await _measure(world, label, cursor)
            unseen = _drift_unseen(world, rng, codes)
            label = f"full reconcile, {ITEMS:,} items, {DRIFTED} changed in eAccounting without a ChangedUtc"
            cursor, corrected = await _measure(world, label, "0")
            more = _change(world, rng, codes)
            _, incremental = await _measure(world, f"incremental poll, {CHANGED} changed", cursor)
            wrong = [c for c in {*changed, *drifted, *unseen, *more} if _balance(world, c) != _on_hand(world, c)]
    finally:
        async for key in redis.scan_iter(match=f"{PREFIX}:*"):
            await redis.delete(key)
        await redis.aclose()

    target = math.ceil(ITEMS / 1000) + 2
    _print(first, target=None, changed=None)
    _print(full, target=target, changed=CHANGED)
    _print(seen, target=None, changed=DRIFTED)
    _print(corrected, target=target, changed=DRIFTED)
    _print(incremental, target=None, changed=CHANGED)
    print(f"articles with a wrong StockBalance afterwards: {len(wrong)}")
    writes = (full["writes"], seen["writes"], corrected["writes"], incremental["writes"])
    ok = (
        all(sum(f["exact"].values()) <= target for f in (full, corrected))
        and writes == (CHANGED, DRIFTED, DRIFTED, CHANGED)
        and not wrong
    )
    print(f"target met: {ok}")


def _balance(world: World, code: str) -> Decimal:
    article = world.ea_sim.by_unique("articles", code)
    assert article is not None
    return Decimal(str(article["StockBalance"]))


def _on_hand(world: World, code: str) -> Decimal:
    """The default calculation: Exact's on-hand stock (docs/flows/stock.md)."""
    rows = world.exact_sim.engine.item_warehouses(world.exact_sim.division(), world.exact_sim.item_by_code(code)["ID"])
    return max(sum((r["CurrentStock"] for r in rows), Decimal(0)), Decimal(0))


if __name__ == "__main__":
    asyncio.run(main())
