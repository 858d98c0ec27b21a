"""Prometheus counters kept in Redis hashes, rendered in the text exposition format (version 0.0.4).

Why Redis and not prometheus_client: the API (which serves /metrics) and the workers (which do the work) are
different processes, possibly on different hosts. Counters live in a few hashes, so HINCRBY from any process adds
up and a scrape reads them in one round trip. Counters survive restarts, which Prometheus' `rate()` tolerates.

Endpoints are normalised (ids, GUIDs and numbers become `{id}`) so label cardinality stays bounded.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from connectors.calls import WAIT
from connectors.keys import Keys

if TYPE_CHECKING:
    from app.activity import ActivityEntry

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_KEY_IN_PARENS = re.compile(r"\((?:guid)?'[^']*'\)|\(\d+\)")
_NUMBER_SEGMENT = re.compile(r"(?<=/)\d+(?=/|$)")


def normalise_endpoint(endpoint: str) -> str:
    """`/api/v1/123/crm/Accounts(guid'...')` -> `/api/v1/{id}/crm/Accounts({id})`; query strings dropped."""
    path = endpoint.split("?", 1)[0]
    path = _KEY_IN_PARENS.sub("({id})", path)
    path = _GUID.sub("{id}", path)
    return _NUMBER_SEGMENT.sub("{id}", path)


def escape_label(value: str) -> str:
    """Label values escape backslash, double quote and newline (exposition format 0.0.4)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: tuple[str, ...], values: list[Any]) -> str:
    pairs = ",".join(f'{n}="{escape_label(str(v))}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


def _decode(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class Metrics:
    """Increment from anywhere, render in the API."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    @property
    def _jobs(self) -> str:
        return self.keys.metrics("jobs")

    @property
    def _duration(self) -> str:
        return self.keys.metrics("job_duration")

    @property
    def _api(self) -> str:
        return self.keys.metrics("api_calls")

    @property
    def _wait(self) -> str:
        return self.keys.metrics("ratelimit_wait")

    @property
    def _polled(self) -> str:
        return self.keys.metrics("poll_records")

    @property
    def _mismatches(self) -> str:
        return self.keys.metrics("totals_mismatch")

    @property
    def _deferred(self) -> str:
        return self.keys.metrics("budget_deferrals")

    @staticmethod
    def _field(*parts: object) -> str:
        # JSON keeps any character in a label value unambiguous (no separator to collide with).
        return json.dumps([str(p) for p in parts], separators=(",", ":"))

    def _job(self, pipe: Pipeline, flow: str, outcome: str, duration_s: float) -> None:
        pipe.hincrby(self._jobs, self._field(flow, outcome), 1)
        pipe.hincrbyfloat(self._duration, self._field(flow, "sum"), max(duration_s, 0.0))
        pipe.hincrby(self._duration, self._field(flow, "count"), 1)

    def _call(self, pipe: Pipeline, system: str, endpoint: str, status: int | str | None) -> None:
        label = "error" if status is None else str(status)
        pipe.hincrby(self._api, self._field(system, normalise_endpoint(endpoint), label), 1)

    def _calls(self, pipe: Pipeline, calls: Iterable[Mapping[str, Any]]) -> None:
        """API calls as counted calls; the connectors' rate-limit waits (method WAIT) as waiting seconds."""
        for call in calls:
            system = str(call.get("system", "unknown"))
            if call.get("method") == WAIT:
                pipe.hincrbyfloat(self._wait, system, max(float(call.get("duration_ms") or 0), 0.0) / 1000)
            else:
                self._call(pipe, system, str(call.get("endpoint", "")), call.get("status"))

    async def job_finished(self, flow: str, outcome: str, duration_s: float) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self._job(pipe, flow, outcome, duration_s)
            await pipe.execute()

    async def api_call(self, system: str, endpoint: str, status: int | str | None) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self._call(pipe, system, endpoint, status)
            await pipe.execute()

    async def ratelimit_wait(self, system: str, seconds: float) -> None:
        if seconds > 0:
            await self.redis.hincrbyfloat(self._wait, system, seconds)  # type: ignore[misc]  # redis-py union type

    async def record_entry(self, entry: ActivityEntry) -> None:
        """Count one finished run and the API calls it made, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            self._job(pipe, entry.flow, entry.outcome, entry.duration_ms / 1000)
            self._calls(pipe, entry.api_calls)
            if entry.mismatch is not None:
                pipe.hincrby(self._mismatches, entry.flow, 1)
            await pipe.execute()

    async def deferred(self, flow: str, calls: Iterable[Mapping[str, Any]]) -> None:
        """Count one record run put off until its rate budget allows (and the calls it made before that)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._deferred, flow, 1)
            self._calls(pipe, calls)
            await pipe.execute()

    async def poll_page(self, flow: str, records: int, calls: Iterable[Mapping[str, Any]]) -> None:
        """Count one page of a poll: the records it enqueued (progress of a long initial sync) and its calls."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._polled, flow, records)
            self._calls(pipe, calls)
            await pipe.execute()

    async def snapshot(self) -> dict[str, dict[Any, Any]]:
        """The raw counters of this link, one round trip."""
        names = ("jobs", "durations", "api", "waits", "polled", "mismatches", "deferred")
        keys = (self._jobs, self._duration, self._api, self._wait, self._polled, self._mismatches, self._deferred)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            return dict(zip(names, await pipe.execute(), strict=True))

    async def render(self, *, queue_depth: int | None, dead_letters: dict[str, int]) -> str:
        """This link's exposition text (see `render`)."""
        link = self.keys.link or ""
        return render({link: await self.snapshot()}, queue_depth=queue_depth, dead_letters={link: dead_letters})


def render(
    snapshots: Mapping[str, Mapping[str, dict[Any, Any]]],
    *,
    queue_depth: int | None,
    dead_letters: Mapping[str, Mapping[str, int]],
) -> str:
    """The exposition text of every link (`Metrics.snapshot` per link id); every series carries its `link` label.
    `queue_depth` None (unknown) leaves that gauge out."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {_escape_help(help_text)}")
        lines.append(f"# TYPE {name} {kind}")

    def rows(part: str, *, json_fields: bool = True) -> list[tuple[str, list[str], float]]:
        found = []
        for link, snapshot in snapshots.items():
            for k, v in snapshot[part].items():
                fields = json.loads(_decode(k)) if json_fields else [_decode(k)]
                found.append((link, fields, float(_decode(v))))
        return sorted(found, key=lambda row: (row[1], row[0]))

    family("ledgerbridge_jobs_total", "counter", "Record runs by link, flow and outcome.")
    for link, (flow, outcome), n in rows("jobs"):
        labels = _labels(("link", "flow", "outcome"), [link, flow, outcome])
        lines.append(f"ledgerbridge_jobs_total{labels} {_number(n)}")

    family("ledgerbridge_job_duration_seconds", "summary", "Time spent per record run, by link and flow.")
    for link, (flow, part), v in rows("durations"):
        lines.append(f"ledgerbridge_job_duration_seconds_{part}{_labels(('link', 'flow'), [link, flow])} {_number(v)}")

    family("ledgerbridge_api_calls_total", "counter", "API calls by link, system, endpoint and HTTP status.")
    for link, (system, endpoint, status), n in rows("api"):
        labels = _labels(("link", "system", "endpoint", "status"), [link, system, endpoint, status])
        lines.append(f"ledgerbridge_api_calls_total{labels} {_number(n)}")

    family("ledgerbridge_ratelimit_wait_seconds_total", "counter", "Seconds spent waiting for a rate limit.")
    for link, (system,), v in rows("waits", json_fields=False):
        labels = _labels(("link", "system"), [link, system])
        lines.append(f"ledgerbridge_ratelimit_wait_seconds_total{labels} {_number(v)}")

    family("ledgerbridge_poll_records_total", "counter", "Records polling triggers enqueued, by link and flow.")
    for link, (flow,), v in rows("polled", json_fields=False):
        lines.append(f"ledgerbridge_poll_records_total{_labels(('link', 'flow'), [link, flow])} {_number(v)}")

    family(
        "ledgerbridge_totals_mismatch_total",
        "counter",
        "Records written whose target document's totals (net, VAT, gross) differ from the source's, by link and flow.",
    )
    for link, (flow,), v in rows("mismatches", json_fields=False):
        lines.append(f"ledgerbridge_totals_mismatch_total{_labels(('link', 'flow'), [link, flow])} {_number(v)}")

    family("ledgerbridge_budget_deferrals_total", "counter", "Record runs put off until the rate budget allows.")
    for link, (flow,), v in rows("deferred", json_fields=False):
        lines.append(f"ledgerbridge_budget_deferrals_total{_labels(('link', 'flow'), [link, flow])} {_number(v)}")

    if queue_depth is not None:
        family("ledgerbridge_queue_depth", "gauge", "Jobs waiting in the queue (every link).")
        lines.append(f"ledgerbridge_queue_depth {_number(queue_depth)}")

    family("ledgerbridge_dead_letters", "gauge", "Records that failed for good, by link and flow.")
    for link, counts in sorted(dead_letters.items()):
        for flow, n in sorted(counts.items()):
            lines.append(f"ledgerbridge_dead_letters{_labels(('link', 'flow'), [link, flow])} {_number(n)}")

    return "\n".join(lines) + "\n"
