# mypy: disable-error-code="misc"
"""Preview (dry run) of a flow on one record: the flow's real handler, with nothing written anywhere.

The same code path: `preview_record` runs the flow's own `handle(ctx, source)`, so everything a run decides (the
VAT situation, the customer found or to be created, SKU checks, options, the mapping with the lookup tables the
flow fetched itself) is decided the same way. Zero writes, by construction at the two edges a handler writes to:

* **APIs**: inside `connectors.dryrun.intercept_writes()` every POST/PUT/DELETE is recorded and answered with a
  stand-in; only reads reach Exact and eAccounting.
* **Redis**: the context's Redis is an `OverlayRedis`: reads see the link's state, writes land in an in-memory
  overlay that is dropped afterwards (a command it does not know is refused, never passed through). Cross-references,
  the flow's indexes and the shared reference-data cache all go through it; the run gets its own in-process cache,
  so the process's working caches are not touched either. No activity entry, no metrics: the engine is not involved.

With `fresh`, the record's own cross-references, content hashes and last values read as absent, so the preview
shows what the flow would send for the record as if it had never been transferred (or had changed): the mapping
editor's dry run on a record that already ran. Customers, items and other records it links to stay as they are.

The answer: `payload` (what the record's own write would send), `trace` (field by field, from the flow's mapping
with the lookups it used), `creates` (records written first: a new Exact account, its contact person), `writes`
(every write, in order), `warnings`, `outcome` (what the run would report), `skipped`/`error`, `api_calls`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import structlog

import mapping
from app.flowconfig import ResolvedConfig
from app.xref import RELEASE_SCRIPT, CrossRefs
from connectors.calls import WAIT, capture_calls
from connectors.dryrun import intercept_writes, is_placeholder
from connectors.errors import PermanentError
from flows.base import FlowDefinition, RecordFailed
from flows.cache import RedisShared, RefCache
from mapping.paths import compile_getter, parse_path

if TYPE_CHECKING:
    from app.engine import Engine

_DELETED = object()


def _b(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool | int | float):
        return repr(value).encode() if isinstance(value, float) else str(int(value)).encode()
    return str(value).encode()


class RecordNotFound(LookupError):
    """The source record of a preview does not exist (any more)."""


class DryRunViolation(RuntimeError):
    """A preview tried a Redis command the overlay does not know: refused rather than sent (a bug to fix here)."""


class OverlayRedis:
    """Reads from `real`, writes into memory: the Redis a preview's flow context uses (strings and hashes)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._strings: dict[str, Any] = {}  # key -> bytes | _DELETED
        self._hashes: dict[str, dict[bytes, Any]] = {}  # key -> field -> bytes | _DELETED
        self._gone: set[str] = set()  # deleted here: the real value is not read any more
        self.writes: list[tuple[str, str]] = []  # (command, key): what the run would have written

    @staticmethod
    def _k(key: Any) -> str:
        return key.decode() if isinstance(key, bytes) else str(key)

    # -- strings --------------------------------------------------------------------------------------------------

    async def get(self, key: Any) -> bytes | None:
        k = self._k(key)
        if k in self._strings:
            value = self._strings[k]
            return None if value is _DELETED else value
        if k in self._gone or k in self._hashes:
            return None
        result: bytes | None = await self._real.get(k)
        return result

    async def set(self, key: Any, value: Any, *, nx: bool = False, **_expiry: Any) -> Any:
        # An expiry (px, ex) needs no keeping: the overlay lives for one preview.
        k = self._k(key)
        if nx and await self.get(k) is not None:
            return None
        self._strings[k] = _b(value)
        self.writes.append(("set", k))
        return True

    async def pttl(self, key: Any) -> int:
        k = self._k(key)
        if k in self._strings or k in self._gone or k in self._hashes:
            return 60_000 if self._strings.get(k, _DELETED) is not _DELETED else -2
        return int(await self._real.pttl(k))

    async def exists(self, *keys: Any) -> int:
        count = 0
        for key in keys:
            k = self._k(key)
            if k in self._strings:
                count += self._strings[k] is not _DELETED
            elif k in self._hashes or k in self._gone:
                count += bool(await self.hgetall(k))
            else:
                count += int(await self._real.exists(k))
        return count

    async def delete(self, *keys: Any) -> int:
        count = await self.exists(*keys)
        for key in keys:
            k = self._k(key)
            self._strings.pop(k, None)
            self._hashes.pop(k, None)
            self._gone.add(k)
            self.writes.append(("delete", k))
        return count

    async def eval(self, script: str, _numkeys: int, *args: Any) -> Any:
        if script != RELEASE_SCRIPT:
            raise DryRunViolation("a preview runs only the lock-release script")
        key, token = args[0], args[1]
        if await self.get(key) == _b(token):
            return await self.delete(key)
        return 0

    # -- hashes ---------------------------------------------------------------------------------------------------

    async def hget(self, key: Any, name: Any) -> bytes | None:
        k, f = self._k(key), _b(name)
        local = self._hashes.get(k, {})
        if f in local:
            value = local[f]
            return None if value is _DELETED else value
        if k in self._gone:
            return None
        result: bytes | None = await self._real.hget(k, f)
        return result

    async def hmget(self, key: Any, names: Iterable[Any], *more: Any) -> list[bytes | None]:
        fields = [*(names if isinstance(names, list | tuple) else [names]), *more]
        return [await self.hget(key, f) for f in fields]

    async def hgetall(self, key: Any) -> dict[bytes, bytes]:
        k = self._k(key)
        merged: dict[bytes, bytes] = {} if k in self._gone else dict(await self._real.hgetall(k))
        for f, value in self._hashes.get(k, {}).items():
            if value is _DELETED:
                merged.pop(f, None)
            else:
                merged[f] = value
        return merged

    async def hkeys(self, key: Any) -> list[bytes]:
        return list(await self.hgetall(key))

    async def hlen(self, key: Any) -> int:
        return len(await self.hgetall(key))

    async def hexists(self, key: Any, name: Any) -> bool:
        return await self.hget(key, name) is not None

    async def hset(
        self, key: Any, name: Any = None, value: Any = None, mapping: dict[Any, Any] | None = None, **_: Any
    ) -> int:
        k = self._k(key)
        local = self._hashes.setdefault(k, {})
        items = dict(mapping or {})
        if name is not None:
            items[name] = value
        added = 0
        for f, v in items.items():
            added += await self.hget(k, f) is None
            local[_b(f)] = _b(v)
        self.writes.append(("hset", k))
        return added

    async def hdel(self, key: Any, *names: Any) -> int:
        k = self._k(key)
        local = self._hashes.setdefault(k, {})
        removed = 0
        for name in names:
            removed += await self.hget(k, name) is not None
            local[_b(name)] = _DELETED
        self.writes.append(("hdel", k))
        return removed

    def pipeline(self, *_args: Any, **_kwargs: Any) -> _OverlayPipeline:
        return _OverlayPipeline(self)

    def __getattr__(self, name: str) -> Any:
        raise DryRunViolation(f"Redis command {name!r} is not available in a preview")


