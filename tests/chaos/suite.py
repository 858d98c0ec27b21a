"""The chaos suite: the whole service as real processes under load, with faults, and what must hold afterwards.

Processes: a Redis the suite owns (AOF, `appendfsync everysec`, as docker-compose.yml runs it), the Exact and
eAccounting simulators (`python -m sandbox.exact`, `python -m sandbox.eaccounting`), the API (`ledgerbridge api`)
and two workers (`ledgerbridge worker`), connected the way an admin connects them (OAuth through the API), with the
orders and stock flows on. A load of eAccounting orders (orders flow, polled) and Exact stock changes (stock flow,
by webhook) runs while the faults are played one after another:

* `worker-kill`: SIGKILL of the worker whose POST of a sales order is in flight (the simulator holds it 1.5 s and
  then writes it, as Exact would after the caller is gone); a supervisor starts the worker again at once;
* `exact-5xx`, `exact-429`, `exact-drop`: Exact answers a burst of 503s, of 429s, or writes an order and drops the
  response; `eaccounting-5xx`: eAccounting answers 503s to stock writes;
* `redis-kill`: SIGKILL of Redis, two seconds away, started again on its AOF;
* `api-restart`: SIGKILL of the API while Exact sends webhooks (it retries them), started again.

After each fault the suite measures the recovery: how long until the records the fault cut off (`worker-kill`: the
orders whose writes were under way) or a change made at the fault (a probe order or stock change) are in the
target. At the end it asserts: every order exactly once in Exact (no duplicate, none missing), every item's
eAccounting stock is the last value set in Exact, Exact has no webhook left undelivered (every one acknowledged,
hence processed), and every process is alive.

`tests/chaos/test_chaos.py` runs the short profile inside `make test`; `make chaos` runs the long one
(`python -m tests.chaos`) and prints the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from app.devredis import free_port
from app.redis import connect_redis
from app.scope import Process
from app.settings import Settings, load_settings
from flows.registry import load_flows
from tests.chaos.procs import Child, RedisProcess, child_env, pid_of_port, signed_item_webhook, wait_http
from tests.chaos.report import LONG, SHORT, Profile, Report

__all__ = ["LONG", "SHORT", "Chaos", "Profile", "Report", "run_chaos"]

ORDER_KIND = "ea:order>exact:salesorder"
ADMIN = {"Authorization": "Bearer demo-admin-token"}
WEBHOOK_SECRET = "demo-exact-webhook-secret"
CUSTOMERS = ("1001", "1002", "1009", "1010")
STOCK_ITEMS = tuple(f"SKU-{n:04d}" for n in range(1, 13))
FLOWS_OFF = ("products", "customers_to_eaccounting", "customers_to_exact", "shipments")


class Chaos:
    """One run of the suite; `async with Chaos(profile, workdir) as chaos: report = await chaos.run()`."""

    def __init__(self, profile: Profile, workdir: Path) -> None:
        self.profile = profile
        self.workdir = workdir
        self.redis_proc = RedisProcess()
        self.exact_port, self.ea_port, self.api_port = free_port(), free_port(), free_port()
        self.exact = f"http://127.0.0.1:{self.exact_port}"
        self.ea = f"http://127.0.0.1:{self.ea_port}"
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.children: dict[str, Child] = {}
        self.http = httpx.AsyncClient(timeout=15)
        self.placed: list[str] = []  # eAccounting order numbers
        self.order_ids: list[str] = []  # their ids (the orders flow's record ids)
        self.stock: dict[str, str] = {}  # item: the last quantity set in Exact
        self.report = Report(profile.name)
        self.rng = random.Random(20261206)
        self.settings: Settings | None = None
        self.process: Process | None = None

    # ------------------------------------------------------------------ processes

    def _env(self) -> dict[str, str]:
        return child_env(
            DEMO="true",
            REDIS__URL=self.redis_proc.url,
            REDIS__KEY_PREFIX="lbchaos",
            EXACT__API_BASE_URL=self.exact,
            EXACT__AUTH_BASE_URL=self.exact,
            EXACT__DIVISION="1234567",
            EXACT__REDIRECT_URI=f"{self.api}/oauth/exact/callback",
            EXACT__PUBLIC_WEBHOOK_URL=f"{self.api}/webhooks/exact",
            EACCOUNTING__API_BASE_URL=f"{self.ea}/v2/",
            EACCOUNTING__IDENTITY_BASE_URL=self.ea,
            EACCOUNTING__REDIRECT_URI=f"{self.api}/oauth/eaccounting/callback",
            WORKER__POLL_INTERVAL_SECONDS="5",
            WORKER__HEARTBEAT_SECONDS="1",
            WORKER__HEARTBEAT_MAX_AGE_SECONDS="10",
            ENGINE__LEASE_SECONDS=str(self.profile.lease_seconds),
            ENGINE__SUBSCRIBE_WEBHOOKS_ON_START="false",  # the suite subscribes once connected
            ENGINE__BACKOFF_SECONDS="1",
            ENGINE__MAX_TRIES="12",
            LOG__LEVEL="INFO",
            LOG__FORMAT="json",
        )

    def _child(self, name: str, *args: str) -> Child:
        child = Child(name, list(args), self._env(), self.workdir / f"{name}.log")
        self.children[name] = child
        child.start()
        return child

    async def __aenter__(self) -> Chaos:
        self.redis_proc.start()
        self._child(
            "exact-sim",
            "-m",
            "sandbox.exact",
            "--port",
            str(self.exact_port),
            "--allow-http-callbacks",
            "--public-base-url",
            self.exact,
            "--minutely-limit",
            "100000",
            "--daily-limit",
            "1000000",
            "--token-calls-per-day",
            "0",
            "--webhook-retry-seconds",
            "1",
        )
        self._child("eaccounting-sim", "-m", "sandbox.eaccounting", "--port", str(self.ea_port), "--rate-limit", "0")
        self._child("api", "-m", "app.cli", "api", "--host", "127.0.0.1", "--port", str(self.api_port))
        for n in (1, 2):
            self._child(f"worker{n}", "-m", "app.cli", "worker")
        for url in (f"{self.exact}/_sim/counters", f"{self.ea}/_sim/counters", f"{self.api}/health/live"):
            await asyncio.to_thread(wait_http, url, 60.0)
        await self._connect()
        await self._until(self._ready, 60.0, "the API's /health/ready")
        os.environ.setdefault("DEMO", "true")
        self.settings = load_settings(
            demo=True,
            redis={"url": self.redis_proc.url, "key_prefix": "lbchaos"},
            exact={"api_base_url": self.exact, "auth_base_url": self.exact, "division": 1234567},
            eaccounting={"api_base_url": f"{self.ea}/v2/", "identity_base_url": self.ea},
        )
        self.process = Process(self.settings, connect_redis(self.settings), load_flows(), http=self.http)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Nothing of the run is kept but the logs: no need to wait for graceful shutdowns.
        for child in self.children.values():
            child.kill()
        if self.process is not None:
            with contextlib.suppress(Exception):
                await self.process.aclose()
            with contextlib.suppress(Exception):
                await self.process.redis.aclose()
        await self.http.aclose()
        self.redis_proc.stop()

    async def _connect(self) -> None:
        """Connect both systems through the API as an admin would, and leave only the orders and stock flows on."""
        for system in ("exact", "eaccounting"):
            response = await self.http.get(f"{self.api}/oauth/{system}/authorize", headers=ADMIN, follow_redirects=True)
            response.raise_for_status()
        (await self.http.post(f"{self.api}/connections/exact/webhooks", headers=ADMIN)).raise_for_status()
        for flow in FLOWS_OFF:
            (
                await self.http.put(f"{self.api}/flows/{flow}/config", json={"enabled": False}, headers=ADMIN)
            ).raise_for_status()

    async def _ready(self) -> bool:
        try:
            return (await self.http.get(f"{self.api}/health/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    async def _until(self, check: Any, seconds: float, what: str) -> float:
        """Wait until `await check()` is true; returns how long it took (raises after `seconds`)."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                if await check():
                    return time.monotonic() - started
            except Exception:  # noqa: S110 - Redis or a process may be away for a moment; look again
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"not within {seconds:.0f} s: {what}")

    # ------------------------------------------------------------------ load

    async def place_order(self) -> str:
        body = {
            "customer_number": self.rng.choice(CUSTOMERS),
            "rows": [{"article_number": f"SKU-{self.rng.randint(13, 30):04d}", "quantity": self.rng.randint(1, 4)}],
        }
        response = await self.http.post(f"{self.ea}/_sim/orders", json=body)
        response.raise_for_status()
        order = response.json()
        self.placed.append(str(order["Number"]))
        self.order_ids.append(str(order["Id"]).lower())
        return self.order_ids[-1]

    async def change_stock(self, item: str | None = None) -> str:
        item = item or self.rng.choice(STOCK_ITEMS)
        quantity = str(self.rng.randint(0, 500))
        (
            await self.http.post(f"{self.exact}/_sim/stock", json={"item_code": item, "quantity": quantity})
        ).raise_for_status()
        self.stock[item] = quantity
        return item

    async def _load(self) -> None:
        p = self.profile
        steps = max(p.orders, p.stock_changes)
        for i in range(steps):
            if i < p.orders:
                await self.place_order()
            if i < p.stock_changes:
                await self.change_stock()
            await asyncio.sleep(p.load_seconds / steps)

    # ------------------------------------------------------------------ state

    async def _linked(self, ids: list[str]) -> bool:
        assert self.process is not None
        engine = await self.process.engine_of("default")
        assert engine is not None
        return len(await engine.xref.targets(ORDER_KIND, ids)) == len(set(ids))

    async def _intents(self) -> list[str]:
        assert self.process is not None
        engine = await self.process.engine_of("default")
        assert engine is not None
        return await engine.xref.intents(ORDER_KIND)

    async def _article_stock(self) -> dict[str, Decimal]:
        records = (await self.http.get(f"{self.ea}/_sim/records/articles")).json()["records"]
        return {str(a["Number"]): Decimal(str(a.get("StockBalance") or 0)) for a in records}

    async def _stock_is(self, item: str, quantity: str) -> bool:
        return (await self._article_stock()).get(item) == Decimal(quantity)

    async def _exact_fault(self, **fault: Any) -> None:
        (await self.http.post(f"{self.exact}/_sim/faults", json=fault)).raise_for_status()

    # ------------------------------------------------------------------ faults

    async def kill_worker_mid_post(self) -> None:
        """SIGKILL the worker whose sales-order POST is in flight; a supervisor starts it again at once."""
        for _ in range(20):
            await self._exact_fault(path="salesorder/SalesOrders", method="POST", delay=1.5, times=1)
            victim = await self._worker_posting()
            if victim is not None:
                break
        else:
            raise AssertionError("no sales-order POST was seen in flight")
        cut_off = await self._intents()  # orders whose writes were under way, the victim's among them
        victim.kill()
        killed = time.monotonic()
        victim.start()
        took = await self._until(lambda: self._linked(cut_off), self.profile.lease_seconds + 45, "the cut-off orders")
        self.report.recoveries.append(
            ("worker-kill", took, f"{len(cut_off)} orders cut off mid-write, all in Exact and linked")
        )
        assert time.monotonic() - killed >= took

    async def _worker_posting(self) -> Child | None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            flying = (await self.http.get(f"{self.exact}/_sim/inflight")).json()
            for request in flying:
                if request["method"] == "POST" and request["endpoint"] == "salesorder/SalesOrders":
                    workers = [self.children[name] for name in ("worker1", "worker2")]
                    pid = pid_of_port(request["client_port"], [w.process.pid for w in workers if w.process])
                    for child in workers:
                        if child.process is not None and child.process.pid == pid:
                            return child
            await asyncio.sleep(0.05)
        return None

    async def exact_burst(self, status: int) -> None:
        burst = self.profile.burst
        await self._exact_fault(path="salesorder/SalesOrders", method="POST", status=status, times=burst)
        probe = await self.place_order()
        took = await self._until(lambda: self._linked([probe]), 120, f"an order placed at an Exact {status} burst")
        self.report.recoveries.append((f"exact-{status}", took, f"a new order through {burst} failed POSTs, in Exact"))

    async def exact_drop(self) -> None:
        await self._exact_fault(path="salesorder/SalesOrders", method="POST", drop="after", times=3)
        probes = [await self.place_order() for _ in range(3)]
        took = await self._until(lambda: self._linked(probes), 60, "orders whose write answers were dropped")
        self.report.recoveries.append(("exact-drop", took, "3 orders written, answers dropped; each linked once"))

    async def eaccounting_burst(self) -> None:
        burst = self.profile.burst
        fault = {"status": 503, "path": "/v2/articles", "method": "PUT", "times": burst}
        (await self.http.post(f"{self.ea}/_sim/faults", json=fault)).raise_for_status()
        item = await self.change_stock()
        quantity = self.stock[item]
        took = await self._until(lambda: self._stock_is(item, quantity), 60, "a stock change through eAccounting 503s")
        self.report.recoveries.append(("eaccounting-503", took, f"a stock change through {burst} failed PUTs, written"))

    async def kill_redis(self) -> None:
        self.redis_proc.kill()
        away = time.monotonic()
        while time.monotonic() - away < 2.0:
            with contextlib.suppress(httpx.HTTPError):
                response = await self.http.post(
                    f"{self.api}/webhooks/exact",
                    content=signed_item_webhook(WEBHOOK_SECRET),
                    headers={"Content-Type": "application/json"},
                )
                self.report.api_during_outage.append(response.status_code)
                if response.status_code == 503:
                    self.report.retry_after.append(response.headers.get("Retry-After", ""))
            await asyncio.sleep(0.3)
        await asyncio.to_thread(self.redis_proc.start)
        back = time.monotonic()
        probe = await self.place_order()
        took = await self._until(lambda: self._linked([probe]), 60, "an order placed after Redis came back")
        ready = await self._until(self._ready, 30, "/health/ready after Redis came back")
        self.report.recoveries.append(
            ("redis-kill", took, f"a new order in Exact after Redis was back (down {back - away:.1f} s); ready")
        )
        del ready

    async def restart_api(self) -> None:
        api = self.children["api"]
        failed_before = await self._failed_deliveries()
        api.kill()
        item = await self.change_stock()  # its webhook finds no API; Exact retries it
        quantity = self.stock[item]
        with contextlib.suppress(AssertionError):  # under load, Exact has met the closed port before the restart
            await self._until(lambda: self._failed_deliveries_above(failed_before), 5, "a failed webhook delivery")
        api.start()
        took = await self._until(
            lambda: self._stock_is(item, quantity), 60, "a stock change made while the API was down"
        )
        self.report.recoveries.append(("api-restart", took, "a stock change made while the API was away, written"))

    async def _failed_deliveries(self) -> int:
        return int((await self.http.get(f"{self.exact}/_sim/counters")).json()["webhooks"]["failed_attempts"])

    async def _failed_deliveries_above(self, count: int) -> bool:
        return await self._failed_deliveries() > count

    # ------------------------------------------------------------------ the run

    async def run(self) -> Report:
        started = time.monotonic()
        load = asyncio.create_task(self._load())
        await asyncio.sleep(2)  # the load is under way
        plan = [("worker-kill",)] * self.profile.worker_kills + list(self.profile.faults)
        actions = {
            "worker-kill": self.kill_worker_mid_post,
            "exact-5xx": lambda: self.exact_burst(503),
            "exact-429": lambda: self.exact_burst(429),
            "exact-drop": self.exact_drop,
            "eaccounting-5xx": self.eaccounting_burst,
            "redis-kill": self.kill_redis,
            "api-restart": self.restart_api,
        }
        for step in plan:
            await asyncio.gather(*(actions[fault]() for fault in step))
        await load
        await self._settle()
        await self._verify()
        self.report.seconds = time.monotonic() - started
        return self.report

    async def _settle(self) -> None:
        async def settled() -> bool:
            webhooks = (await self.http.get(f"{self.exact}/_sim/counters")).json()["webhooks"]
            if webhooks["pending"]:
                return False
            articles = await self._article_stock()
            if any(articles.get(item) != Decimal(q) for item, q in self.stock.items()):
                return False
            return await self._linked(self.order_ids)

        with contextlib.suppress(AssertionError):  # what did not settle shows in the figures
            await self._until(settled, 90, "every order and stock change through")

    async def _verify(self) -> None:
        r = self.report
        sales = (await self.http.get(f"{self.exact}/_sim/records/SalesOrders")).json()["records"]
        refs = Counter(str(o.get("Description") or "") for o in sales)
        mine = {f"eAccounting order {number}" for number in self.placed}
        r.orders = len(self.placed)
        r.in_exact = sum(1 for ref in mine if refs[ref] >= 1)
        r.duplicates = sum(refs[ref] - 1 for ref in mine if refs[ref] > 1)
        r.missing = sum(1 for ref in mine if refs[ref] == 0)
        articles = await self._article_stock()
        r.stock_items = len(self.stock)
        r.stock_wrong = {
            item: (q, str(articles.get(item))) for item, q in self.stock.items() if articles.get(item) != Decimal(q)
        }
        counters = (await self.http.get(f"{self.exact}/_sim/counters")).json()["webhooks"]
        r.webhooks = {k: counters.get(k, 0) for k in ("sent", "failed_attempts", "pending", "gave_up")}
        r.dead = [name for name, child in self.children.items() if not child.alive()]
        if self.redis_proc.process is None or self.redis_proc.process.poll() is not None:
            r.dead.append("redis")


async def run_chaos(profile: Profile, workdir: Path | None = None) -> Report:
    """Run the suite under `profile`, bounded by its guard; the processes' logs stay in `workdir`."""
    where = workdir or Path(tempfile.mkdtemp(prefix=f"ledgerbridge-chaos-{profile.name}-"))
    where.mkdir(parents=True, exist_ok=True)
    async with asyncio.timeout(profile.guard_seconds), Chaos(profile, where) as chaos:
        return await chaos.run()
