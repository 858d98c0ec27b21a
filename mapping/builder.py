"""Builds the plan of a mapping: one closure per target field (values, objects, lists, conditionals).

A plan is a tuple of ``(target_name, evaluator)``; an evaluator is ``ev(record, ctx) -> value | OMIT``. One plan is
built per mode (create, update), so create-only fields cost nothing on update. Dry runs use plans built with
``traced=True``, whose evaluators also append to the trace, so the fast path carries no tracing checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from mapping import fn_dates, fn_numbers, fn_tables, fn_text  # noqa: F401 - they register the transforms
from mapping.conditions import CompiledCondition, compile_condition
from mapping.context import Ctx
from mapping.errors import MappingError, MappingSpecError, TransformFailed
from mapping.evaluators import OMIT, Evaluator, value_evaluator
from mapping.paths import Getter, PathSyntaxError, compile_getter, parse_path
from mapping.registry import BOOLEAN, DECIMAL, INTEGER, SAME, TEXT, TransformFn, parse_entry
from mapping.results import TraceEntry
from mapping.spec import Condition, FieldRule, MappingSpec, ValueMap
from mapping.targets import REQUIRED
from mapping.values import type_name

Mode = Literal["create", "update"]
Plan = tuple[tuple[str, Evaluator], ...]


class TraceCtx(Ctx):
    """A dry run's context: also collects trace entries, with the target/source prefix of the current list item."""

    __slots__ = ("sprefix", "tprefix", "trace")

    def __init__(self, root: Any, lookups: Mapping[str, Mapping[str, Any]] | None) -> None:
        super().__init__(root, lookups)
        self.trace: list[TraceEntry] = []
        self.tprefix = ""
        self.sprefix = ""


def _kind_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float | Decimal):
        return DECIMAL
    if isinstance(value, str):
        return TEXT
    return None


def _item_label(source: str | None, index: int) -> str:
    if source is None:
        return f"[{index}]"
    base = source[:-3] if source.endswith("[*]") else source
    return f"{base}[{index}]"


def _join_source(prefix: str, source: str | None) -> str | None:
    if source is None or not prefix or source.startswith("$"):
        return source
    return prefix + (source[2:] if source.startswith("@.") else "" if source == "@" else "." + source)