class _OverlayPipeline:
    """Commands queued, then run in order against the overlay (MULTI/EXEC's all-at-once needs nothing more here)."""

    def __init__(self, redis: OverlayRedis) -> None:
        self._redis = redis
        self._queued: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def __aenter__(self) -> _OverlayPipeline:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._queued.clear()

    def __getattr__(self, name: str) -> Callable[..., _OverlayPipeline]:
        if not hasattr(OverlayRedis, name) or name.startswith("_") or name == "pipeline":
            raise DryRunViolation(f"Redis command {name!r} is not available in a preview")

        def queue(*args: Any, **kwargs: Any) -> _OverlayPipeline:
            self._queued.append((name, args, kwargs))
            return self

        return queue

    async def execute(self) -> list[Any]:
        results = [await getattr(self._redis, name)(*args, **kwargs) for name, args, kwargs in self._queued]
        self._queued.clear()
        return results


class ForgetfulCrossRefs(CrossRefs):
    """Cross-references in which the preview's own record (by any id in `forget`) has no link, hash or value yet."""

    def __init__(self, redis: Any, keys: Any, forget: set[str]) -> None:
        super().__init__(redis, keys)
        self._forget = forget  # filled once the record is known (fetched)

    def _forgotten(self, ident: str) -> bool:
        return ident.lower() in self._forget

    async def target(self, kind: str, source_id: str) -> str | None:
        return None if self._forgotten(source_id) else await super().target(kind, source_id)

    async def targets(self, kind: str, source_ids: list[str]) -> dict[str, str]:
        found = await super().targets(kind, source_ids)
        return {k: v for k, v in found.items() if not self._forgotten(k)}

    async def source(self, kind: str, target_id: str) -> str | None:
        found = None if self._forgotten(target_id) else await super().source(kind, target_id)
        return None if found is not None and self._forgotten(found) else found

    async def pending(self, kind: str, source_id: str) -> bool:
        return False if self._forgotten(source_id) else await super().pending(kind, source_id)

    async def last_hash(self, kind: str, source_id: str) -> str | None:
        return None if self._forgotten(source_id) else await super().last_hash(kind, source_id)

    async def last_value(self, kind: str, source_id: str) -> str | None:
        return None if self._forgotten(source_id) else await super().last_value(kind, source_id)


