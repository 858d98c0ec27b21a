"""Builds the long-lived objects both processes share: one httpx client, the two connectors, the stores, the engine.

The API and the worker call `open_services` in their start-up and `aclose` in their shut-down, so connection
pools live as long as the process and nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from arq.connections import ArqRedis

from app.activity import ActivityLog, DeadLetters
from app.alerts import Alerter
from app.engine import Engine
from app.flowconfig import FlowConfigStore
from app.metrics import Metrics
from app.settings import Settings
from app.xref import CrossRefs
from connectors.eaccounting import EAccountingClient, build_eaccounting_client
from connectors.exact import ExactClient, build_exact_client
from connectors.keys import Keys
from flows.base import FlowDefinition


@dataclass(slots=True)
class Services:
    http: httpx.AsyncClient
    exact: ExactClient
    eaccounting: EAccountingClient
    engine: Engine
    owns_http: bool = True

    async def aclose(self) -> None:
        """Close what `open_services` opened (a client passed in belongs to the caller)."""
        if self.owns_http:
            await self.http.aclose()


def make_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    timeout = max(settings.exact.timeout_seconds, settings.eaccounting.timeout_seconds)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        headers={"User-Agent": "ledgerbridge/0.1"},
        transport=transport,
    )


def open_services(
    settings: Settings,
    redis: ArqRedis,
    flows: Mapping[str, FlowDefinition],
    *,
    http: httpx.AsyncClient | None = None,
    exact: ExactClient | None = None,
    eaccounting: EAccountingClient | None = None,
) -> Services:
    """Everything a process needs; `http` and the connectors may be given (tests and the demo route them)."""
    client = http if http is not None else make_http_client(settings)
    keys = Keys.of(settings)
    exact = exact if exact is not None else build_exact_client(settings, client, redis)
    eaccounting = eaccounting if eaccounting is not None else build_eaccounting_client(settings, client, redis)
    alert_url = settings.alerts.webhook_url.get_secret_value() if settings.alerts.webhook_url else None
    engine = Engine(
        settings=settings,
        redis=redis,
        flows=flows,
        exact=exact,
        eaccounting=eaccounting,
        activity=ActivityLog(
            redis,
            keys,
            retention_seconds=settings.retention.activity_log_days * 86400,
            redact_personal=settings.log.redact_personal_fields,
        ),
        dead_letters=DeadLetters(redis, keys),
        metrics=Metrics(redis, keys),
        alerter=Alerter(
            redis, keys, http=client, url=alert_url, min_interval_seconds=settings.alerts.min_interval_seconds
        ),
        xref=CrossRefs(redis, keys),
        configs=FlowConfigStore(redis, keys, flows),
    )
    return Services(http=client, exact=exact, eaccounting=eaccounting, engine=engine, owns_http=http is None)
