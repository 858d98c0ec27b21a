"""Every Redis key ledgerbridge writes, built in one place, all under the configured prefix.

Why one builder: the API, the workers and every flow share one Redis; a key built by hand somewhere else is a key
that can land outside the prefix, or collide with another process's. `tests/app/test_keys.py` fails when a module
outside this one formats a key.

It sits in `connectors/`, the lowest layer that touches Redis (token stores, rate budgets), so every layer above can
import it: the connectors' factories, the flows (through `FlowContext.keys`) and the app.

Layout (`{p}` = `REDIS__KEY_PREFIX`):

    {p}:worker:heartbeat                    the newest worker heartbeat (epoch seconds)
    {p}:oauth:{system}:{connection}:token   a connection's encrypted tokens (hash), `...:token:lock` its refresh lock
    {p}:oauth:state:{state}                 a pending OAuth consent (the `state` parameter)
    {p}:ratelimit:{system}:{scope}          a rate budget (hash), `...:w:{window}` its counted windows
    {p}:webhook:seen:{sha256}               an Exact webhook delivery already accepted (3 days)
    {p}:gen|attempts|lock|stash:{flow}:{record}   the engine's per-record state (docs/engine.md)
    {p}:cursor:{flow}, {p}:poll:last|lock:{flow}  polling state
    {p}:xref:{kind}:{s2t|t2s|intent|hash|value}   cross-references; `{p}:xref:{kind}:lock:{id}` record locks
    {p}:flowcfg:{flow}                      a flow's stored config
    {p}:log:e:{id}, {p}:log:i:...           the activity log (app/activity.py)
    {p}:dead:{flow}, {p}:dead:flows         dead letters
    {p}:alerts:gate|pending|pending_count   the alert rate gate and digest
    {p}:metrics:{family}                    Prometheus counters (hashes)
    {p}:{flow}:{part}                       a flow's own state (stock index, shipments index)

arq job ids (not keys themselves) are built here too: `{p}:rec:{flow}:{record}` and `{p}:poll:{flow}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["DEFAULT_LINK", "Keys"]

# The link an installation from before links has become (docs/engine.md, "Links"); also the link of the old paths.
DEFAULT_LINK = "default"


class _RedisSection(Protocol):
    key_prefix: str


class _Settings(Protocol):
    @property
    def redis(self) -> _RedisSection: ...


@dataclass(frozen=True, slots=True)
class Keys:
    """The key names of one installation (`prefix`), and of one of its links (`link`)."""

    prefix: str
    link: str | None = None

    @classmethod
    def of(cls, settings: _Settings) -> Keys:
        """The installation's keys (`REDIS__KEY_PREFIX`): the one place the prefix setting is read."""
        return cls(settings.redis.key_prefix)

    def for_link(self, link: str) -> Keys:
        """The keys of `link` (its own records, cursors, logs, ...) in this installation."""
        return Keys(self.prefix, link)

    def _key(self, *parts: object) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    # -- the installation ---------------------------------------------------------------------------------------

    @property
    def everything(self) -> str:
        """SCAN pattern of every key of the installation."""
        return self._key("*")

    @property
    def default_queue(self) -> str:
        """The arq queue name derived from the prefix."""
        return self._key("queue")

    @property
    def worker_heartbeat(self) -> str:
        return self._key("worker", "heartbeat")

    def token(self, system: str, connection: str = "default") -> str:
        return self._key("oauth", system, connection, "token")

    def token_lock(self, system: str, connection: str = "default") -> str:
        return self._key("oauth", system, connection, "token", "lock")

    def oauth_state(self, state: str) -> str:
        return self._key("oauth", "state", state)

    def ratelimit(self, system: str, scope: str) -> str:
        return self._key("ratelimit", system, scope)

    def ratelimit_windows(self, system: str, scope: str) -> str:
        """Base of a window budget's per-window counters (the budget's script appends `:{window start}`)."""
        return self._key("ratelimit", system, scope, "w")

    def webhook_seen(self, digest: str) -> str:
        return self._key("webhook", "seen", digest)

    # -- jobs ---------------------------------------------------------------------------------------------------

    def record_job(self, flow: str, record_id: str) -> str:
        """arq job id of a record run: triggers for a record that is already queued collapse into its job."""
        return self._key("rec", flow, record_id)

    def followup_job(self, flow: str, record_id: str) -> str:
        return self._key("rec", flow, record_id, "followup")

    def poll_job(self, flow: str) -> str:
        return self._key("poll", flow)

    # -- the engine's per-record and polling state ---------------------------------------------------------------

    def generation(self, flow: str, record_id: str) -> str:
        return self._key("gen", flow, record_id)

    def attempts(self, flow: str, record_id: str) -> str:
        return self._key("attempts", flow, record_id)

    def lock(self, flow: str, record_id: str) -> str:
        return self._key("lock", flow, record_id)

    def stash(self, flow: str, record_id: str) -> str:
        return self._key("stash", flow, record_id)

    def cursor(self, flow: str) -> str:
        return self._key("cursor", flow)

    def last_poll(self, flow: str) -> str:
        return self._key("poll", "last", flow)

    def poll_lock(self, flow: str) -> str:
        return self._key("poll", "lock", flow)

    # -- cross-references and configs ----------------------------------------------------------------------------

    def xref(self, kind: str, part: str) -> str:
        """`part`: s2t, t2s, intent, hash or value (hashes keyed by record id)."""
        return self._key("xref", kind, part)

    def xref_lock(self, kind: str, source_id: str) -> str:
        return self._key("xref", kind, "lock", source_id)

    def flow_config(self, flow: str) -> str:
        return self._key("flowcfg", flow)

    def flow_state(self, flow: str, part: str) -> str:
        """A flow's own state (the stock index, the shipments order index)."""
        return self._key(flow, part)

    # -- activity log, dead letters, alerts, metrics -------------------------------------------------------------

    def log_entry(self, entry_id: str) -> str:
        return self._key("log", "e", entry_id)

    def log_index(self, *parts: str) -> str:
        """An activity-log index: `all`, or `f|o|s|fo|fs` followed by flow / outcome / source id."""
        return self._key("log", "i", *parts)

    @property
    def log_index_pattern(self) -> str:
        return self._key("log", "i", "*")

    def dead(self, flow: str) -> str:
        return self._key("dead", flow)

    @property
    def dead_flows(self) -> str:
        return self._key("dead", "flows")

    def alerts(self, part: str) -> str:
        """`gate`, `pending` or `pending_count`."""
        return self._key("alerts", part)

    def metrics(self, family: str) -> str:
        return self._key("metrics", family)
