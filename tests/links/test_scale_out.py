"""Scale-out: two ledgerbridge worker processes on one Redis share the work of two links, and every order lands in
its own division exactly once (the simulators over real HTTP, the workers as separate processes)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from arq.connections import ArqRedis

from app.settings import Settings
from tests.links.rig import Rig, RigConfig, running_rig

ORDERS_PER_LINK = 40
GUARD_SECONDS = 180  # stops a hung test; no speed requirement


async def _linked(rig: Rig, link: str, ids: list[str]) -> int:
    engine = await rig.process.engine_of(link)
    assert engine is not None
    found = await engine.xref.targets("ea:order>exact:salesorder", ids)
    return len(found)


async def test_two_worker_processes_share_the_work_with_no_duplicates(settings: Settings, redis: ArqRedis) -> None:
    config = RigConfig(
        links=2, exact_limits=(100_000, 1_000_000), ea_limit=None, poll_seconds=5, prefix=settings.redis.key_prefix
    )
    async with running_rig(config, settings.redis.url) as rig:
        orders: dict[str, list[dict[str, Any]]] = {}
        for link in rig.links:
            sim = rig.ea_host.sim(rig.company(link))
            orders[link] = [
                sim.create_order("1001", [(f"SKU-{1 + i % 20:04d}", 1 + i % 3)]) for i in range(ORDERS_PER_LINK)
            ]
        ids = {link: [str(o["Id"]).lower() for o in made] for link, made in orders.items()}
        rig.spawn_workers(2)
        async with asyncio.timeout(GUARD_SECONDS):
            while [await _linked(rig, link, ids[link]) for link in rig.links] != [ORDERS_PER_LINK] * len(rig.links):
                assert all(w.poll() is None for w in rig.workers), "a worker process died"
                await asyncio.sleep(0.5)
        rig.stop_workers()

        workers: Counter[str] = Counter()
        for link in rig.links:
            division = rig.division(link)
            refs = Counter(
                str(o.get("Description")).removeprefix("eAccounting order ")
                for o in rig.exact_sim.division(division).store("SalesOrders").records.values()
            )
            mine = [str(o["Number"]) for o in orders[link]]
            assert {ref: refs[ref] for ref in mine} == dict.fromkeys(mine, 1), link  # each exactly once
            engine = await rig.process.engine_of(link)
            assert engine is not None
            entries, _ = await engine.activity.query(flow="orders", outcome="created", limit=500)
            created = Counter(e.source_id for e in entries)
            assert all(created[i] == 1 for i in ids[link]), link  # and logged as created exactly once
            workers.update(e.worker for e in entries if e.source_id in ids[link])
        assert len(workers) == 2, workers  # both processes took a share
