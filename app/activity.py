"""The activity log (one entry per record run) and the dead-letter list, both in Redis.

Why Redis and not a database: the log is an operational trace, not business data. Every entry carries a TTL equal
to the retention setting, and the sorted-set indexes are trimmed on every write, so nothing (GDPR: no source or
target payload) outlives `retention.activity_log_days`.

Keys (built by `connectors.keys.Keys`):
    log_entry(id)                       JSON of one entry, EX = retention
    log_index("all")                    sorted set of ids, score = ms the entry was written
    log_index("f", flow)                ... per flow
    log_index("o", outcome)             ... per outcome
    log_index("fo", flow, outcome)      ... per flow and outcome
    log_index("s", source_id)           ... per source record (any flow)
    log_index("fs", flow, source_id)    ... per flow and source record
    dead(flow)                          hash source_id -> JSON DeadLetter
    dead_flows                          set of flows that may have dead letters

Entry ids are `{ms:013d}-{16 hex}`: sortable as strings in time order, unique across processes, and the paging cursor.
"""

from __future__ import annotations

import builtins
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field
from redis.asyncio import Redis

from app.logging import REDACTED, is_secret_key, scrub_text
from connectors.keys import Keys

Trigger = Literal["webhook", "poll", "manual", "retry", "followup", "reconcile"]
Outcome = Literal["created", "updated", "unchanged", "skipped", "failed", "retrying"]
OUTCOMES: tuple[str, ...] = ("created", "updated", "unchanged", "skipped", "failed", "retrying")

ENTRY_ID_RE = re.compile(r"^\d{13}-[0-9a-f]{1,32}$")
_MAX_DEPTH = 32


class ActivityEntry(BaseModel):
    """What one run of one record did. Mutable on purpose: the engine fills it in while the run progresses."""

    id: str = Field(description="Time-ordered unique id `{ms}-{hex}`; assigned by `ActivityLog.add` when empty")
    flow: str
    trigger: Trigger
    source_system: str
    source_id: str
    label: str | None = Field(
        None, description="The record as people know it, from its flow (e.g. `order 1007 - Jansen BV`)"
    )
    target_system: str
    target_id: str | None = None
    outcome: Outcome
    reason: str | None = Field(None, description="Why it was skipped / failed, in words")
    error: dict[str, Any] | None = Field(None, description="ConnectorError.to_dict() of the failure")
    source_payload: Any = Field(None, description="The source record as received (redacted)")
    target_payload: Any = Field(None, description="The body sent to the target (redacted)")
    api_calls: list[dict[str, Any]] = Field(default_factory=list, description="ApiCall.to_dict() of each call")
    started_at: AwareDatetime
    duration_ms: float = 0.0
    attempt: int = 1
    job_id: str | None = None
    replay_of: str | None = Field(None, description="Id of the log entry this run replays")
    mismatch: dict[str, Any] | None = Field(
        None,
        description="A warning on a written record: the target's figures differ from the source's "
        "(`source`, `exact` and `difference` totals: net, VAT, gross per currency)",
    )
    worker: str | None = Field(None, description="The process that ran it (`host:pid`)")


class DeadLetter(BaseModel):
    """A record that failed for good; one per flow and source id (the newest failure wins)."""

    flow: str
    source_id: str
    log_id: str = Field(description="Activity-log entry of the last failure (may have expired)")
    error: dict[str, Any]
    trigger: str
    failed_at: AwareDatetime
    failures: int = Field(1, description="How often this record landed here since it last succeeded")


def new_entry_id(now: float) -> str:
    return f"{int(now * 1000):013d}-{secrets.token_hex(8)}"


def _ms(dt: datetime) -> int:
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


# --- redaction -------------------------------------------------------------------------------------------------------

_PERSONAL_EXACT = frozenset(
    {
        "postalcode",
        "zipcode",
        "postcode",
        "zip",
        "firstname",
        "lastname",
        "middlename",
        "surname",
        "fullname",
        "initials",
        "birthdate",
        "dateofbirth",
        "birthname",
        "socialsecuritynumber",
        "bsn",
        "iban",
    }
)
_PERSONAL_PARTS = ("email", "phone", "mobile", "fax", "address", "street", "firstname", "lastname")
_PRIVATE_PERSON_FLAGS = ("isprivateperson", "privateperson")


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def is_personal_key(key: str) -> bool:
    """Field names that hold personal data of a private person (case-, underscore- and dash-insensitive)."""
    k = _norm(key)
    return k in _PERSONAL_EXACT or any(part in k for part in _PERSONAL_PARTS)


