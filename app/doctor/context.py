"""What the checks look at: the installation, its connections (one per system login) and its links.

A *link* pairs one Exact division with one eAccounting company; a *connection* is the OAuth login of one system
and may serve several links. `app.doctor.doctor_context` lists the installation's links (app/links.py) here, and
every per-connection and per-link check runs for each.

Checks share what they fetched through `memo` (the connection check's `current/Me` answer is the clock check's
server time), so a doctor run makes each API call once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from redis.asyncio import Redis

from app.flowconfig import ConfigInvalid, FlowConfigStore
from app.keys import Keys
from app.settings import Settings
from connectors.eaccounting import EAccountingClient
from connectors.exact import ExactClient
from flows.base import FlowDefinition

System = Literal["exact", "eaccounting"]


@dataclass(frozen=True)
class Connection:
    """The OAuth login of one system (`name` is its connection name, e.g. `default`)."""

    system: System
    name: str
    client: ExactClient | EAccountingClient

    @property
    def scope(self) -> str:
        return f"connection {self.system}/{self.name}"


@dataclass(frozen=True)
class Link:
    """One Exact division paired with one eAccounting company, each reached through a connection."""

    name: str
    exact: ExactClient
    eaccounting: EAccountingClient
    exact_connection: str = "default"
    eaccounting_connection: str = "default"
    division_configured: int | None = None  # None: taken from current/Me's CurrentDivision

    @property
    def scope(self) -> str:
        return f"link {self.name}"


@dataclass
class DoctorContext:
    settings: Settings
    redis: Redis
    flows: Mapping[str, FlowDefinition]
    configs: FlowConfigStore
    http: httpx.AsyncClient  # for reaching our own public webhook URL, as Exact would
    links: list[Link]
    clock: Callable[[], float] = time.time
    memo: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _enabled: set[str] | None = None

    @property
    def keys(self) -> Keys:
        return Keys.of(self.settings)

    def connections(self) -> list[Connection]:
        """Every connection the links use, once each."""
        found: dict[tuple[str, str], Connection] = {}
        for link in self.links:
            found.setdefault(("exact", link.exact_connection), Connection("exact", link.exact_connection, link.exact))
            found.setdefault(
                ("eaccounting", link.eaccounting_connection),
                Connection("eaccounting", link.eaccounting_connection, link.eaccounting),
            )
        return list(found.values())

    async def enabled_flows(self) -> set[str]:
        """Flows that run (a flow whose stored config is invalid counts as enabled, as the engine treats it)."""
        if self._enabled is None:
            enabled = set()
            for name in self.flows:
                try:
                    if (await self.configs.get(name)).config.enabled:
                        enabled.add(name)
                except ConfigInvalid:
                    enabled.add(name)
            self._enabled = enabled
        return self._enabled

    async def option(self, flow: str, name: str) -> Any:
        """One option of a flow's stored config (None when the flow or its config is unusable)."""
        try:
            return getattr((await self.configs.get(flow)).options, name, None)
        except (ConfigInvalid, KeyError):
            return None


def targets_from_services(settings: Settings, exact: ExactClient, eaccounting: EAccountingClient) -> list[Link]:
    """An installation of one link, `default`, on the given clients."""
    return [Link("default", exact, eaccounting, division_configured=settings.exact.division)]
