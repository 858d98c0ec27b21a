"""Find a Redis that answers, or start a throw-away local `redis-server` (for `make run` and the tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import redis

INSTALL_HINT = (
    "no Redis answers and no `redis-server` binary was found on PATH. Install one: "
    "Debian/Ubuntu `sudo apt-get install redis-server`, Fedora `sudo dnf install redis`, macOS `brew install redis`; "
    "or point REDIS__URL at a running Redis."
)


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class LocalRedis:
    """A `redis-server` child process on a free port, with no persistence; `stop()` ends it."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    workdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None


def start_local_redis(port: int | None = None, timeout: float = 10.0) -> LocalRedis:
    """Start `redis-server` on 127.0.0.1 and wait until it answers.

    Raises:
        RuntimeError: the binary is missing (with install instructions) or the server did not come up.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    port = port or free_port()
    workdir = tempfile.TemporaryDirectory(prefix="ledgerbridge-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", workdir.name, "--logfile", ""]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_answers(url):
            return LocalRedis(url=url, process=process, workdir=workdir)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    workdir.cleanup()
    raise RuntimeError(f"redis-server did not answer on port {port}")


def ensure_redis(url: str) -> LocalRedis:
    """Use the Redis at `url` if it answers, else start a local one (keeping the database number of `url`)."""
    if redis_answers(url):
        return LocalRedis(url=url)
    local = start_local_redis()
    db = (urlparse(url).path or "/0").lstrip("/") or "0"
    local.url = local.url.rsplit("/", 1)[0] + f"/{db}"
    return local
