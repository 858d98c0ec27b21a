"""Budgets per division, and fair turns: one link spending (or exhausting) its budget never holds a worker slot and
never slows another link; its deferred runs take paced turns instead of all falling due at the reset.

The simulators' clocks stand still here (no connector sleeps: `max_wait=0` defers every wait), so a spent budget
stays spent for the whole test, which is what makes these outcomes certain rather than timing-dependent.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from arq.connections import ArqRedis

from app.jobs import enqueue_record
from app.settings import Settings
from connectors.keys import Keys
from connectors.ratelimit import HeaderBudget, prepaid_calls
from tests.links.world import DIVISION_NORTH, DIVISION_SOUTH, NORTH, SOUTH, LinksWorld, make_links_world
from tests.links.world import run_workers_until as run


async def _orders(world: LinksWorld, company: str, link: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        order = world.ea_sim(company).create_order("1001", [(f"SKU-{1 + i % 30:04d}", 1)], status=2)
        ids.append(str(order["Id"]).lower())
        assert await enqueue_record(world.redis, world.settings, "orders", ids[-1], "manual", link=link)
    return ids


async def _created(world: LinksWorld, link: str, ids: list[str]) -> set[str]:
    xref = world.engine(link).xref
    return {i for i in ids if await xref.target("ea:order>exact:salesorder", i) is not None}


async def _scores(world: LinksWorld, link: str) -> list[float]:
    mine = Keys.of(world.settings).for_link(link).link_data
    queue = world.settings.redis.queue_name
    return sorted([score async for _, score in world.redis.zscan_iter(queue, match=mine)])


async def test_a_link_that_exhausted_its_day_waits_without_slowing_the_other(
    settings: Settings, redis: ArqRedis
) -> None:
    sleeps: list[float] = []
    async with make_links_world(settings, redis, max_wait=0, sleeps=sleeps) as world:
        # Another process of the same app spent division north's 5,000 calls of today.
        world.exact_sim.rate.exhaust(DIVISION_NORTH, daily=True)
        north = await _orders(world, NORTH, "default", 5)
        south = await _orders(world, SOUTH, "south", 1)

        async def south_done() -> bool:
            return await _created(world, "south", south) == set(south)

        # One worker with one slot: if a north run held it waiting for the budget, south's order could not run.
        await run(world, south_done, max_jobs=1)

        assert await _created(world, "default", north) == set()
        assert sleeps == []  # nobody waited in place
        # Division north answered one 429 (how our budget learned it was spent by someone else), never another.
        assert world.exact_sim.counters()["by_status"].get("429") == 1
        # North's runs are deferred to after midnight (simulated), in turns, without using a try or logging a failure.
        scores = await _scores(world, "default")
        assert len(scores) == 5 and min(scores) > (time.time() + 13 * 3600) * 1000
        north_engine = world.engine("default")
        for record in north:
            assert not await redis.exists(north_engine.keys.attempts("orders", record))
            assert (await north_engine.activity.query(source_id=record))[0] == []
        metrics = await north_engine.metrics.render(queue_depth=None, dead_letters={})
        assert 'ledgerbridge_budget_deferrals_total{link="default",flow="orders"}' in metrics


async def test_a_backfill_takes_paced_turns_and_a_quiet_links_order_runs_meanwhile(
    settings: Settings, redis: ArqRedis
) -> None:
    async with make_links_world(settings, redis, exact_limits=(12, 5000), max_wait=0) as world:
        backfill = await _orders(world, NORTH, "default", 20)
        quiet = await _orders(world, SOUTH, "south", 1)  # queued after the whole back-fill

        async def quiet_done() -> bool:
            # Created, and its job finished (a job leaves the queue when it ends, a while after its write).
            return await _created(world, "south", quiet) == set(quiet) and not await _scores(world, "south")

        await run(world, quiet_done, max_jobs=2)

        done = await _created(world, "default", backfill)
        calls: dict[str, Any] = world.exact_sim.counters()
        assert calls["by_status"].get("429") is None  # the budget followed Exact's headers: never over the limit
        assert 1 <= len(done) <= 12  # what 12 calls a minute allow; the rest waits for the minute
        scores = await _scores(world, "default")
        assert len(scores) == len(backfill) - len(done)
        # Turns: one run's share of the minute apart (60 s x 1.5 calls / 12), not all at the reset.
        gaps = [b - a for a, b in itertools.pairwise(scores)]
        assert gaps and min(gaps) >= 7000
        assert len(await _scores(world, "south")) == 0
        assert DIVISION_SOUTH in world.exact_sim.divisions


async def test_a_run_reserves_its_calls_so_runs_starting_together_do_not_share_the_last_ones(
    redis: ArqRedis, settings: Settings
) -> None:
    budget = HeaderBudget(redis, Keys.of(settings).ratelimit("exact", "42"))
    now = 1_800_000_000.0
    reset = int((now + 30) * 1000)
    headers = {"X-RateLimit-Minutely-Limit": "60", "X-RateLimit-Minutely-Remaining": "5"}
    await budget.observe({**headers, "X-RateLimit-Minutely-Reset": str(reset)}, now)
    wait, first = await budget.reserve(now, 3)
    assert wait == 0 and first is not None
    wait, second = await budget.reserve(now, 3)  # two calls left: the second run waits for the minute
    assert second is None and wait == 30
    token = prepaid_calls.set({first.key: first.calls})
    try:
        assert await budget.acquire(now) == 0  # spent from the reservation, not counted again
        left = dict(prepaid_calls.get() or {})
    finally:
        prepaid_calls.reset(token)
    assert left == {first.key: 2}
    await budget.refund(first, left[first.key])  # the run needed one: two go back
    assert (await budget.snapshot())["m_rem"] == 4
