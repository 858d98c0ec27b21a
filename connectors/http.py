"""The request loop every connector uses: budget, auth, bounded retries, call recording, one error tree."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx
import structlog

from connectors.calls import WAIT, ApiCall, record
from connectors.dryrun import intercepted
from connectors.errors import AccessNotSetUp, ConnectorError, RateLimited, TransientError
from connectors.ratelimit import RateBudget

log = structlog.get_logger("connectors.http")

USER_AGENT = "ledgerbridge/0.1"  # on every API call: the APIs' logs (and our wire contract tests) can tell us apart
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_GUID_KEY = re.compile(r"\(guid'[0-9a-fA-F-]+'\)")
_GUID_SEGMENT = re.compile(r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def endpoint_template(path: str) -> str:
    """`salesorder/SalesOrders(guid'…')` -> `salesorder/SalesOrders(guid)`; `/orders/<uuid>` -> `/orders/{id}`."""
    path = path.split("?", 1)[0]
    path = _GUID_KEY.sub("(guid)", path)
    path = _GUID_SEGMENT.sub("/{id}", path)
    return path


class ErrorPolicy(Protocol):
    """What differs per API: turning a failed response into our error tree, and reading a 429's wait."""

    system: str

    def error(self, response: httpx.Response, endpoint: str) -> ConnectorError: ...

    def retry_after(self, response: httpx.Response, now: float) -> float: ...


Sleep = Callable[[float], Awaitable[None]]


class ApiClient:
    """Sends requests for one API over one shared `httpx.AsyncClient`.

    - Waits for the shared rate budget instead of running into 429; a 429 is waited out (the API did not process
      the request, so resending is safe for any method) as long as the wait is below `max_wait`.
    - Retries 5xx and network errors briefly with jittered exponential backoff, but only for idempotent methods:
      a POST whose outcome is unknown is never resent blindly (the caller re-checks by natural key).
    - Records every call (system, method, endpoint, status, duration) for the activity log and metrics.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        policy: ErrorPolicy,
        auth: httpx.Auth | None = None,
        budget: RateBudget | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_retries: int = 3,
        max_wait: float = 90.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        on_problem: Callable[[str | None], Awaitable[None]] | None = None,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/") + "/"
        self.policy = policy
        self._auth = auth
        self.budget = budget
        self._headers = {"User-Agent": USER_AGENT, **dict(default_headers or {})}
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        # Told about an `AccessNotSetUp` (its operator message), and with None once a call succeeds again.
        self._on_problem = on_problem
        self._problem_noted = False

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path.lstrip("/")

    def _backoff(self, attempt: int) -> float:
        # Stripe's numbers: from 0.5 s doubling, capped at 5 s, jittered in [s/2, s].
        delay: float = min(0.5 * 2.0 ** (attempt - 1), 5.0)
        return delay * (0.5 + random.random() / 2)

    async def _wait_for_budget(self, endpoint: str) -> None:
        if self.budget is None:
            return
        while (wait := await self.budget.acquire(self._clock())) > 0:
            if wait > self._max_wait:
                raise RateLimited(
                    f"rate budget exhausted for {wait:.0f}s",
                    retry_after=wait,
                    system=self.policy.system,
                    endpoint=endpoint,
                )
            log.info("ratelimit.wait", system=self.policy.system, seconds=round(wait, 2))
            record(ApiCall(self.policy.system, WAIT, endpoint, None, wait * 1000))
            await self._sleep(wait)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        url = self.url(path)
        endpoint = endpoint_template(
            url[len(self.base_url) :] if url.startswith(self.base_url) else httpx.URL(url).path
        )
        idempotent = method.upper() in _IDEMPOTENT
        stand_in = intercepted(self.policy.system, method, url, endpoint, json)
        if stand_in is not None:  # a dry run (connectors/dryrun.py): the write is recorded, never sent
            return stand_in
        attempt = 0
        while True:
            attempt += 1
            await self._wait_for_budget(endpoint)
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={**self._headers, **(headers or {})},
                    auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                record(ApiCall(self.policy.system, method, endpoint, None, (time.perf_counter() - started) * 1000))
                # A refused connection never reached the server; anything later may have been processed.
                safe = idempotent or isinstance(exc, httpx.ConnectError)
                if safe and attempt <= self._max_retries:
                    await self._sleep(self._backoff(attempt))
                    continue
                raise TransientError(
                    f"{type(exc).__name__} talking to the API", system=self.policy.system, endpoint=endpoint
                ) from exc
            record(
                ApiCall(
                    self.policy.system, method, endpoint, response.status_code, (time.perf_counter() - started) * 1000
                )
            )
            if self.budget is not None:
                await self.budget.observe(dict(response.headers), self._clock())
            if response.is_success:
                if self._problem_noted and self._on_problem is not None:
                    self._problem_noted = False
                    await self._on_problem(None)
                return response
            if response.status_code == 429:
                wait = self.policy.retry_after(response, self._clock())
                if self.budget is not None:
                    await self.budget.block_until(self._clock() + wait)
                if attempt <= self._max_retries and wait <= self._max_wait:
                    log.warning("ratelimit.hit", system=self.policy.system, endpoint=endpoint, wait=round(wait, 2))
                    await self._sleep(wait)
                    continue
                raise RateLimited(
                    "rate limited", retry_after=wait, system=self.policy.system, status=429, endpoint=endpoint
                )
            if response.status_code >= 500 and idempotent and attempt <= self._max_retries:
                await self._sleep(self._backoff(attempt))
                continue
            error = self.policy.error(response, endpoint)
            if isinstance(error, AccessNotSetUp) and self._on_problem is not None:
                self._problem_noted = True
                await self._on_problem(error.message)
                log.warning("connection.not_set_up", system=self.policy.system, problem=error.message)
            raise error