@dataclass(slots=True)
class MapCall:
    name: str | None
    compiled: Any
    record: Any
    mode: str
    lookups: Any
    result: Any


class RecordingMapping:
    """A compiled mapping that remembers each `map()` call (record, mode, lookups), for the preview's trace."""

    def __init__(self, compiled: Any, calls: list[MapCall]) -> None:
        self._compiled = compiled
        self._calls = calls

    def map(self, record: Any, *, mode: str = "create", lookups: Any = None) -> Any:
        result = self._compiled.map(record, mode=mode, lookups=lookups)
        self._calls.append(MapCall(self._compiled.name, self._compiled, record, mode, lookups, result))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiled, name)


class WarningLog:
    """A structlog-like logger that keeps warnings (and errors) as the preview's warnings, and logs everything."""

    def __init__(self, inner: Any, sink: list[str]) -> None:
        self._inner = inner
        self._sink = sink

    def bind(self, **kw: Any) -> WarningLog:
        return WarningLog(self._inner.bind(**kw), self._sink)

    def _keep(self, event: str, kw: dict[str, Any]) -> None:
        if "message" in kw:
            self._sink.append(str(kw["message"]))
            return
        details = ", ".join(f"{k}={v}" for k, v in kw.items() if k not in ("flow", "link"))
        self._sink.append(f"{event}: {details}" if details else event)

    def warning(self, event: str, **kw: Any) -> None:
        self._keep(event, kw)
        self._inner.warning(event, preview=True, **kw)

    warn = warning

    def error(self, event: str, **kw: Any) -> None:
        self._keep(event, kw)
        self._inner.error(event, preview=True, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass(slots=True)
class Preview:
    """What `preview_record` found; `to_dict()` is the API's answer."""

    mapping: str | None
    source: dict[str, Any]
    payload: Any = None
    trace: list[dict[str, Any]] = field(default_factory=list)
    mapped: Any = None
    creates: list[dict[str, Any]] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    skipped: str | None = None
    error: dict[str, Any] | None = None
    api_calls: list[dict[str, Any]] = field(default_factory=list)
    fresh: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "source": self.source,
            "payload": mapping.jsonable(self.payload),
            "mode": (self.outcome or {}).get("mode"),
            "trace": self.trace,
            "mapped": mapping.jsonable(self.mapped),
            "creates": mapping.jsonable(self.creates),
            "writes": mapping.jsonable(self.writes),
            "warnings": self.warnings,
            "outcome": self.outcome,
            "skipped": self.skipped,
            "error": self.error,
            "api_calls": self.api_calls,
            "fresh": self.fresh,
            "written": False,
        }


def _record_ids(source: dict[str, Any], record_id: str | None) -> set[str]:
    ids = {str(v) for k in ("Id", "ID", "EntryID", "OrderID", "ItemId") if (v := source.get(k))}
    if record_id:
        ids.add(record_id)
    return ids


def _canonical(value: Any) -> Any:
    """`value` with every number (or numeric text) as normalized decimal text: the payload a flow built (Decimals)
    and the body the connector sent (JSON numbers) compare equal when they say the same."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | str | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return value
        return str(number.normalize()) if number.is_finite() else value
    return value


def _source_value(record: Any, path: str | None) -> Any:
    """The value at a trace entry's source path in the mapped record (None when it cannot be read)."""
    if not path:
        return None
    try:
        getter = compile_getter(parse_path(path))
        return getter(record, SimpleNamespace(root=record))
    except (ValueError, TypeError, KeyError, IndexError, mapping.MappingError):
        return None


def _warnings_of_trace(trace: list[dict[str, Any]], record: Any) -> list[str]:
    """Fields a value map let fall to nothing although the source had a value (an unmapped delivery method, cost
    center, payment term...): the field is silently left out, so the preview says so."""
    out = []
    for entry in trace:
        if "value_map" not in entry.get("transforms", ()) or entry.get("value") is not None:
            continue
        given = _source_value(record, entry.get("source"))
        if given is None or given == "":
            continue
        out.append(
            f"{entry['target']}: {given!r} ({entry['source']}) is not in the mapping's value map, so no "
            f"{entry['target'].rsplit('.', 1)[-1]} is sent; add it to the value map to send one"
        )
    return out


