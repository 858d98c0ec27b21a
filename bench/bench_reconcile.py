"""Benchmark: API calls of the reconciliation report per 1,000 documents, from the simulators' counters.

1,000 eAccounting orders (1-8 rows over a 500-item catalogue; customers at home, EU businesses, EU private persons
and exports, in EUR, SEK, NOK and USD) dated in one month are transferred by the orders flow (sales orders, then
again as sales invoices and as journal entries in fresh worlds), then `flows.reconcile.reconcile` reports the month.
Counted: the report's own calls, on a warm process (the flow's reference caches loaded, as in a running worker) and
on a cold one (a fresh `ledgerbridge reconcile`: the article index, VAT codes and items index are read first).
Rate limits are raised in the simulators' configs so the run counts calls instead of waiting.

Needs Redis (BENCH_REDIS_URL, default redis://localhost:6379/14; only keys under `lbbench` are touched).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.logging import configure_logging
from app.main import connect_redis
from app.settings import Settings
from flows.cache import RefCache
from flows.orders import ORDERS
from flows.reconcile import reconcile
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.domain import create_record
from sandbox.exact import ExactSimConfig
from tests.harness import START, make_world

DOCUMENTS = 1000
CATALOGUE = 500
PREFIX = "lbbench"
PERIOD = (date(2026, 1, 1), date(2026, 1, 31))
CUSTOMERS = ["1001", "1009", "1010", "1011", "1012", "1013", "1003", "1015", "1005", "1006"]


def _catalogue(exact_sim: Any, ea_sim: Any) -> list[str]:
    template = ea_sim.by_unique("articles", "SKU-0020")
    codes = [f"SKU-{n:04d}" for n in range(1, CATALOGUE + 1)]
    for n, code in enumerate(codes, start=1):
        if n > 40:  # both demo seeds already share SKU-0001..SKU-0040
            exact_sim.upsert_item(code, {"Description": f"Bench item {n}", "IsSalesItem": True, "SalesVatCode": "2"})
            body = {"IsActive": True, "Number": code, "Name": f"Bench item {n}", "NetPrice": template["NetPrice"],
                    "CodingId": template["CodingId"], "UnitId": template["UnitId"]}  # fmt: skip
            create_record(ea_sim, "articles", body)
    return [c for c in codes if c != "SKU-0040"]  # no gift cards: the items index names their code


async def _run(settings: Settings, redis: Any, document: str) -> dict[str, Any]:
    rng = random.Random(20260131)
    exact_config = ExactSimConfig(start_time=START, minutely_limit=10**7, daily_limit=10**8)
    ea_config = EAccountingSimConfig(start_time=START, rate_limit_per_minute=None)
    async with make_world(settings, redis, exact_config=exact_config, ea_config=ea_config) as world:
        codes = _catalogue(world.exact_sim, world.ea_sim)
        ids = []
        for n in range(DOCUMENTS):
            rows = [(code, rng.randint(1, 5)) for code in rng.sample(codes, rng.randint(1, 8))]
            order = world.ea_sim.create_order(
                CUSTOMERS[n % len(CUSTOMERS)], rows, order_date=f"2026-01-{n % 28 + 1:02d}"
            )
            ids.append(str(order["Id"]))
        ctx = world.ctx(ORDERS, options={"document": document})
        flagged = 0
        for order_id in ids:
            source = await ORDERS.fetch(ctx, order_id)
            assert source is not None
            outcome = await ORDERS.handle(ctx, source)
            assert outcome.action == "created", outcome.reason
            flagged += outcome.mismatch is not None
        runs: dict[str, Any] = {"flagged": flagged}
        for label, fresh in (("warm", False), ("cold", True)):
            ctx = world.ctx(ORDERS, options={"document": document})
            if fresh:
                ctx.cache = RefCache()
            world.reset_counters()
            started = time.perf_counter()
            report = await reconcile(ctx, *PERIOD)
            runs[label] = {
                "seconds": time.perf_counter() - started,
                "findings": len(report.findings),
                "documents": report.documents,
                "exact": {k: v for k, v in world.exact_sim.counters()["by_endpoint"].items() if k != "GET current/Me"},
                "eaccounting": {k: v for k, v in world.ea_sim.counters()["calls"].items() if "/v2/" in k},
            }
        return runs


async def main() -> None:
    configure_logging("WARNING", "console")
    url = os.environ.get("BENCH_REDIS_URL", "redis://localhost:6379/14")
    settings = Settings(
        _env_file=None, demo=True, redis={"url": url, "key_prefix": PREFIX, "queue_name": f"{PREFIX}:q"}
    )
    redis = connect_redis(settings)
    print(f"documents: {DOCUMENTS} in one month, reconciled against Exact (calls per {DOCUMENTS:,} documents)")
    for document in ("sales_order", "sales_invoice", "journal_entry"):
        async for key in redis.scan_iter(match=f"{PREFIX}*"):
            await redis.delete(key)
        runs = await _run(settings, redis, document)
        print(
            f"{document}: {runs.pop('flagged')} of {DOCUMENTS} created documents flagged `mismatch` by the totals check"
        )
        for label, run in runs.items():
            exact, ea = sum(run["exact"].values()), sum(run["eaccounting"].values())
            print(f"  {label}: {run['documents']} documents, {run['findings']} findings, {run['seconds']:.1f} s")
            print(f"    Exact {exact} calls {run['exact']}")
            print(f"    eAccounting {ea} calls {run['eaccounting']}")
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