def redact_payload(value: Any, *, personal: bool, _depth: int = 0) -> Any:
    """Copy of a JSON-able value with secrets (always) and personal fields (when `personal`) masked.

    Walks nested dicts and lists. In a dict flagged as a private person (eAccounting `IsPrivatePerson`), `Name` is a
    person's name and is masked too; company names stay readable.
    """
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        private = personal and any(_norm(str(k)) in _PRIVATE_PERSON_FLAGS and v is True for k, v in value.items())
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if v is not None and (
                is_secret_key(key)
                or (personal and is_personal_key(key))
                or (private and _norm(key) in ("name", "contactname"))
            ):
                out[key] = REDACTED
            else:
                out[key] = redact_payload(v, personal=personal, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [redact_payload(v, personal=personal, _depth=_depth + 1) for v in value]
    return value


# --- the log ---------------------------------------------------------------------------------------------------------


class ActivityLog:
    """Write and query activity-log entries.

    :param retention_seconds: TTL of every entry; index members older than this are trimmed on write.
    :param redact_personal: also mask personal fields (secrets are always masked).
    :param clock: seconds since the epoch; injectable so tests can move time.
    """

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        retention_seconds: int,
        redact_personal: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention_seconds < 1:
            raise ValueError("retention_seconds must be positive")
        self.redis = redis
        self.keys = keys
        self.retention_seconds = retention_seconds
        self.redact_personal = redact_personal
        self.clock = clock

    # key names
    def _entry_key(self, entry_id: str) -> str:
        return self.keys.log_entry(entry_id)

    def _index(self, *, flow: str | None = None, outcome: str | None = None, source_id: str | None = None) -> str:
        index = self.keys.log_index
        if flow is not None and source_id is not None:
            return index("fs", flow, source_id)
        if source_id is not None:
            return index("s", source_id)
        if flow is not None and outcome is not None:
            return index("fo", flow, outcome)
        if flow is not None:
            return index("f", flow)
        if outcome is not None:
            return index("o", outcome)
        return index("all")

    def _indexes_for(self, entry: ActivityEntry) -> list[str]:
        return [
            self._index(),
            self._index(flow=entry.flow),
            self._index(outcome=entry.outcome),
            self._index(flow=entry.flow, outcome=entry.outcome),
            self._index(source_id=entry.source_id),
            self._index(flow=entry.flow, source_id=entry.source_id),
        ]

    def _cutoff_ms(self) -> int:
        return int((self.clock() - self.retention_seconds) * 1000)

    async def add(self, entry: ActivityEntry) -> str:
        """Store `entry` (redacted) and return its id (assigned when `entry.id` is empty)."""
        now = self.clock()
        if not entry.id or not ENTRY_ID_RE.match(entry.id):
            entry.id = new_entry_id(now)
        score = int(entry.id.split("-", 1)[0])
        doc = redact_payload(entry.model_dump(mode="json"), personal=self.redact_personal)
        # `id`, `flow`, `source_id` etc. are not secret- or personal-keyed, so they survive redaction unchanged.
        cutoff = self._cutoff_ms()
        ttl = self.retention_seconds
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._entry_key(entry.id), json.dumps(doc, separators=(",", ":")), ex=ttl)
            for index in self._indexes_for(entry):
                pipe.zadd(index, {entry.id: score})
                pipe.zremrangebyscore(index, "-inf", f"({cutoff}")
                # An index nobody writes to any more disappears with its newest member.
                pipe.expire(index, ttl)
            await pipe.execute()
        return entry.id

    async def get(self, entry_id: str) -> ActivityEntry | None:
        """The entry, or None when unknown or expired."""
        if not ENTRY_ID_RE.match(entry_id):
            return None
        raw = await self.redis.get(self._entry_key(entry_id))
        return ActivityEntry.model_validate_json(raw) if raw is not None else None

    async def query(
        self,
        *,
        flow: str | None = None,
        outcome: str | None = None,
        source_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> tuple[list[ActivityEntry], str | None]:
        """Entries newest first, filtered; returns (page, cursor of the next page or None).

        `since`/`until` bound the time the entry was written (inclusive). `before` is the cursor: only entries
        strictly older than that id.
        """
        limit = max(1, min(limit, 500))
        index = self._index(flow=flow, outcome=outcome, source_id=source_id)
        # The per-source indexes do not split by outcome: filter that here.
        post_filter = outcome if source_id is not None else None
        max_score: str = "+inf"
        if until is not None:
            max_score = str(_ms(until))
        if before is not None:
            if not ENTRY_ID_RE.match(before):
                raise ValueError("invalid cursor")
            before_ms = int(before.split("-", 1)[0])
            if max_score == "+inf" or before_ms < int(max_score):
                max_score = str(before_ms)
        min_score = str(max(_ms(since), self._cutoff_ms())) if since is not None else str(self._cutoff_ms())
        if max_score != "+inf" and int(max_score) < int(min_score):
            return [], None

        found: list[ActivityEntry] = []
        offset = 0
        batch = limit + 1
        while len(found) <= limit:
            ids: list[bytes | str] = await self.redis.zrevrangebyscore(
                index, max_score, min_score, start=offset, num=batch
            )
            if not ids:
                break
            offset += len(ids)
            names = [i.decode() if isinstance(i, bytes) else i for i in ids]
            if before is not None:
                # Same-millisecond members sort by id; skip the cursor and anything at or after it.
                names = [n for n in names if n < before]
            if not names:
                continue
            raws = await self.redis.mget([self._entry_key(n) for n in names])
            for raw in raws:
                if raw is None:  # expired entry whose index member has not been trimmed yet
                    continue
                entry = ActivityEntry.model_validate_json(raw)
                if post_filter is not None and entry.outcome != post_filter:
                    continue
                found.append(entry)
            batch = min(batch * 2, 1000)
        page = found[:limit]
        cursor = page[-1].id if len(found) > limit else None
        return page, cursor

    async def purge_expired(self) -> int:
        """Trim index members older than the retention from every index; returns how many were removed.

        Entries themselves expire by TTL; this catches indexes that have not been written to since.
        """
        cutoff = self._cutoff_ms()
        removed = 0
        async for key in self.redis.scan_iter(match=self.keys.log_index_pattern, count=500):
            removed += int(await self.redis.zremrangebyscore(key, "-inf", f"({cutoff}"))
        return removed

    async def counts(self) -> dict[str, int]:
        """Entries within the retention: `total` and one count per outcome."""
        cutoff = str(self._cutoff_ms())
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(self._index(), cutoff, "+inf")
            for outcome in OUTCOMES:
                pipe.zcount(self._index(outcome=outcome), cutoff, "+inf")
            results = await pipe.execute()
        out = {"total": int(results[0])}
        out.update({outcome: int(n) for outcome, n in zip(OUTCOMES, results[1:], strict=True)})
        return out


# --- dead letters ----------------------------------------------------------------------------------------------------


class DeadLetters:
    """Records that failed for good, one per (flow, source id); replay removes them on success.

    Dead letters do not expire: a failure must stay visible until someone fixes and replays it. They hold only the
    error (secrets masked), never the payloads.
    """

    def __init__(self, redis: Redis, keys: Keys, *, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock

    def _key(self, flow: str) -> str:
        return self.keys.dead(flow)

    @property
    def _flows_key(self) -> str:
        return self.keys.dead_flows

    async def add(self, flow: str, source_id: str, *, log_id: str, error: dict[str, Any], trigger: str) -> DeadLetter:
        """Record a final failure; replaces an earlier one of the same record (keeping the failure count)."""
        previous = await self.get(flow, source_id)
        letter = DeadLetter(
            flow=flow,
            source_id=source_id,
            log_id=log_id,
            error=redact_payload(error, personal=False),
            trigger=trigger,
            failed_at=datetime.fromtimestamp(self.clock(), tz=UTC),
            failures=(previous.failures + 1) if previous is not None else 1,
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._key(flow), source_id, letter.model_dump_json())
            pipe.sadd(self._flows_key, flow)
            await pipe.execute()
        return letter

    async def remove(self, flow: str, source_id: str) -> bool:
        """Forget the record (it succeeded); True when it was listed."""
        return bool(await self.redis.hdel(self._key(flow), source_id))  # type: ignore[misc]  # redis-py: Awaitable[T] | T

    async def get(self, flow: str, source_id: str) -> DeadLetter | None:
        raw = await self.redis.hget(self._key(flow), source_id)  # type: ignore[misc]  # redis-py: Awaitable[T] | T
        return DeadLetter.model_validate_json(raw) if raw is not None else None

    async def _flows(self) -> builtins.list[str]:
        members = await self.redis.smembers(self._flows_key)  # type: ignore[misc]  # redis-py: Awaitable[T] | T
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def list(self, flow: str | None = None) -> builtins.list[DeadLetter]:
        """Dead letters of one flow (or all), newest failure first."""
        flows = [flow] if flow is not None else await self._flows()
        letters: list[DeadLetter] = []
        for name in flows:
            raw = await self.redis.hvals(self._key(name))  # type: ignore[misc]  # redis-py: Awaitable[T] | T
            letters.extend(DeadLetter.model_validate_json(r) for r in raw)
        letters.sort(key=lambda d: (d.failed_at, d.flow, d.source_id), reverse=True)
        return letters

    async def count_by_flow(self) -> dict[str, int]:
        """Number of dead letters per flow (flows with none are left out)."""
        flows = await self._flows()
        if not flows:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in flows:
                pipe.hlen(self._key(name))
            counts = await pipe.execute()
        return {name: int(n) for name, n in zip(flows, counts, strict=True) if int(n) > 0}
