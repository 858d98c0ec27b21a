"""Benchmark: Exact webhook ingest against `/health/live`, one uvicorn process, in the same run.

`ledgerbridge api` runs as a subprocess (one uvicorn process, JSON logs to a file, demo settings under its own Redis
prefix). A bounded load generator (CONCURRENCY requests in flight on kept-alive connections, raw HTTP/1.1 over
asyncio streams) sends EVENTS signed `Items` webhooks, each a new record (so every one is de-duplicated, bumps a
generation and enqueues a job: the full path), and as many `GET /health/live`, in alternating rounds of ROUND
requests (so both see the same machine: other processes on it shift both alike). It prints events/s, p50 and p99
of both and their ratio (goal: webhook/live >= 0.7), and the API process's CPU time per request of each (from
/proc: what the API spends, whatever else the machine runs).

Redis round trips per event are counted on the wire: a second API process reaches Redis through a counting TCP proxy
(a round trip is a burst of bytes from the client after Redis last answered; a pipeline or a script is one), and
ROUNDTRIP_EVENTS events are sent to it one at a time (goal: <= 2). Redis commands per event (and events per script
call: events that arrive while a call is in flight share the next one) come from INFO commandstats deltas over the
throughput run, and log lines per event from the API's log file.

Needs Redis (BENCH_REDIS_URL, default redis://localhost:6379/14; only keys under `lbbench-webhooks*` are touched).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings import DEMO_EXACT_WEBHOOK_SECRET  # noqa: E402
from tests.redisproxy import RoundTripProxy  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
ROUNDTRIP_EVENTS = 200
ROUND = 250
PREFIX = "lbbench-webhooks"
DIVISION = 1234567


def _body(key: str, secret: str) -> bytes:
    content = json.dumps(
        {
            "Topic": "Items",
            "ClientId": "00000000-0000-4000-8000-00000000e1a1",
            "Division": DIVISION,
            "Action": "Update",
            "Key": key,
            "ExactOnlineEndpoint": f"https://start.exactonline.nl/api/v1/{DIVISION}/logistics/Items(guid'{key}')",
            "EventCreatedOn": "/Date(1777896000000)/",
        },
        separators=(",", ":"),
    )
    digest = hmac.new(secret.encode(), content.encode(), hashlib.sha256).hexdigest().upper()
    return ('{"Content":' + content + ',"HashCode":"' + digest + '"}').encode()


@contextlib.asynccontextmanager
async def api_process(redis_url: str, prefix: str, log_path: Path) -> AsyncIterator[tuple[str, int]]:
    """`ledgerbridge api` on a free port, logs to `log_path`; yields its base URL and pid once /health/live
    answers."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DEMO": "true",
        "REDIS__URL": redis_url,
        "REDIS__KEY_PREFIX": prefix,
        "REDIS__QUEUE_NAME": f"{prefix}:queue",
        "EXACT__DIVISION": str(DIVISION),
        "LOG__FORMAT": "json",
        "LOG__LEVEL": "INFO",
    }
    log = log_path.open("w")
    command = [sys.executable, "-m", "app.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220, S603
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/health/live")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the API did not start; see {log_path}")
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Connections:
    """CONCURRENCY HTTP/1.1 keep-alive connections over asyncio streams: a load generator light enough that the API
    process, not the generator, is what the rates measure (httpx spends more CPU per request than the API's
    `/health/live`; on a 2-core machine the generator then sets the pace)."""

    def __init__(self, base: str) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> Connections:
        self.streams = [await asyncio.open_connection(self.host, self.port) for _ in range(CONCURRENCY)]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for _reader, writer in self.streams:
            writer.close()


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read its answer; the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return int(head[9:12])


def post(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: lb\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class Load:
    """Requests of one kind, sent in rounds; wall time, server CPU time and latencies add up over the rounds."""

    def __init__(self, request: Callable[[int], bytes], pid: int) -> None:
        self.request, self.pid = request, pid
        self.sent = 0
        self.elapsed = self.cpu = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    async def round(self, connections: Connections, count: int) -> None:
        """`count` requests, one in flight per connection."""
        counter = iter(range(self.sent, self.sent + count))

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for n in counter:
                request = self.request(n)
                started = time.perf_counter()
                status = await exchange(reader, writer, request)
                self.latencies.append((time.perf_counter() - started) * 1000)
                self.statuses[status] = self.statuses.get(status, 0) + 1

        cpu, started = cpu_seconds(self.pid), time.perf_counter()
        await asyncio.gather(*(worker(reader, writer) for reader, writer in connections.streams))
        self.elapsed += time.perf_counter() - started
        self.cpu += cpu_seconds(self.pid) - cpu
        self.sent += count

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "rate": self.sent / self.elapsed,
            "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            "cpu_ms": self.cpu / self.sent * 1000,
            "statuses": self.statuses,
        }


