"""Benchmark: many links on one installation, two worker processes, both APIs at their real limits (time scaled).

20 links (20 Exact divisions reached by one Exact login, 20 eAccounting companies behind one host), 200 orders each
(4,000; 70% from returning customers, new customers 80% private persons and 20% companies, 1-8 rows, like
bench_orders.py), two `ledgerbridge worker` processes on one Redis, polling every 5 s. The simulators enforce
Exact's 60 calls a minute and 5,000 a day per division and eAccounting's 600 a minute per client and endpoint, on
a clock running BENCH_SCALE (default 1.2) times faster than real time: fast enough that the run takes minutes, slow
enough that the budgets, not this machine's two cores, bind (20 links at 40 orders a simulated minute each want
16 orders a real second at 1.2x; the rig's processes manage about 30).

Phase 1 (all links back-filling at once) reports per link: Exact calls per order (the division's own count, from
the simulator's rate limiter), when its last order landed, and the 429s either simulator answered. Phase 2: one
link gets a 2,000-order back-fill; once it is under way, a quiet link gets one new order; its time to Exact is
compared with two poll intervals.

Run: `.venv/bin/python bench/bench_links.py` (starts its own redis-server unless BENCH_REDIS_URL is set; only keys
under `lbbenchlinks` are written there, and removed at the end).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from app.devredis import start_local_redis
from app.logging import configure_logging
from sandbox.eaccounting.domain import create_record
from tests.conftest import delete_prefix
from tests.links.rig import Rig, RigConfig, running_rig

LINKS = int(os.environ.get("BENCH_LINKS", "20"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "200"))
BACKFILL = int(os.environ.get("BENCH_BACKFILL", "2000"))
SCALE = float(os.environ.get("BENCH_SCALE", "1.2"))
POLL_SECONDS = 5
RETURNING = 0.70
PREFIX = "lbbenchlinks"
KIND = "ea:order>exact:salesorder"


def _customer(sim: Any, n: int, company: bool) -> str:
    number = str(7000 + n)
    if sim.by_unique("customers", number) is not None:
        return number
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
        "TermsOfPaymentId": next(iter(sim.table("termsofpayments").values()))["Id"],
    }
    if company:
        body["ContactPersonName"] = f"Buyer {n}"
    create_record(sim, "customers", body)
    return number


def _mix(n: int, rng: random.Random) -> list[bool | None]:
    """Per order: None for a returning customer, else whether the new customer is a company. Exactly RETURNING of
    the orders are from returning customers and a fifth of the new customers are companies (the first order's
    customer is new), so every link gets the same mix rather than a random draw around it."""
    new = round(n * (1 - RETURNING))
    companies = round(new * 0.2)
    kinds: list[bool | None] = [None] * (n - new) + [True] * companies + [False] * (new - companies)
    rng.shuffle(kinds)
    kinds.insert(0, kinds.pop(next(i for i, kind in enumerate(kinds) if kind is not None)))
    return kinds


def _orders(sim: Any, n: int, rng: random.Random, customers: list[str]) -> list[str]:
    skus = [f"SKU-{i:04d}" for i in range(1, 41)]
    ids = []
    for kind in _mix(n, rng):
        if kind is None and customers:
            customer = rng.choice(customers)
        else:
            customer = _customer(sim, len(customers), bool(kind))
            customers.append(customer)
        rows = [(sku, rng.randint(1, 5)) for sku in rng.sample(skus, rng.randint(1, 8))]
        ids.append(str(sim.create_order(customer, rows, status=2)["Id"]).lower())
    return ids


async def _landed(rig: Rig, link: str, ids: list[str]) -> int:
    engine = await rig.process.engine_of(link)
    assert engine is not None
    return len(await engine.xref.targets(KIND, ids))


async def _processed(rig: Rig, link: str) -> int:
    """Orders the link transferred or gave up on (every order it spent calls on; the seeds' open orders included)."""
    engine = await rig.process.engine_of(link)
    assert engine is not None
    return await engine.xref.count(KIND) + len(await engine.dead_letters.list("orders"))


async def phase_one(rig: Rig, rng: random.Random) -> None:
    # Each link's orders flow starts from now (a start date, as a new user picks one): the simulator's seeded open
    # orders, every one from a customer new to Exact, are not part of the 70%-returning mix measured here.
    start = datetime.fromtimestamp(rig.now(), UTC).isoformat()
    for link in rig.links:
        engine = await rig.process.engine_of(link)
        assert engine is not None
        await engine.redis.set(engine.keys.cursor("orders"), start)
    ids: dict[str, list[str]] = {}
    for link in rig.links:
        ids[link] = _orders(rig.ea_host.sim(rig.company(link)), ORDERS, rng, [])
    started = time.monotonic()
    rig.spawn_workers(2)
    finished: dict[str, float] = {}
    while len(finished) < len(rig.links):
        for link in rig.links:
            if link not in finished and await _landed(rig, link, ids[link]) == ORDERS:
                finished[link] = time.monotonic() - started
        assert all(w.poll() is None for w in rig.workers), "a worker process died"
        await asyncio.sleep(0.5)
    calls = {link: rig.exact_sim.rate.buckets[rig.division(link)].day_count for link in rig.links}
    processed = {link: await _processed(rig, link) for link in rig.links}
    per_order = {link: calls[link] / processed[link] for link in rig.links}
    times = sorted(finished.values())
    print(f"phase 1: {LINKS} links x {ORDERS} orders = {LINKS * ORDERS}, 2 worker processes, time x{SCALE:g}")
    print(f"  orders processed per link: {sorted(set(processed.values()))}")
    print(
        f"  Exact calls per order, per link: max {max(per_order.values()):.3f}, "
        f"mean {statistics.mean(per_order.values()):.3f}, min {min(per_order.values()):.3f} (target <= 1.4)"
    )
    print(f"  Exact calls: {sum(calls.values())} in total, per division max {max(calls.values())}")
    by_endpoint = sorted(rig.exact_sim.counters()["by_endpoint"].items(), key=lambda kv: -kv[1])
    print(f"  by endpoint: {dict(by_endpoint)}")
    ea = rig.ea_host.counters()
    print(f"  429 answers: Exact {rig.exact_sim.statuses.get(429, 0)}, eAccounting {ea['rate_limited']} (target 0)")
    print(f"  eAccounting calls: {ea['calls']} = {ea['calls'] / sum(processed.values()):.3f} per order")
    print(
        f"  last order landed: fastest link {times[0]:.1f} s, slowest {times[-1]:.1f} s real "
        f"({times[0] * SCALE / 60:.1f} / {times[-1] * SCALE / 60:.1f} simulated minutes); "
        f"slowest / fastest = {times[-1] / times[0]:.3f} (target <= 1.3)"
    )


async def phase_two(rig: Rig, rng: random.Random) -> None:
    busy, quiet = rig.links[0], rig.links[1]
    # Returning customers of phase 1 and new ones (numbered on from there).
    backfill = _orders(rig.ea_host.sim(rig.company(busy)), BACKFILL, rng, [])
    while await _landed(rig, busy, backfill) < 50:  # noqa: ASYNC110 - until the back-fill is under way
        await asyncio.sleep(0.2)
    sim = rig.ea_host.sim(rig.company(quiet))
    new = str(sim.create_order("1001", [("SKU-0001", 1)], status=2)["Id"]).lower()
    placed = time.monotonic()
    while await _landed(rig, quiet, [new]) == 0:  # noqa: ASYNC110 - watching Redis
        await asyncio.sleep(0.1)
    took = time.monotonic() - placed
    done = await _landed(rig, busy, backfill)
    print(f"phase 2: {BACKFILL}-order back-fill on {busy}; one new order on {quiet}")
    print(
        f"  the quiet link's order landed after {took:.1f} s real; two poll intervals = {2 * POLL_SECONDS} s "
        f"(the back-fill had {done} of {BACKFILL} orders in Exact by then)"
    )
    ea_429 = rig.ea_host.counters()["rate_limited"]
    print(f"  429 answers now: Exact {rig.exact_sim.statuses.get(429, 0)}, eAccounting {ea_429}")


async def main() -> None:
    configure_logging("WARNING", "console")
    url = os.environ.get("BENCH_REDIS_URL")
    local = None if url else start_local_redis()
    redis_url = url or (local.url if local else "")
    config = RigConfig(links=LINKS, scale=SCALE, poll_seconds=POLL_SECONDS, prefix=PREFIX)
    rng = random.Random(20261206)
    plain = Redis.from_url(redis_url)
    try:
        await delete_prefix(plain, PREFIX)
        async with running_rig(config, redis_url) as rig:
            await phase_one(rig, rng)
            await phase_two(rig, rng)
    finally:
        await delete_prefix(plain, PREFIX)
        await plain.aclose()
        if local is not None:
            local.stop()


if __name__ == "__main__":
    asyncio.run(main())
