"""`make run`'s demo as a newcomer gets it: one process, nothing configured, ready, and syncing the demo data."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from app.devredis import free_port
from app.settings import DEMO_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
T = TypeVar("T")
DEADLINE_SECONDS = 120  # a guard against hanging, not a speed requirement


@pytest.fixture
def demo(redis_server: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "REDIS__URL": f"{redis_server}/11", "LOG__LEVEL": "WARNING"}
    env.pop("DEMO", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


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


def test_demo_is_ready_and_transfers_the_open_orders(demo: str) -> None:
    with httpx.Client(base_url=demo, timeout=5) as client:
        _wait_for(lambda: client.get("/health/ready").status_code == 200, "/health/ready = 200")

        def orders_created() -> list[dict[str, Any]]:
            items = client.get("/logs", params={"flow": "orders", "outcome": "created"}, headers=AUTH).json()["items"]
            return list(items)

        created = _wait_for(orders_created, "an order created in Exact")
        assert all(entry["target_system"] == "exact" and entry["target_id"] for entry in created)
        connections = client.get("/connections", headers=AUTH).json()
        assert connections["exact"]["connected"] and connections["eaccounting"]["connected"]