def _webhook_lines(log: Path) -> int:
    """Log lines so far, but those of `/health/live` requests (the rounds interleave them)."""
    with log.open() as lines:
        return sum(1 for line in lines if "/health/live" not in line)


async def commandstats(client: aioredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def clear(client: aioredis.Redis, prefix: str) -> None:
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)


async def main() -> None:
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://localhost:6379/14")
    secret = DEMO_EXACT_WEBHOOK_SECRET
    client = aioredis.Redis.from_url(redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    await clear(client, PREFIX)
    try:
        keys = [str(uuid.uuid4()) for _ in range(EVENTS + 100)]
        live_log = workdir / "api.log"
        bodies = [post("/webhooks/exact", _body(key, secret)) for key in keys]
        live_request = b"GET /health/live HTTP/1.1\r\nHost: lb\r\n\r\n"
        async with api_process(redis_url, PREFIX, live_log) as (base, pid), Connections(base) as http:
            await Load(bodies.__getitem__, pid).round(http, 100)  # warm-up: imports, pools, first-event reads
            await Load(lambda _n: live_request, pid).round(http, 100)
            hooks, health = Load(bodies.__getitem__, pid), Load(lambda _n: live_request, pid)
            hooks.sent = 100  # the keys the warm-up used
            lines_before = _webhook_lines(live_log)
            before = await commandstats(client)
            for _ in range(EVENTS // ROUND):
                await hooks.round(http, ROUND)
                await health.round(http, ROUND)
            after = await commandstats(client)
            lines_after = _webhook_lines(live_log)
            hooks.sent -= 100
        events = hooks.sent
        commands = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
        commands = {name: calls for name, calls in commands.items() if name not in ("info", "select")}
        per_event = sum(commands.values()) / events
        # Round trips, counted on the wire by a proxy in front of Redis, one event at a time.
        parts = urlsplit(redis_url)
        proxy = RoundTripProxy(parts.hostname or "localhost", parts.port or 6379)
        proxy_port = await proxy.start()
        proxied = f"{parts.scheme}://127.0.0.1:{proxy_port}{parts.path}"
        async with (
            api_process(proxied, f"{PREFIX}-rt", workdir / "api-rt.log") as (base, _pid),
            httpx.AsyncClient(timeout=30) as http,
        ):
            for _ in range(20):  # warm-up
                await http.post(f"{base}/webhooks/exact", content=_body(str(uuid.uuid4()), secret))
            trips_before = proxy.trips
            for _ in range(ROUNDTRIP_EVENTS):
                answer = await http.post(f"{base}/webhooks/exact", content=_body(str(uuid.uuid4()), secret))
                assert answer.status_code == 202, answer.text
            trips = (proxy.trips - trips_before) / ROUNDTRIP_EVENTS
        await proxy.close()
    finally:
        await clear(client, PREFIX)
        await client.aclose()

    webhooks, lives = hooks.figures(), health.figures()
    ratio = webhooks["rate"] / lives["rate"]
    print(f"webhook ingest vs /health/live, one uvicorn process, {CONCURRENCY} in flight, {events} requests each "
          f"in alternating rounds of {ROUND}")  # fmt: skip
    for name, unit, got in (("webhooks", "events/s", webhooks), ("/health/live", "req/s   ", lives)):
        print(f"  {name:13} {got['rate']:7.0f} {unit}  p50 {got['p50']:6.2f} ms  p99 {got['p99']:6.2f} ms  "
              f"API CPU {got['cpu_ms']:.3f} ms/request  statuses {got['statuses']}")  # fmt: skip
    print(f"  ratio         {ratio:.2f}  (goal >= 0.7); by API CPU time per request "
          f"{lives['cpu_ms'] / webhooks['cpu_ms']:.2f}")  # fmt: skip
    print(f"  Redis round trips per event {trips:.2f}  (goal <= 2; counted on the wire, {ROUNDTRIP_EVENTS} events)")
    print(f"  Redis commands per event    {per_event:.2f}  {dict(sorted(commands.items()))}")
    calls = commands.get("evalsha", 0) + commands.get("eval", 0)
    if calls:
        print(f"  events per script call      {events / calls:.1f}  (events that arrive together share one call)")
    print(f"  log lines per event         {(lines_after - lines_before) / events:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