class PlanBuilder:
    """Compiles one spec; implements `mapping.registry.Builder` for transform factories."""

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self.lookup_tables: set[str] = set()
        self.getter_calls = 0
        # Evaluators of list-item fields whose value is the same for every item of a record (a constant, or read
        # from the root): the row loop computes them once per record and copies them into each item.
        self.per_record: set[Evaluator] = set()

    # -- Builder protocol --------------------------------------------------------------------------------------
    def getter(self, path: str, where: str) -> Getter:
        self.getter_calls += 1
        try:
            return compile_getter(parse_path(path))
        except PathSyntaxError as exc:
            raise MappingSpecError(where, str(exc)) from None

    def value_map(self, name: str, where: str) -> ValueMap:
        found = self.spec.value_maps.get(name)
        if found is None:
            known = ", ".join(sorted(self.spec.value_maps)) or "none"
            raise MappingSpecError(where, f"unknown value map {name!r} (known: {known})")
        return found

    def condition(self, cond: Condition, where: str) -> CompiledCondition:
        return compile_condition(cond, where, allow_value=True)

    def use_lookup(self, table: str) -> None:
        self.lookup_tables.add(table)

    # -- fields ------------------------------------------------------------------------------------------------
    def chain(self, rule: FieldRule, where: str) -> tuple[tuple[TransformFn, ...], tuple[str, ...], bool, bool]:
        """The compiled transforms, their names, whether any reads other source paths of the record, and whether
        every one maps null to null (then a null source needs none of them)."""
        kind = _kind_of(rule.const) if rule.has_const else None
        self.getter_calls = 0
        if rule.source is not None and rule.has_default:
            kind = None
        fns: list[TransformFn] = []
        names: list[str] = []
        keeps_null = True
        for i, entry in enumerate(rule.transforms):
            at = f"{where}.transforms[{i}]"
            definition, params = parse_entry(entry, at)
            if kind is not None and definition.accepts is not None and kind not in definition.accepts:
                wanted = " or ".join(sorted(definition.accepts))
                raise MappingSpecError(at, f"transform {definition.name!r} expects {wanted}, got {kind}")
            fns.append(definition.factory(params, self, at))
            names.append(definition.name)
            flag = definition.keeps_null
            keeps_null = keeps_null and (flag(params, self) if callable(flag) else flag)
            kind = kind if definition.returns == SAME else definition.returns
        before, self.getter_calls = self.getter_calls, 0
        return tuple(fns), tuple(names), before > 0, keeps_null

    def plan(
        self, fields: Mapping[str, FieldRule], where: str, mode: Mode, traced: bool, repeated: bool = False
    ) -> Plan:
        """Evaluators of the fields sent in `mode`; `repeated`: they run once per list item."""
        out: list[tuple[str, Evaluator]] = []
        for name, rule in fields.items():
            if rule.on != "always" and rule.on != mode:
                continue
            out.append((name, self.field(name, rule, f"{where}.{name}", mode, traced, repeated)))
        return tuple(out)

    def field(
        self, name: str, rule: FieldRule, where: str, mode: Mode, traced: bool, repeated: bool = False
    ) -> Evaluator:
        shapes = [
            k for k in ("const", "fields", "items") if (k == "const" and rule.has_const) or getattr(rule, k, None)
        ]
        if len(shapes) > 1:
            raise MappingSpecError(where, f"a field takes only one of {' / '.join(shapes)}")
        if rule.has_const and rule.source is not None:
            raise MappingSpecError(where, "a field takes 'source' or 'const', not both")
        if rule.items is not None and rule.source is None:
            raise MappingSpecError(where, "'items' needs a 'source' list, e.g. 'Rows[*]'")
        if rule.else_ is not None and rule.when is None:
            raise MappingSpecError(f"{where}.else", "'else' needs a 'when'")
        if rule.items is not None or rule.extra_items:
            ev = self.list_field(name, rule, where, mode, traced)
        elif rule.fields is not None:
            ev = self.object_field(name, rule, where, mode, traced)
        else:
            ev = self.value_field(name, rule, where, traced, repeated)
        if rule.when is None:
            return ev
        return self.conditional(name, rule, ev, where, mode, traced)

    def conditional(self, name: str, rule: FieldRule, ev: Evaluator, where: str, mode: Mode, traced: bool) -> Evaluator:
        assert rule.when is not None
        cond = compile_condition(rule.when, f"{where}.when")
        test = cond.test
        other = self.field(name, rule.else_, f"{where}.else", mode, traced) if rule.else_ is not None else None
        source = rule.when.path

        def when(rec: Any, ctx: Any) -> Any:
            try:
                ok = test(None, rec, ctx)
            except TransformFailed as exc:
                raise MappingError(name, source, str(exc)) from None
            if ok:
                return ev(rec, ctx)
            if other is not None:
                return other(rec, ctx)
            if traced:
                ctx.trace.append(
                    TraceEntry(ctx.tprefix + name, "when", source, omitted=True, note=cond.explain(None, rec, ctx))
                )
            return OMIT

        return when

    def value_field(self, name: str, rule: FieldRule, where: str, traced: bool, repeated: bool = False) -> Evaluator:
        fns, names, reads_record, keeps_null = self.chain(rule, where)
        source = rule.source
        key: str | None = None
        if source is not None:
            get = self.getter(source, f"{where}.source")
            parsed = parse_path(source)
            if not parsed.from_root and len(parsed.segments) == 1 and type(parsed.segments[0]) is str:
                key = parsed.segments[0]
        else:
            const = rule.const

            def get(_rec: Any, _ctx: Any) -> Any:
                return const

        default = (rule.default,) if rule.has_default else None
        ev = value_evaluator(name, source, get, key, fns, default, rule.if_missing, keeps_null=keeps_null)

        per_record = (source is None or source.startswith("$")) and not reads_record
        if repeated and per_record and not traced:
            self.per_record.add(ev)
            return ev
        if not traced:
            return ev
        kind = "source" if source is not None else "const"

        def traced_ev(rec: Any, ctx: Any) -> Any:
            entry = TraceEntry(ctx.tprefix + name, kind, _join_source(ctx.sprefix, source), transforms=names)
            ctx.trace.append(entry)
            try:
                v = ev(rec, ctx)
            except MappingError as exc:
                entry.note = f"error: {exc.reason}"
                raise
            if v is OMIT:
                entry.omitted = True
            else:
                entry.value = v
            return v

        return traced_ev

    def object_field(self, name: str, rule: FieldRule, where: str, mode: Mode, traced: bool) -> Evaluator:
        assert rule.fields is not None
        plan = self.plan(rule.fields, f"{where}.fields", mode, traced)
        source = rule.source
        get = self.getter(source, f"{where}.source") if source is not None else None
        if_missing = rule.if_missing

        def ev(rec: Any, ctx: Any) -> Any:
            try:
                base = get(rec, ctx) if get is not None else rec
            except TransformFailed as exc:
                raise MappingError(name, source, str(exc)) from None
            if base is None:
                if if_missing == "error":
                    raise MappingError(name, source, "no value (the field is required)")
                return None if if_missing == "null" else OMIT
            if not isinstance(base, Mapping):
                raise MappingError(name, source, f"expected an object, got {type_name(base)}")
            out: dict[str, Any] = {}
            if traced:
                saved = ctx.tprefix, ctx.sprefix
                ctx.tprefix = f"{saved[0]}{name}."
                ctx.sprefix = _join_source(saved[1], source) or saved[1]
            try:
                for key, sub in plan:
                    v = sub(base, ctx)
                    if v is not OMIT:
                        out[key] = v
            except MappingError as exc:
                inner = exc.source_path
                if source is not None and inner is not None and not inner.startswith("$"):
                    inner = f"{source}.{inner}"
                raise MappingError(f"{name}.{exc.target_field}", inner, exc.reason) from None
            finally:
                if traced:
                    ctx.tprefix, ctx.sprefix = saved
            return out

        return ev

    def list_field(self, name: str, rule: FieldRule, where: str, mode: Mode, traced: bool) -> Evaluator:
        source = rule.source
        get = self.getter(source, f"{where}.source") if source is not None else None
        items = rule.items
        plan = self.plan(items.fields, f"{where}.items.fields", mode, traced, True) if items is not None else ()
        invariant = tuple((key, sub) for key, sub in plan if sub in self.per_record)
        variant = tuple((key, sub) for key, sub in plan if sub not in self.per_record)
        row_filters = (
            [compile_condition(c, f"{where}.items.filters[{i}]") for i, c in enumerate(items.filters)] if items else []
        )
        row_tests = tuple(f.test for f in row_filters)
        extras = []
        for i, extra in enumerate(rule.extra_items):
            at = f"{where}.extra_items[{i}]"
            cond = compile_condition(extra.when, f"{at}.when") if extra.when is not None else None
            extras.append((cond, self.plan(extra.fields, f"{at}.fields", mode, traced, True)))
        if_missing = rule.if_missing

        def run_item(item_plan: Plan, row: Any, ctx: Any, index: int, label: str | None) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if traced:
                saved = ctx.tprefix, ctx.sprefix
                ctx.tprefix, ctx.sprefix = f"{saved[0]}{name}[{index}].", label or ""
            try:
                for key, sub in item_plan:
                    v = sub(row, ctx)
                    if v is not OMIT:
                        out[key] = v
            except MappingError as exc:
                inner = exc.source_path
                if label is not None and inner is not None and not inner.startswith("$"):
                    inner = f"{label}.{inner}" if inner != "@" else label
                raise MappingError(f"{name}[{index}].{exc.target_field}", inner, exc.reason) from None
            finally:
                if traced:
                    ctx.tprefix, ctx.sprefix = saved
            return out

        def ev(rec: Any, ctx: Any) -> Any:
            rows: Any = None
            if get is not None:
                try:
                    rows = get(rec, ctx)
                except TransformFailed as exc:
                    raise MappingError(name, source, str(exc)) from None
                if rows is not None and not isinstance(rows, list):
                    raise MappingError(name, source, f"expected a list, got {type_name(rows)}")
            result: list[Any] = []
            if not traced and rows:
                shared: dict[str, Any] | None = None  # the per-record fields, computed at the first item
                for i, row in enumerate(rows):
                    try:
                        passes = True
                        for test in row_tests:
                            if not test(None, row, ctx):
                                passes = False
                                break
                        if not passes:
                            continue
                        if shared is None:
                            shared = {}
                            for key, sub in invariant:
                                v = sub(row, ctx)
                                if v is not OMIT:
                                    shared[key] = v
                        item = shared.copy()
                        for key, sub in variant:
                            v = sub(row, ctx)
                            if v is not OMIT:
                                item[key] = v
                    except MappingError as exc:
                        inner = exc.source_path
                        if inner is not None and not inner.startswith("$"):
                            inner = f"{_item_label(source, i)}.{inner}" if inner != "@" else _item_label(source, i)
                        raise MappingError(f"{name}[{len(result)}].{exc.target_field}", inner, exc.reason) from None
                    except TransformFailed as exc:
                        raise MappingError(f"{name}[{len(result)}]", _item_label(source, i), str(exc)) from None
                    result.append(item)
                rows = ()
            for i, row in enumerate(rows or ()):
                label = _item_label(source, i)
                skip: str | None = None
                for flt in row_filters:
                    try:
                        passed = flt.test(None, row, ctx)
                    except TransformFailed as exc:
                        raise MappingError(f"{name}[{len(result)}]", label, str(exc)) from None
                    if not passed:
                        skip = flt.explain(None, row, ctx)
                        break
                if skip is not None:
                    if traced:
                        ctx.trace.append(TraceEntry(f"{ctx.tprefix}{name}[-]", "row_skipped", label, note=skip))
                    continue
                result.append(run_item(plan, row, ctx, len(result), label))
            for cond, extra_plan in extras:
                try:
                    wanted = cond is None or cond.test(None, rec, ctx)
                except TransformFailed as exc:
                    raise MappingError(f"{name}[{len(result)}]", None, str(exc)) from None
                if wanted:
                    result.append(run_item(extra_plan, rec, ctx, len(result), None))
            if not result and if_missing == "error":
                raise MappingError(name, source, "no items (at least one is required)")
            if rows is None and not result and if_missing == "omit":
                return OMIT
            return result

        return ev

    def check_required(self) -> None:
        spec = self.spec
        need = REQUIRED.get(spec.target or "", {})
        top = (*need.get("", ()), *spec.required)
        for field_name in top:
            rule = spec.fields.get(field_name)
            if rule is None or rule.on == "update":
                raise MappingSpecError("fields", f"required target field {field_name!r} of {spec.target} is not mapped")
        for list_name, wanted in need.items():
            rule = spec.fields.get(list_name)
            if not list_name or rule is None:
                continue
            groups = [(f"fields.{list_name}.items.fields", rule.items.fields if rule.items else None)]
            groups += [
                (f"fields.{list_name}.extra_items[{i}].fields", e.fields) for i, e in enumerate(rule.extra_items)
            ]
            for where, item_fields in groups:
                if item_fields is None:
                    continue
                for field_name in wanted:
                    sub = item_fields.get(field_name)
                    if sub is None or sub.on == "update":
                        raise MappingSpecError(
                            where, f"required field {field_name!r} of each {list_name} item is not mapped"
                        )
