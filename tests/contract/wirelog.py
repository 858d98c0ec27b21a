"""The wire log: every request our connectors send to either API during a test session, as it left the process.

Registered by tests/conftest.py. It wraps httpx's two transports that reach a simulator (`ASGITransport`, in process,
and `AsyncHTTPTransport`, over real HTTP as in the demo test) and keeps each request whose `User-Agent` is our
connectors' (`connectors.http.USER_AGENT`): requests tests build by hand to probe a simulator are not the clients'.
Each entry carries the test that was running, so tests that make a client send something the reference lacks on
purpose can say so (`@pytest.mark.wire_unchecked("why")`) and stay out of the check.

The contract tests in tests/contract/ run last in a session (`pytest_collection_modifyitems`) and check the log.
When the session did not run every flow and connector suite (a subset was asked for), they run those suites in a
child pytest that writes its log to `$LEDGERBRIDGE_WIRE_LOG` (JSON lines) and check that instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.http import USER_AGENT

LOG_VARIABLE = "LEDGERBRIDGE_WIRE_LOG"
CONTRACT_DIR = "tests/contract/"


@dataclass
class Entry:
    """One request as sent: method, URL, body text, and the test that sent it."""

    method: str
    url: str
    body: str
    test: str
    exempt: bool = False
    content_type: str = ""

    def request(self) -> httpx.Request:
        headers = {"Content-Type": self.content_type} if self.content_type else None
        return httpx.Request(self.method, self.url, content=self.body.encode(), headers=headers)

    @property
    def api(self) -> str | None:
        path = httpx.URL(self.url).path
        if "/api/v1/" in path:
            return "exact"
        if path.startswith("/v2/") or "/v2/" in path:
            return "eaccounting"
        return None


@dataclass(eq=False)
class WireLog:
    """The session's entries; `current` names the running test (tests run one at a time)."""

    entries: list[Entry] = field(default_factory=list)
    current: str = ""
    exempt: bool = False
    collected: set[str] = field(default_factory=set)

    def record(self, request: httpx.Request) -> None:
        if not request.headers.get("user-agent", "").startswith(USER_AGENT.split("/")[0] + "/"):
            return
        body = request.content.decode("utf-8", errors="replace") if request.content else ""
        kind = request.headers.get("content-type", "")
        self.entries.append(Entry(request.method, str(request.url), body, self.current, self.exempt, kind))

    def of(self, api: str) -> list[Entry]:
        return [e for e in self.entries if e.api == api]

    def dump(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            for entry in self.entries:
                out.write(json.dumps(entry.__dict__) + "\n")

    @staticmethod
    def load(path: Path) -> list[Entry]:
        return [Entry(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]

    # -- pytest hooks --------------------------------------------------------------------------------------------

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """The contract tests last: they read what every other test sent."""
        items.sort(key=lambda item: item.nodeid.startswith(CONTRACT_DIR))
        self.collected = {item.nodeid.split("::", 1)[0] for item in items}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        self.current = item.nodeid
        self.exempt = item.get_closest_marker("wire_unchecked") is not None
        try:
            return (yield)
        finally:
            self.current, self.exempt = "", False

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        target = os.environ.get(LOG_VARIABLE)
        if target:
            self.dump(Path(target))


_LOG = WireLog()


def wire_log() -> WireLog:
    return _LOG


def install(config: pytest.Config) -> None:
    """Register the log and wrap the transports (once per process)."""
    config.addinivalue_line("markers", "wire_unchecked(reason): requests this test sends stay out of the contract")
    config.pluginmanager.register(_LOG, "wirelog")
    for transport in (httpx.ASGITransport, httpx.AsyncHTTPTransport):
        original = transport.handle_async_request
        if getattr(original, "_wirelog", False):
            continue

        async def handle(self: Any, request: httpx.Request, _original: Any = original) -> httpx.Response:
            await request.aread()
            _LOG.record(request)
            response: httpx.Response = await _original(self, request)
            return response

        handle._wirelog = True  # type: ignore[attr-defined]
        transport.handle_async_request = handle  # type: ignore[method-assign]


def suites_covered(collected: Iterable[str], root: Path, patterns: Iterable[str]) -> list[str]:
    """The test files under the suites matching `patterns` that the session did NOT collect (empty: all ran)."""
    wanted = {
        str(path.relative_to(root)).replace(os.sep, "/")
        for pattern in patterns
        for path in root.glob(f"tests/{pattern}/test_*.py")
    }
    return sorted(wanted - set(collected))
