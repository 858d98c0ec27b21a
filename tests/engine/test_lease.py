"""Leases (app/lease.py): held while the holder works, lapsed soon after it dies, and work cut off when lost."""

from __future__ import annotations

import asyncio

import pytest
from arq.connections import ArqRedis

from app.lease import Lease, LeaseLost
from connectors.keys import Keys

LEASE = 0.3  # seconds; short, so the test sees several renewals and a lapse


async def test_a_lease_held_by_live_work_outlasts_many_lease_periods(redis: ArqRedis, keys: Keys) -> None:
    key = keys.lock("orders", "r1")
    lease = Lease(redis, key, "me", seconds=LEASE)
    assert await lease.acquire()
    async with lease:
        await asyncio.sleep(LEASE * 4)
        assert await redis.get(key) == b"me"
        assert 0 < await redis.pttl(key) <= LEASE * 1000
    await lease.release()
    assert await redis.get(key) is None


async def test_a_dead_holders_lease_lapses_and_the_next_run_takes_it(redis: ArqRedis, keys: Keys) -> None:
    key = keys.lock("orders", "r2")
    dead = Lease(redis, key, "killed", seconds=LEASE)
    assert await dead.acquire()  # and never renewed: its process was killed
    successor = Lease(redis, key, "next", seconds=LEASE)
    assert not await successor.acquire()
    await asyncio.sleep(LEASE * 1.5)
    assert await successor.acquire()
    assert await redis.get(key) == b"next"


async def test_work_under_a_lease_someone_else_took_is_cut_off(redis: ArqRedis, keys: Keys) -> None:
    key = keys.lock("orders", "r3")
    lease = Lease(redis, key, "me", seconds=LEASE, name="orders r3")
    assert await lease.acquire()
    reached_the_end = False
    with pytest.raises(LeaseLost, match="orders r3"):
        async with lease:
            await redis.set(key, "another-run")  # as if ours had lapsed and another run had taken the record
            await asyncio.sleep(LEASE * 10)
            reached_the_end = True
    assert not reached_the_end
    await lease.release()
    assert await redis.get(key) == b"another-run"  # releasing never deletes another holder's lock


async def test_work_holding_a_lease_longer_than_allowed_is_cut_off(redis: ArqRedis, keys: Keys) -> None:
    lease = Lease(redis, keys.lock("orders", "r4"), "me", seconds=LEASE, max_hold=LEASE * 2)
    assert await lease.acquire()
    with pytest.raises(LeaseLost, match="longest allowed"):
        async with lease:
            await asyncio.sleep(LEASE * 10)


async def test_a_cancel_from_elsewhere_stays_a_cancel(redis: ArqRedis, keys: Keys) -> None:
    lease = Lease(redis, keys.lock("orders", "r5"), "me", seconds=LEASE)
    assert await lease.acquire()

    async def work() -> None:
        async with lease:
            await asyncio.sleep(10)

    task = asyncio.create_task(work())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await lease.release()
