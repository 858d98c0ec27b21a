"""What a process shares and what belongs to one administration (a link): the two scopes every job and route use.

- `Process` is built once per process (API lifespan, worker start-up): settings, the Redis pool, the one
  `httpx.AsyncClient`, the flow registry, the installation's keys and the token managers of its connections.
  A connection (one OAuth consent) belongs to a system login and may serve several links: an Exact user reaches
  every division they have rights on with one token, so every link on that login shares one `TokenManager`, and
  its refresh token is refreshed once, not once per division.
- `LinkScope` is one link's: its key builder (every key under the link's own namespace), an Exact client bound to
  its division (spending that division's rate budget), an eAccounting client bound to its company's token, and its
  stores (cross-references, flow configs, activity log, dead letters, metrics, alerts, reference-data cache); its
  alerts go to the link's own `alert_url`, else to the installation's `ALERTS__WEBHOOK_URL`.
  Nothing in a scope can name another link's keys: the only way to another link's data is another scope.

Scopes are built on first use and cached per process; a link whose definition changed (paused, re-pointed) gets a
fresh scope, a removed link none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import httpx
from arq.connections import ArqRedis

from app.activity import ActivityLog, DeadLetters
from app.alerts import Alerter
from app.budgets import RunBudgets, eaccounting_budget, exact_budget
from app.flowconfig import FlowConfigStore
from app.links import Link, LinkStore
from app.metrics import Metrics
from app.settings import Settings
from app.upgrade import upgrade
from app.xref import CrossRefs
from connectors.eaccounting import EAccountingClient
from connectors.eaccounting.factory import eaccounting_client, eaccounting_tokens
from connectors.exact import ExactClient
from connectors.exact.factory import DivisionBudget, exact_client, exact_tokens
from connectors.keys import DEFAULT_LINK, Keys
from connectors.oauth import TokenManager
from connectors.ratelimit import RateBudget
from flows.base import FlowDefinition
from flows.cache import RedisShared, RefCache

if TYPE_CHECKING:
    from app.engine import Engine


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Timing:
    """Clocks and sleeps of the connectors (tests and benchmarks run them on the simulators' clocks), and the
    longest a call may wait in place for its rate budget before it raises `RateLimited` instead (None:
    `ENGINE__BUDGET_WAIT_SECONDS`)."""

    exact_clock: Clock = time.time
    exact_sleep: Sleep = asyncio.sleep
    eaccounting_clock: Clock = time.time
    eaccounting_sleep: Sleep = asyncio.sleep
    max_wait: float | None = None
    time_scale: float = 1.0  # connector-clock seconds per real second (a benchmark may run the APIs' time faster)


def make_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    timeout = max(settings.exact.timeout_seconds, settings.eaccounting.timeout_seconds)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        headers={"User-Agent": "ledgerbridge/0.1"},
        transport=transport,
    )


class Connections:
    """The token managers of the installation's connections, one per (system, name) in this process."""

    def __init__(self, settings: Settings, redis: ArqRedis, http: httpx.AsyncClient, keys: Keys, timing: Timing):
        self._settings, self._redis, self._http, self._keys, self._timing = settings, redis, http, keys, timing
        self._exact: dict[str, TokenManager] = {}
        self._eaccounting: dict[str, TokenManager] = {}

    def exact(self, name: str) -> TokenManager:
        if name not in self._exact:
            self._exact[name] = exact_tokens(
                self._settings,
                self._http,
                self._redis,
                keys=self._keys,
                connection=name,
                clock=self._timing.exact_clock,
            )
        return self._exact[name]

    def eaccounting(self, name: str) -> TokenManager:
        if name not in self._eaccounting:
            self._eaccounting[name] = eaccounting_tokens(
                self._settings,
                self._http,
                self._redis,
                keys=self._keys,
                connection=name,
                clock=self._timing.eaccounting_clock,
            )
        return self._eaccounting[name]


@dataclass(slots=True)
class LinkScope:
    """One link's clients and stores (see the module docstring)."""

    link: Link
    keys: Keys
    exact: ExactClient
    eaccounting: EAccountingClient
    xref: CrossRefs
    configs: FlowConfigStore
    activity: ActivityLog
    dead_letters: DeadLetters
    metrics: Metrics
    alerter: Alerter
    budgets: RunBudgets
    cache: RefCache = field(default_factory=RefCache)

    @property
    def id(self) -> str:
        return self.link.id


class Process:
    """The process-wide part (see the module docstring). `aclose` closes what it opened."""

    def __init__(
        self,
        settings: Settings,
        redis: ArqRedis,
        flows: Mapping[str, FlowDefinition],
        *,
        http: httpx.AsyncClient | None = None,
        timing: Timing | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.flows = flows
        self.http = http if http is not None else make_http_client(settings)
        self._owns_http = http is None
        self.keys = Keys.of(settings)
        timing = timing or Timing()
        if timing.max_wait is None:
            timing = replace(timing, max_wait=settings.engine.budget_wait_seconds)
        self.timing = timing
        self.connections = Connections(settings, redis, self.http, self.keys, self.timing)
        self.registry = LinkStore(redis, self.keys)
        self._upgraded = False
        self._scopes: dict[str, LinkScope] = {}
        self._engines: dict[str, Engine] = {}

    def default_link(self) -> Link:
        """The installation's first link as the settings describe it (`EXACT__DIVISION`, default connections)."""
        return Link(id=DEFAULT_LINK, division=self.settings.exact.division)

    def effective(self, link: Link) -> Link:
        """`link` with the settings applied: `EXACT__DIVISION`, when set, is the division of link `default`."""
        if link.id == DEFAULT_LINK and self.settings.exact.division is not None:
            return link.model_copy(update={"division": self.settings.exact.division})
        return link

    async def ready(self) -> None:
        """Upgrade an older layout before the first use (`app/upgrade.py`; once per process)."""
        if not self._upgraded:
            await upgrade(self.redis, self.settings)
            self._upgraded = True

    async def links(self) -> list[Link]:
        """Every link of the installation, as it is defined now."""
        await self.ready()
        return [self.effective(link) for link in await self.registry.all()]

    async def link(self, link_id: str) -> Link | None:
        """The link `link_id`, or None when there is no such link."""
        await self.ready()
        link = await self.registry.get(link_id)
        return None if link is None else self.effective(link)

    def forget(self, link_id: str) -> None:
        """Drop the cached scope of a link (removed or redefined in this process)."""
        self._scopes.pop(link_id, None)
        self._engines.pop(link_id, None)

    async def engine_of(self, link_id: str) -> Engine | None:
        """The engine of the link `link_id` as it is defined now (None: no such link)."""
        link = await self.link(link_id)
        return None if link is None else self.engine(link)

    def scope(self, link: Link) -> LinkScope:
        """The scope of `link`, built once per definition of the link."""
        cached = self._scopes.get(link.id)
        if cached is not None and cached.link == link:
            return cached
        scope = self._build(link)
        self._scopes[link.id] = scope
        self._engines.pop(link.id, None)
        return scope

    def engine(self, link: Link) -> Engine:
        """The engine of `link` (its scope plus the engine's rules)."""
        from app.engine import Engine

        scope = self.scope(link)
        engine = self._engines.get(link.id)
        if engine is None or engine.scope is not scope:
            engine = Engine(self, scope)
            self._engines[link.id] = engine
        return engine

    def _build(self, link: Link) -> LinkScope:
        settings, redis, timing = self.settings, self.redis, self.timing
        keys = self.keys.for_link(link.id)
        max_wait = timing.max_wait if timing.max_wait is not None else settings.engine.budget_wait_seconds
        client_id = settings.eaccounting.client_id or "default"
        # The link's own alert destination, else the installation's (a changed URL is a new link definition,
        # so a new scope: every process picks it up on its next use of the link).
        alert_url = link.alert_url or (
            settings.alerts.webhook_url.get_secret_value() if settings.alerts.webhook_url else None
        )
        exact = exact_client(
            settings,
            self.http,
            redis,
            tokens=self.connections.exact(link.exact_connection),
            keys=self.keys,
            division=link.division,
            clock=timing.exact_clock,
            sleep=timing.exact_sleep,
            max_wait=max_wait,
        )
        eaccounting = eaccounting_client(
            settings,
            self.http,
            redis,
            tokens=self.connections.eaccounting(link.eaccounting_connection),
            keys=self.keys,
            budget_scope=client_id,
            clock=timing.eaccounting_clock,
            sleep=timing.eaccounting_sleep,
            max_wait=max_wait,
        )
        return LinkScope(
            link=link,
            keys=keys,
            exact=exact,
            eaccounting=eaccounting,
            xref=CrossRefs(redis, keys, lease_seconds=settings.engine.lease_seconds),
            configs=FlowConfigStore(redis, keys, self.flows),
            activity=ActivityLog(
                redis,
                keys,
                retention_seconds=settings.retention.activity_log_days * 86400,
                redact_personal=settings.log.redact_personal_fields,
            ),
            dead_letters=DeadLetters(redis, keys),
            metrics=Metrics(redis, keys),
            alerter=Alerter(
                redis, keys, http=self.http, url=alert_url, min_interval_seconds=settings.alerts.min_interval_seconds
            ),
            # Reference data loaded by one worker process serves the link's others (flows/cache.py).
            cache=RefCache(
                shared=RedisShared(
                    redis,
                    key_of=lambda name: keys.flow_state("cache", name),
                    lock_of=lambda name: keys.flow_state("cache-loading", name),
                )
            ),
            budgets=RunBudgets(
                redis,
                self.keys,
                [
                    exact_budget(str(link.division or "current"), _division_budget(exact), timing.exact_clock),
                    eaccounting_budget(client_id, _budget(eaccounting), timing.eaccounting_clock),
                ],
            ),
        )

    async def aclose(self) -> None:
        """Close what this process opened (an HTTP client passed in belongs to the caller)."""
        if self._owns_http:
            await self.http.aclose()


def _budget(client: EAccountingClient) -> RateBudget:
    budget = client.api.budget
    assert budget is not None, "the factories always give a client its budget"
    return budget


def _division_budget(client: ExactClient) -> DivisionBudget:
    budget = client.api.budget
    assert isinstance(budget, DivisionBudget), "exact_client gives every client its division's budget"
    return budget
