"""`make run`'s demo as a newcomer gets it: one process, nothing configured, ready, two links syncing the demo data,
every key it writes under its own prefix, and nothing left in Redis once it stops.

The demo gets a redis-server of its own here (a database nobody else writes to), so "every key under the demo's
prefix" can be checked by listing the whole database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import redis

from app.demo import DEMO_PREFIX
from app.devredis import LocalRedis, free_port, start_local_redis
from app.settings import DEMO_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
T = TypeVar("T")
DEADLINE_SECONDS = 120  # a guard against hanging, not a speed requirement


@pytest.fixture
def own_redis() -> Iterator[LocalRedis]:
    server = start_local_redis()
    yield server
    server.stop()


@dataclass
class Demo:
    url: str
    prefix: str
    redis: redis.Redis
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)  # the demo's own shutdown is bounded at about 20 s
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def demo(own_redis: LocalRedis) -> Iterator[Demo]:
    port = free_port()
    env = {**os.environ, "REDIS__URL": own_redis.url, "LOG__LEVEL": "WARNING"}
    env.pop("DEMO", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis.from_url(own_redis.url)
    running = Demo(f"http://127.0.0.1:{port}", f"{DEMO_PREFIX}{port}", client, process)
    try:
        yield running
    finally:
        running.stop()
        client.close()


def _wait_for(check: Callable[[], T], what: str) -> T:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"the demo never got to: {what}")


def test_demo_runs_two_links_keeps_to_its_prefix_and_cleans_up(demo: Demo) -> None:
    with httpx.Client(base_url=demo.url, timeout=5) as client:
        _wait_for(lambda: client.get("/health/ready").status_code == 200, "/health/ready = 200")
        links = client.get("/links", headers=AUTH).json()
        assert [(link["id"], link["division"], link["company"]) for link in links] == [
            ("default", 1234567, "Koffiebranderij De Gouden Boon B.V."),
            ("south", 7654321, "Koffiebranderij Het Zuiden B.V."),
        ]
        for prefix in ("", "/links/south"):

            def orders_created(prefix: str = prefix) -> list[dict[str, Any]]:
                params = {"flow": "orders", "outcome": "created"}
                items = client.get(f"{prefix}/logs", params=params, headers=AUTH).json()["items"]
                return list(items)

            created = _wait_for(orders_created, f"an order of {prefix or 'default'} created in Exact")
            assert all(entry["target_system"] == "exact" and entry["target_id"] for entry in created)
            connections = client.get(f"{prefix}/connections", headers=AUTH).json()
            assert connections["exact"]["connected"] and connections["eaccounting"]["connected"]

    keys = [key.decode() for key in demo.redis.keys("*")]
    assert keys and [key for key in keys if not key.startswith(f"{demo.prefix}:")] == []
    demo.stop()
    assert demo.redis.dbsize() == 0, demo.redis.keys("*")[:20]