async def preview_record(
    engine: Engine,
    definition: FlowDefinition,
    resolved: ResolvedConfig,
    source: dict[str, Any] | None,
    *,
    record_id: str | None = None,
    fresh: bool = False,
    mapping_name: str | None = None,
    fetch_only: bool = False,
) -> Preview:
    """Run `definition.handle` on `source` (or the record `record_id`, fetched with the same dry-run context: a
    flow's fetch may keep state too) as a dry run; see the module docstring. Raises `RecordNotFound` when there is
    no such record, a `ConnectorError` when a system cannot be read; a record the flow refuses is in `error`."""
    overlay = OverlayRedis(engine.redis)
    keys = engine.keys
    forget: set[str] = set()
    xref = ForgetfulCrossRefs(overlay, keys, forget)
    cache = RefCache(
        shared=RedisShared(
            overlay,  # type: ignore[arg-type]
            key_of=lambda name: keys.flow_state("cache", name),
            lock_of=lambda name: keys.flow_state("cache-loading", name),
        )
    )
    calls: list[MapCall] = []
    warnings: list[str] = []
    ctx = engine.context(definition, resolved, "preview")
    ctx.redis = overlay  # type: ignore[assignment]
    ctx.xref = xref
    ctx.cache = cache
    ctx.mapping = RecordingMapping(ctx.mapping, calls) if ctx.mapping is not None else None
    compile_named = resolved.compiled
    ctx.mappings = lambda name: RecordingMapping(compile_named(name), calls)
    ctx.log = WarningLog(structlog.get_logger("flow").bind(flow=definition.name, link=engine.link), warnings)
    chosen = mapping_name or resolved.mapping_name
    outcome = None
    with intercept_writes() as log, capture_calls() as api_calls:
        if source is None:
            if not record_id:
                raise ValueError("give a source record or its id")
            source = await definition.fetch(ctx, record_id)
            if source is None:
                raise RecordNotFound(record_id)
        if fresh:
            forget.update(i.lower() for i in _record_ids(source, record_id))
        result = Preview(mapping=chosen, source=source, fresh=fresh)
        if fetch_only:
            return result
        try:
            outcome = await definition.handle(ctx, dict(source))
        except RecordFailed as exc:
            result.error = exc.to_dict()
        except mapping.MappingError as exc:
            result.error = {"type": "MappingError", "message": str(exc)}
        except PermanentError as exc:  # the API refused a read of this record; a connection problem is raised
            result.error = {"type": type(exc).__name__, "message": str(exc), "system": exc.system}
    writes = [w.to_dict() for w in log.writes]
    result.writes = writes
    result.api_calls = [c.to_dict() for c in api_calls if c.method != WAIT]
    main = outcome.target_payload if outcome is not None else ctx.target_payload
    result.payload = main
    main_canon = _canonical(mapping.jsonable(main)) if main is not None else None
    result.creates = [
        {k: w.get(k) for k in ("system", "entity", "payload", "placeholder_id")}
        for w in writes
        if w["method"] == "POST" and (main_canon is None or _canonical(w["payload"]) != main_canon)
    ]
    if outcome is not None:
        result.outcome = {"action": outcome.action, "target_id": outcome.target_id, "reason": outcome.reason}
        if outcome.action in ("skipped", "unchanged"):
            result.skipped = outcome.reason or outcome.action
        if outcome.mismatch:
            warnings.append(f"totals differ from the source: {mapping.jsonable(outcome.mismatch)}")
        if is_placeholder(outcome.target_id):
            result.outcome["target_id"] = None
    if writes:
        result.outcome = {**(result.outcome or {}), "mode": "create" if writes[-1]["method"] == "POST" else "update"}
    if definition.preview_check is not None and main is not None and result.error is None:
        with intercept_writes(), capture_calls():
            try:
                warnings.extend(await definition.preview_check(ctx, result.source, main))
            except PermanentError as exc:
                warnings.append(f"not checked: {exc}")
    main_calls = [c for c in calls if c.name == chosen] or [c for c in calls if c.compiled is not None]
    if main_calls:
        call = main_calls[-1]
        run = call.compiled.dry_run(call.record, mode=call.mode, lookups=call.lookups)
        dumped = run.to_dict()
        result.trace = dumped["trace"]
        result.mapped = call.result.payload
        result.outcome = {**(result.outcome or {}), "mode": call.mode}
        warnings.extend(_warnings_of_trace(result.trace, call.record))
    result.warnings = list(dict.fromkeys(warnings))
    return result


__all__ = ["DryRunViolation", "OverlayRedis", "Preview", "RecordNotFound", "preview_record"]
