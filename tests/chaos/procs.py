"""Real processes for the resilience tests and the chaos suite: a Redis with AOF that can be killed and brought
back on the same port and data, and child processes that can be killed with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.devredis import free_port, redis_answers
from sandbox.exact.webhooks import build_body

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RedisProcess:
    """`redis-server` with AOF (appendfsync everysec, as docker-compose.yml runs it) on a port and directory of its
    own; `kill()` is SIGKILL, `start()` brings it back on the same port with the same data."""

    port: int = field(default_factory=free_port)
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="ledgerbridge-chaos-redis-"))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.workdir, "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--logfile", "redis.log"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if redis_answers(self.url):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not come up on port {self.port} (see {self.workdir}/redis.log)")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class Child:
    """A child process of the suite (API, worker, simulator) with its log file."""

    name: str
    args: list[str]
    env: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = open(self.log_path, "ab")  # noqa: SIM115 - the child writes it; closed when the child is replaced
        self.process = subprocess.Popen(
            [sys.executable, *self.args], env=dict(self.env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no cleanup, as a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS__", "EXACT__", "EACCOUNTING__", "ENGINE__"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


def signed_item_webhook(secret: str) -> bytes:
    """A signed Exact webhook (an item change; no flow of the suite listens to items, so it only reaches Redis)."""
    content = {
        "Topic": "Items",
        "ClientId": "00000000-0000-4000-8000-00000000e1a1",
        "Division": 1234567,
        "Action": "Update",
        "Key": "0badc0de-0000-4000-8000-000000000001",
        "ExactOnlineEndpoint": "/api/v1/1234567/logistics/Items(guid'0badc0de-0000-4000-8000-000000000001')",
        "EventCreatedOn": "/Date(1765000000000)/",
    }
    return build_body(content, secret)


def pid_of_port(port: int | None, pids: list[int]) -> int | None:
    """Which of `pids` has a TCP socket with local port `port` (Linux /proc)."""
    if port is None:
        return None
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                parts = line.split()
                if int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
    return None
