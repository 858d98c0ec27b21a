"""Benchmark: API calls per order of the orders flow (eAccounting -> Exact sales order), from the simulators' counters.

Both simulators run in-process (httpx ASGITransport); 1,000 eAccounting orders with 1-8 rows over a 500-item
catalogue, 70% from returning (Dutch) customers (new ones: 80% private persons, 20% companies with a contact person),
go through the real flow: `poll` (orders arrive with their rows), then `handle` per order with a FlowContext.
Rate limits are raised in the simulators' configs (Exact 60/min and 5,000/day, eAccounting 600/min) so the run
measures calls, not waiting; "orders/minute" is computed from calls per order under Exact's 60 calls/minute.

Both connectors are the real ones (tests/harness.py builds the same world the flow tests use).
Needs Redis (BENCH_REDIS_URL, default redis://localhost:6379/14; only keys under `lbbench` are touched).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.logging import configure_logging
from app.main import connect_redis
from app.settings import Settings
from flows.orders import ORDERS
from flows.orders_options import OrdersOptions
from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.domain import create_record
from sandbox.exact import ExactSimConfig
from tests.harness import START, make_world

ORDERS_N = 1000
CATALOGUE = 500
RETURNING = 0.70
PREFIX = "lbbench"


def _catalogue(exact_sim: Any, ea_sim: Any) -> list[str]:
    template = ea_sim.by_unique("articles", "SKU-0001")
    codes = [f"SKU-{n:04d}" for n in range(1, CATALOGUE + 1)]
    for n, code in enumerate(codes, start=1):
        if n > 40:  # both demo seeds already share SKU-0001..SKU-0040
            exact_sim.upsert_item(code, {"Description": f"Bench item {n}", "IsSalesItem": True, "SalesVatCode": "2"})
            body = {
                "IsActive": True,
                "Number": code,
                "Name": f"Bench item {n}",
                "NetPrice": template["NetPrice"],
                "CodingId": template["CodingId"],
                "UnitId": template["UnitId"],
            }
            create_record(ea_sim, "articles", body)
    return codes


def _new_customer(ea_sim: Any, n: int, rng: random.Random) -> str:
    number = str(5000 + n)
    company = rng.random() < 0.2
    body: dict[str, Any] = {
        "CustomerNumber": number,
        "Name": f"Bench Company {n} B.V." if company else f"Bench Person {n}",
        "IsPrivatePerson": not company,
        "IsActive": True,
        "InvoiceAddress1": f"Straat {n}",
        "InvoiceCity": "Utrecht",
        "InvoicePostalCode": "3511 AB",
        "InvoiceCountryCode": "NL",
        "CurrencyCode": "EUR",
        "EmailAddress": f"bench{n}@example.nl",
        "TermsOfPaymentId": next(iter(ea_sim.table("termsofpayments").values()))["Id"],
    }
    if company:
        body["ContactPersonName"] = f"Buyer {n}"
    create_record(ea_sim, "customers", body)
    return number


async def main() -> None:
    configure_logging("WARNING", "console")
    rng = random.Random(20261124)
    url = os.environ.get("BENCH_REDIS_URL", "redis://localhost:6379/14")
    settings = Settings(
        _env_file=None,
        demo=True,
        redis={"url": url, "key_prefix": PREFIX, "queue_name": f"{PREFIX}:queue"},
    )
    redis = connect_redis(settings)
    async for key in redis.scan_iter(match=f"{PREFIX}*"):
        await redis.delete(key)
    # Rate limits raised so the bench counts calls instead of waiting (figures are per call, not per second).
    exact_config = ExactSimConfig(start_time=START, minutely_limit=10**7, daily_limit=10**8)
    ea_config = EAccountingSimConfig(start_time=START, rate_limit_per_minute=None)
    async with make_world(settings, redis, exact_config=exact_config, ea_config=ea_config) as world:
        exact_sim, ea_sim = world.exact_sim, world.ea_sim
        codes = _catalogue(exact_sim, ea_sim)
        customers: list[str] = []
        mine: set[str] = set()
        naive = 0
        for _ in range(ORDERS_N):
            if customers and rng.random() < RETURNING:
                customer = rng.choice(customers)
            else:
                customer = _new_customer(ea_sim, len(customers), rng)
                customers.append(customer)
            rows = [(code, rng.randint(1, 5)) for code in rng.sample(codes, rng.randint(1, 8))]
            naive += 4 + len(rows)
            mine.add(str(ea_sim.create_order(customer, rows, status=2)["Id"]))

        options = OrdersOptions(statuses=[2])
        ctx = world.ctx(ORDERS, options=options.model_dump(mode="json"), trigger="bench")
        exact_sim.reset_counters()
        ea_sim.reset_counters()
        started = time.perf_counter()
        assert ORDERS.poll is not None
        payloads: dict[str, dict[str, Any]] = {}
        async for page in ORDERS.poll(ctx, None):
            payloads.update(page.payloads)
        actions: dict[str, int] = {}
        for order_id in sorted(mine, key=lambda i: payloads[i]["Number"]):
            outcome = await ORDERS.handle(ctx, payloads[order_id])
            actions[outcome.action] = actions.get(outcome.action, 0) + 1
        elapsed = time.perf_counter() - started
        exact_calls = sum(exact_sim.counters()["by_endpoint"].values())
        ea_calls = sum(n for route, n in ea_sim.counters()["calls"].items() if "/v2/" in route)
    await redis.aclose()

    per_order = exact_calls / ORDERS_N
    print(f"orders: {ORDERS_N} ({len(customers)} customers, {ORDERS_N - len(customers)} from returning ones)")
    print(f"outcomes: {actions}")
    print(f"Exact calls: {exact_calls} = {per_order:.3f} per order (target <= 1.4)")
    print(f"  by endpoint: {exact_sim.counters()['by_endpoint']}")
    # The run takes seconds, so the time-based refreshes never fire; at the real pace they would add one accounts
    # sync per `accounts_refresh_seconds` and one items sync per `items_refresh_seconds` (when nothing changed).
    # VAT codes and payment conditions are re-read once per reference-cache TTL (900 s).
    minutes = exact_calls / 60
    refreshes = minutes * 60 / options.accounts_refresh_seconds + minutes * 60 / options.items_refresh_seconds
    refreshes += 2 * minutes * 60 / 900
    paced = (exact_calls + refreshes) / ORDERS_N
    print(f"  at the 60/min pace ({minutes:.0f} min) with periodic refreshes: {paced:.3f} per order")
    print(f"eAccounting calls: {ea_calls} = {ea_calls / ORDERS_N:.3f} per order")
    print(f"orders/minute under Exact's 60 calls/minute: {60 / per_order:.1f} (daily 5,000: {5000 / per_order:.0f})")
    print(f"naive (4 + rows per order): {naive} = {naive / ORDERS_N:.2f} per order -> {60 * ORDERS_N / naive:.1f}/min")
    print(f"wall time in-process: {elapsed:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
