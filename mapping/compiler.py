"""`compile_mapping(spec)`: validate a mapping once and turn it into a plan of closures (`mapping.builder`);
`CompiledMapping.map` runs that plan over a record with no parsing, no I/O and no exception but `MappingError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from mapping.builder import Mode, Plan, PlanBuilder, TraceCtx
from mapping.conditions import compile_condition
from mapping.context import Ctx
from mapping.errors import MappingError, MappingSpecError, TransformFailed
from mapping.evaluators import OMIT
from mapping.results import DryRun, MapResult
from mapping.spec import MappingSpec
from mapping.values import type_name


def spec_path(loc: tuple[int | str, ...]) -> str:
    """``('fields', 'Lines', 'transforms', 1)`` -> ``fields.Lines.transforms[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class CompiledMapping:
    """A validated mapping, ready to run. Build with `compile_mapping`; reuse it for every record."""

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        builder = PlanBuilder(spec)
        builder.check_required()
        self._builder = builder
        self._filters = [compile_condition(c, f"filters[{i}]") for i, c in enumerate(spec.filters)]
        self._plans: dict[tuple[str, bool], Plan] = {
            (mode, False): builder.plan(spec.fields, "fields", mode, False) for mode in ("create", "update")
        }
        self.lookup_tables: frozenset[str] = frozenset(builder.lookup_tables)

    @property
    def name(self) -> str | None:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    def _plan(self, mode: str, traced: bool) -> Plan:
        plan = self._plans.get((mode, traced))
        if plan is None:
            if mode not in ("create", "update"):
                raise ValueError(f"mode must be 'create' or 'update', not {mode!r}")
            plan = self._builder.plan(self.spec.fields, "fields", mode, traced)  # type: ignore[arg-type]
            self._plans[(mode, traced)] = plan
        return plan

    def _skip_reason(self, record: Any, ctx: Ctx) -> str | None:
        for i, flt in enumerate(self._filters):
            try:
                if not flt.test(None, record, ctx):
                    return flt.explain(None, record, ctx)
            except TransformFailed as exc:
                raise MappingError(f"(filters[{i}])", self.spec.filters[i].path, str(exc)) from None
        return None

    def map(
        self,
        record: Mapping[str, Any],
        *,
        mode: Mode = "create",
        lookups: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> MapResult:
        """Map one source record to the target payload.

        Args:
            record: the source object as received (JSON-decoded).
            mode: "create" or "update"; fields marked for the other mode are left out.
            lookups: tables the flow resolved before mapping, for the `lookup` transform.

        Raises:
            MappingError: the record cannot be mapped; names the target field and the source path.
        """
        plan = self._plans.get((mode, False)) or self._plan(mode, False)
        received: object = record  # typed as a Mapping, but callers pass whatever JSON they got
        if not isinstance(received, Mapping):
            raise MappingError("(record)", None, f"expected an object, got {type_name(record)}")
        ctx = Ctx(record, lookups)
        if self._filters:
            reason = self._skip_reason(record, ctx)
            if reason is not None:
                return MapResult(None, reason)
        payload: dict[str, Any] = {}
        try:
            for name, ev in plan:
                v = ev(record, ctx)
                if v is not OMIT:
                    payload[name] = v
        except RecursionError:
            raise MappingError("(record)", None, "record nested too deeply") from None
        return MapResult(payload)

    def dry_run(
        self,
        record: Mapping[str, Any],
        *,
        mode: Mode = "create",
        lookups: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DryRun:
        """Like `map`, but never raises `MappingError`: returns it in `error`, with a trace of every field."""
        plan = self._plan(mode, True)
        run = DryRun(None, None, None, mode=mode, mapping=self.spec.name, version=self.spec.version)
        received: object = record  # typed as a Mapping, but callers pass whatever JSON they got
        if not isinstance(received, Mapping):
            run.error = MappingError("(record)", None, f"expected an object, got {type_name(record)}").to_dict()
            return run
        ctx = TraceCtx(record, lookups)
        run.trace = ctx.trace
        try:
            run.skipped = self._skip_reason(record, ctx)
            if run.skipped is not None:
                return run
            payload: dict[str, Any] = {}
            for name, ev in plan:
                v = ev(record, ctx)
                if v is not OMIT:
                    payload[name] = v
            run.payload = payload
        except MappingError as exc:
            run.error = exc.to_dict()
        except RecursionError:
            run.error = MappingError("(record)", None, "record nested too deeply").to_dict()
        return run


def compile_mapping(spec: MappingSpec | Mapping[str, Any]) -> CompiledMapping:
    """Validate `spec` (a `MappingSpec` or its JSON dict) and compile it.

    Raises:
        MappingSpecError: the first problem found, prefixed with its JSON path in the mapping.
    """
    if not isinstance(spec, MappingSpec):
        try:
            spec = MappingSpec.model_validate(spec)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise MappingSpecError(spec_path(tuple(first["loc"])), first["msg"]) from None
    return CompiledMapping(spec)
