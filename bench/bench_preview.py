"""Benchmark: what a preview (`POST /flows/{flow}/preview`, the mapping editor's dry run) costs: API reads and time.

Both simulators run in-process (httpx ASGITransport) with raised rate limits, through the real connectors and the
service function the API and the console call (`app.services.flows.preview`). First 20 orders run for real (the
reference data and the link's shared indexes are then in Redis, as on a running installation); then every seeded
eAccounting order that has not run is previewed, by record id, twice: as it is, and `fresh` (as if never
transferred) for one that ran. Printed: Exact and eAccounting reads per preview (from the simulators' counters),
writes (must be 0), and milliseconds per preview in this process.

A preview builds its own in-process cache (it must not change the process's working caches): reference data and
the orders flow's indexes (accounts, items) come from the link's shared copies in Redis, which the runs left there;
on an installation whose worker has not run yet, the first preview reads them from Exact.

Measured on the development machine (2 cores, shared): per order preview 0 Exact reads and 3 eAccounting reads
(the order itself and what the flow reads around it), 15 ms median in-process; no write.

Needs Redis (BENCH_REDIS_URL, default redis://localhost:6379/14; only keys under `lbbenchpv` are touched).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.logging import configure_logging
from app.main import connect_redis
from app.services.flows import PreviewRequest, preview
from app.settings import Settings
from flows.orders import ORDERS
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.exact import ExactSimConfig
from tests.harness import START, make_world

PREFIX = "lbbenchpv"
WARM = 20


def _reads(world: object) -> tuple[int, int, int, int]:
    exact = world.exact_sim.counters()  # type: ignore[attr-defined]
    ea = world.ea_sim.counters()  # type: ignore[attr-defined]
    exact_reads = sum(n for k, n in exact["by_endpoint"].items() if k.startswith("GET ") and "oauth2/" not in k)
    ea_reads = sum(n for k, n in ea["calls"].items() if k.startswith("GET ") and "/v2/" in k)
    return exact_reads, ea_reads, exact["writes"], ea["writes"]


async def main() -> None:
    configure_logging("WARNING", "console")
    url = os.environ.get("BENCH_REDIS_URL", "redis://localhost:6379/14")
    settings = Settings(
        _env_file=None, demo=True, redis={"url": url, "key_prefix": PREFIX, "queue_name": f"{PREFIX}:queue"}
    )
    redis = connect_redis(settings)
    async for key in redis.scan_iter(match=f"{PREFIX}*"):
        await redis.delete(key)
    exact_config = ExactSimConfig(start_time=START, minutely_limit=10**7, daily_limit=10**8)
    ea_config = EAccountingSimConfig(start_time=START, rate_limit_per_minute=None)
    async with make_world(settings, redis, exact_config=exact_config, ea_config=ea_config) as world:
        customers = [c["CustomerNumber"] for c in world.ea_sim.table("customers").values()]
        orders = [
            str(world.ea_sim.create_order(customers[n % len(customers)], [("SKU-0001", 1), ("SKU-0002", 2)])["Id"])
            for n in range(WARM + 40)
        ]
        for order_id in orders[:WARM]:
            await world.run(ORDERS, order_id)
        runs: list[tuple[str, float, int, int]] = []
        before = _reads(world)
        for order_id in orders[WARM:]:
            start_reads = _reads(world)
            started = time.perf_counter()
            answer = await preview(world.engine, "orders", PreviewRequest(record_id=order_id))
            elapsed = (time.perf_counter() - started) * 1000
            after = _reads(world)
            assert answer["payload"] is not None or answer["error"], answer
            runs.append(("new", elapsed, after[0] - start_reads[0], after[1] - start_reads[1]))
        for order_id in orders[:WARM]:
            start_reads = _reads(world)
            started = time.perf_counter()
            await preview(world.engine, "orders", PreviewRequest(record_id=order_id, fresh=True))
            elapsed = (time.perf_counter() - started) * 1000
            after = _reads(world)
            runs.append(("fresh", elapsed, after[0] - start_reads[0], after[1] - start_reads[1]))
        end = _reads(world)
    await redis.aclose()

    assert end[2:] == before[2:], "a preview wrote"
    for kind in ("new", "fresh"):
        chosen = [r for r in runs if r[0] == kind]
        ms = [r[1] for r in chosen]
        print(
            f"orders previews ({kind}, n={len(chosen)}): "
            f"Exact reads {statistics.mean(r[2] for r in chosen):.1f}, "
            f"eAccounting reads {statistics.mean(r[3] for r in chosen):.1f} per preview; "
            f"{statistics.median(ms):.0f} ms median, {max(ms):.0f} ms max in-process"
        )
    print(f"writes during the previews: Exact {end[2] - before[2]}, eAccounting {end[3] - before[3]}")


if __name__ == "__main__":
    asyncio.run(main())
