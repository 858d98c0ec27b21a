"""Every Redis key ledgerbridge writes (and every arq job id), built in one place, all under the configured prefix.

Why one builder: the API, the workers and every flow of every link share one Redis; a key built by hand elsewhere
is a key that can land outside the prefix, or under another administration's name. `tests/app/test_keys.py` fails
when a module outside this one formats a key.

It sits in `connectors/`, the lowest layer that touches Redis (token stores, rate budgets), so every layer above can
import it: the connectors' factories, the flows (through `FlowContext.keys`) and the app.

Two kinds of keys (`{p}` = `REDIS__KEY_PREFIX`):

Installation-wide (`Keys(prefix)`): what belongs to a system login or to the deployment, not to one link.

    {p}:links                               the links (hash: id -> JSON), {p}:schema the layout version
    {p}:worker:heartbeat                    the newest worker heartbeat (epoch seconds)
    {p}:oauth:{system}:{connection}:token   a connection's encrypted tokens (hash), `...:token:lock` its refresh lock
    {p}:oauth:state:{state}                 a pending OAuth consent (the `state` parameter)
    {p}:ratelimit:{system}:{scope}          a rate budget: Exact per division, eAccounting per client id
    {p}:webhook:seen:{sha256}               an Exact webhook delivery already accepted (3 days)
    {p}:console:session:{sha256}            a console sign-in session (app/console/session.py)
    {p}:queue, {p}:queue:health-check       the arq queue (default name) and arq's health key
    {p}:arq:{job|in-progress|retry|result}:{job id}, {p}:arq:abort   arq's own keys (app/redis.py moves them here)

Per link (`Keys(prefix, link)`), everything under `{p}:l:{link}:` so a link's data is one SCAN away and removing a
link removes exactly it:

    gen|attempts|lock|stash:{flow}:{record}   the engine's per-record state (docs/engine.md)
    cursor:{flow}, poll:last|lock:{flow}       polling state; queued:{flow} record jobs admitted, not finished
    xref:{kind}:{s2t|t2s|intent|hash|value}    cross-references; xref:{kind}:lock:{id} record locks
    flowcfg:{flow}                             a flow's stored config
    log:e:{id}, log:i:...                      the activity log (app/activity.py)
    dead:{flow}, dead:flows                    dead letters
    alerts:gate|pending|pending_count          the link's alert rate gate and digest
    metrics:{family}                           Prometheus counters (hashes)
    {flow}:{part}                              a flow's own state (stock index, shipments index)
    setup                                      the setup wizard's progress (app/services/setup.py)

arq job ids: `{p}:l:{link}:rec:{flow}:{record}` (a record run) and `{p}:l:{link}:poll:{flow}` (a poll).

Before links existed the per-link keys sat directly under `{p}:`; `legacy_link_key` tells such a key apart and
`app/upgrade.py` moves them to link `default`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ARQ_KEY_PREFIXES", "DEFAULT_LINK", "Keys"]

# The link an installation from before links has become; also the link of the API's paths without /links/{link}.
DEFAULT_LINK = "default"

# arq's own key prefixes (module constants of arq 0.26-0.28: `arq.constants`), which `app/redis.py` moves under ours.
ARQ_KEY_PREFIXES = ("arq:job:", "arq:in-progress:", "arq:retry:", "arq:result:", "arq:abort")

# First segments (after the prefix) of installation-wide keys; any other key under the prefix belongs to a link.
_INSTALLATION = frozenset(
    {"links", "schema", "upgrade", "worker", "oauth", "ratelimit", "webhook", "queue", "arq", "console", "l"}
)


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
        return cls.of_section(settings.redis)

    @classmethod
    def of_section(cls, section: _RedisSection) -> Keys:
        return cls(section.key_prefix)

    def for_link(self, link: str) -> Keys:
        """The keys of `link` (its own records, cursors, logs, ...) in this installation."""
        return Keys(self.prefix, link)

    def _key(self, *parts: object) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    def _link_key(self, *parts: object) -> str:
        if self.link is None:
            raise ValueError("a per-link key needs Keys.for_link(link)")
        return self._key("l", self.link, *parts)

    # -- the installation ---------------------------------------------------------------------------------------

    @property
    def everything(self) -> str:
        """SCAN pattern of every key of the installation."""
        return self._key("*")

    @property
    def default_queue(self) -> str:
        """The arq queue name derived from the prefix (the default of `REDIS__QUEUE_NAME`)."""
        return self._key("queue")

    @property
    def links(self) -> str:
        return self._key("links")

    @property
    def schema(self) -> str:
        return self._key("schema")

    @property
    def upgrade_lock(self) -> str:
        return self._key("upgrade", "lock")

    @property
    def worker_heartbeat(self) -> str:
        return self._key("worker", "heartbeat")

    def token(self, system: str, connection: str = DEFAULT_LINK) -> str:
        return self._key("oauth", system, connection, "token")

    def token_lock(self, system: str, connection: str = DEFAULT_LINK) -> str:
        return self._key("oauth", system, connection, "token", "lock")

    def oauth_state(self, state: str) -> str:
        return self._key("oauth", "state", state)

    def ratelimit(self, system: str, scope: str) -> str:
        return self._key("ratelimit", system, scope)

    def ratelimit_windows(self, system: str, scope: str) -> str:
        """Base of a window budget's per-window counters (the budget's script appends `:{window start}`)."""
        return self._key("ratelimit", system, scope, "w")

    def ratelimit_slots(self, system: str, scope: str, window: int) -> str:
        """The turns of runs deferred until the budget `scope` resets at `window` (app/budgets.py)."""
        return self._key("ratelimit", system, scope, "slots", window)

    def ratelimit_pace(self, system: str, scope: str) -> str:
        """The virtual clock on which a budget's polled runs are given their start times (app/budgets.py)."""
        return self._key("ratelimit", system, scope, "pace")

    def webhook_seen(self, digest: str) -> str:
        return self._key("webhook", "seen", digest)

    def console_session(self, digest: str) -> str:
        """A console sign-in session, stored under the SHA-256 of its cookie (app/console/session.py)."""
        return self._key("console", "session", digest)

    def arq(self, arq_key: str) -> str:
        """Where one of arq's own keys (`arq:job:{id}`, ..., see ARQ_KEY_PREFIXES) lives in this installation."""
        return self._key(arq_key)

    @staticmethod
    def legacy_arq(arq_prefix: str, arq_key: str, job_id: str) -> str:
        """Where layout 1 kept one of arq's keys of a job (`arq_prefix` `arq:` unless a test moved them)."""
        return arq_prefix + arq_key.removeprefix("arq:") + job_id

    def arq_of_job(self, arq_prefix: str, job_id: str) -> str:
        """Where arq's key `arq_prefix` (one of ARQ_KEY_PREFIXES) of the job `job_id` lives in this installation."""
        return self.arq(arq_prefix + job_id)

    def arq_job(self, job_id: str) -> str:
        """Where arq keeps a queued job's function and arguments."""
        return self.arq_of_job(ARQ_KEY_PREFIXES[0], job_id)

    # -- a link's data ------------------------------------------------------------------------------------------

    @property
    def link_data(self) -> str:
        """SCAN pattern of every key of the link."""
        return self._link_key("*")

    @staticmethod
    def legacy_link_key(prefix: str, key: str) -> bool:
        """Whether `key` is a per-link key in the layout from before links (directly under the prefix)."""
        head, _, rest = key.partition(":")
        if head != prefix or not rest:
            return False
        return rest.split(":", 1)[0] not in _INSTALLATION

    def adopt(self, legacy_key: str) -> str:
        """The name a legacy per-link key (`{p}:{rest}`) has in this link: `{p}:l:{link}:{rest}`."""
        return self._link_key(legacy_key.partition(":")[2])

    # -- jobs ---------------------------------------------------------------------------------------------------

    def record_job(self, flow: str, record_id: str) -> str:
        """arq job id of a record run: triggers for a record that is already queued collapse into its job."""
        return self._link_key("rec", flow, record_id)

    def followup_job(self, flow: str, record_id: str) -> str:
        return self._link_key("rec", flow, record_id, "followup")

    def poll_job(self, flow: str) -> str:
        return self._link_key("poll", flow)

    # -- the engine's per-record and polling state ---------------------------------------------------------------

    def generation(self, flow: str, record_id: str) -> str:
        return self._link_key("gen", flow, record_id)

    def attempts(self, flow: str, record_id: str) -> str:
        return self._link_key("attempts", flow, record_id)

    def lock(self, flow: str, record_id: str) -> str:
        return self._link_key("lock", flow, record_id)

    def stash(self, flow: str, record_id: str) -> str:
        return self._link_key("stash", flow, record_id)

    def cursor(self, flow: str) -> str:
        return self._link_key("cursor", flow)

    def last_poll(self, flow: str) -> str:
        return self._link_key("poll", "last", flow)

    def poll_lock(self, flow: str) -> str:
        return self._link_key("poll", "lock", flow)

    def queued(self, flow: str) -> str:
        """Record jobs of the flow admitted by polls and not finished (the admission cap, app/engine.py)."""
        return self._link_key("queued", flow)

    # -- cross-references and configs ----------------------------------------------------------------------------

    def xref(self, kind: str, part: str) -> str:
        """`part`: s2t, t2s, intent, hash or value (hashes keyed by record id)."""
        return self._link_key("xref", kind, part)

    def xref_lock(self, kind: str, source_id: str) -> str:
        return self._link_key("xref", kind, "lock", source_id)

    def flow_config(self, flow: str) -> str:
        return self._link_key("flowcfg", flow)

    @property
    def setup(self) -> str:
        """The setup wizard's progress for the link (steps done, choices made)."""
        return self._link_key("setup")

    def flow_state(self, flow: str, part: str) -> str:
        """A flow's own state (the stock index, the shipments order index)."""
        return self._link_key(flow, part)

    # -- activity log, dead letters, alerts, metrics -------------------------------------------------------------

    def log_entry(self, entry_id: str) -> str:
        return self._link_key("log", "e", entry_id)

    def log_index(self, *parts: str) -> str:
        """An activity-log index: `all`, or `f|o|s|fo|fs` followed by flow / outcome / source id."""
        return self._link_key("log", "i", *parts)

    @property
    def log_index_pattern(self) -> str:
        return self._link_key("log", "i", "*")

    def dead(self, flow: str) -> str:
        return self._link_key("dead", flow)

    @property
    def dead_flows(self) -> str:
        return self._link_key("dead", "flows")

    def alerts(self, part: str) -> str:
        """`gate`, `pending` or `pending_count`."""
        return self._link_key("alerts", part)

    def metrics(self, family: str) -> str:
        return self._link_key("metrics", family)
