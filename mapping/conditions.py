"""Conditions (filters, `when`, `choose`, extra items) compiled into predicates ``test(value, record, ctx)``.

Comparisons never raise: numbers compare as `Decimal` (so ``1`` equals ``1.0``); ``gt``/``ge``/``lt``/``le`` with a
number also read numeric text (``"6.95" > 0``), other mixes (``"abc" > 10``) are false; ``eq``/``in`` compare text as
text. A missing value fails every comparison except ``ne``/``not_in``/``missing``/``falsy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mapping.errors import MappingSpecError, TransformFailed
from mapping.paths import Getter, PathSyntaxError, compile_getter, parse_path
from mapping.spec import Condition
from mapping.values import normalised, to_decimal

Test = Callable[[Any, Any, Any], bool]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    test: Test
    explain: Callable[[Any, Any, Any], str]


def _ordered(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Both sides as mutually comparable values, or None when they do not order (text vs number, null)."""
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a, b
    if isinstance(a, str) and isinstance(b, Decimal):  # numeric text (Exact sometimes sends numbers as text)
        try:
            return to_decimal(a), b
        except TransformFailed:
            return None
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return None


def _compare(op: str, operand: Any) -> Callable[[Any], bool]:
    if op == "exists":
        return lambda v: v is not None
    if op == "missing":
        return lambda v: v is None
    if op == "truthy":
        return lambda v: bool(v) and v not in ("0", "false")
    if op == "falsy":
        return lambda v: not v or v in ("0", "false")
    if op in ("in", "not_in"):
        members = [normalised(x) for x in operand]
        hashable = {m for m in members if isinstance(m, str | Decimal | tuple)}
        inside = op == "in"

        def member(v: Any) -> bool:
            n = normalised(v)
            try:
                found = n in hashable if isinstance(n, str | Decimal | tuple) else n in members
            except TypeError:
                found = False
            return found is inside

        return member
    if op in ("eq", "ne") and (isinstance(operand, bool) or operand is None):
        # Identity is exact for true/false/null and skips normalising on the hot path (row filters).
        if op == "eq":
            return lambda v: v is operand
        return lambda v: v is not operand
    if op in ("eq", "ne") and isinstance(operand, str):
        if op == "eq":
            return lambda v: type(v) is str and v == operand
        return lambda v: not (type(v) is str and v == operand)
    ref = normalised(operand)
    if op == "eq":
        return lambda v: normalised(v) == ref
    if op == "ne":
        return lambda v: normalised(v) != ref

    def order(v: Any) -> bool:
        pair = _ordered(normalised(v), ref)
        if pair is None:
            return False
        a, b = pair
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)

    return order


def compile_condition(cond: Condition, where: str, *, allow_value: bool = False) -> CompiledCondition:
    """Compile `cond`; `where` is its JSON path in the mapping, used in `MappingSpecError` messages.

    :param allow_value: a condition without ``path`` tests the value being transformed (only inside `choose`).
    """
    if cond.all is not None or cond.any is not None:
        parts_spec = cond.all if cond.all is not None else cond.any
        assert parts_spec is not None
        key = "all" if cond.all is not None else "any"
        parts = [compile_condition(c, f"{where}.{key}[{i}]", allow_value=allow_value) for i, c in enumerate(parts_spec)]
        tests = tuple(p.test for p in parts)
        if key == "all":

            def all_test(v: Any, rec: Any, ctx: Any) -> bool:
                return all(t(v, rec, ctx) for t in tests)

            def all_explain(v: Any, rec: Any, ctx: Any) -> str:
                failed = [p.explain(v, rec, ctx) for p in parts if not p.test(v, rec, ctx)]
                return cond.reason or "; ".join(failed)

            return CompiledCondition(all_test, all_explain)

        def any_test(v: Any, rec: Any, ctx: Any) -> bool:
            return any(t(v, rec, ctx) for t in tests)

        def any_explain(v: Any, rec: Any, ctx: Any) -> str:
            return cond.reason or "none of: " + "; ".join(p.explain(v, rec, ctx) for p in parts)

        return CompiledCondition(any_test, any_explain)
    if cond.not_ is not None:
        inner = compile_condition(cond.not_, f"{where}.not", allow_value=allow_value)
        inner_test = inner.test

        def not_test(v: Any, rec: Any, ctx: Any) -> bool:
            return not inner_test(v, rec, ctx)

        return CompiledCondition(not_test, lambda _v, _rec, _ctx: cond.reason or "a 'not' condition failed")
    assert cond.op is not None
    getter: Getter | None = None
    one_key: str | None = None  # the path is one key of the current object (row filters): read it with dict.get
    if cond.path is not None:
        try:
            parsed = parse_path(cond.path)
            getter = compile_getter(parsed)
        except PathSyntaxError as exc:
            raise MappingSpecError(f"{where}.path", str(exc)) from None
        if not parsed.from_root and len(parsed.segments) == 1 and type(parsed.segments[0]) is str:
            one_key = parsed.segments[0]
    elif not allow_value:
        raise MappingSpecError(where, "a condition here needs a 'path'")
    check = _compare(cond.op, cond.value)
    label = cond.path or "value"
    shown = "" if cond.op in ("exists", "missing", "truthy", "falsy") else f" {cond.value!r}"

    if getter is None:

        def value_test(v: Any, _rec: Any, _ctx: Any) -> bool:
            return check(v)

        test: Test = value_test
    elif one_key is not None:
        get_key, one = getter, one_key

        def key_test(_v: Any, rec: Any, ctx: Any) -> bool:
            return check(rec.get(one) if type(rec) is dict else get_key(rec, ctx))

        test = key_test
    else:
        get = getter

        def path_test(_v: Any, rec: Any, ctx: Any) -> bool:
            return check(get(rec, ctx))

        test = path_test

    def explain(v: Any, rec: Any, ctx: Any) -> str:
        if cond.reason:
            return cond.reason
        try:
            got = v if getter is None else getter(rec, ctx)
        except ValueError as exc:
            got = f"<{exc}>"
        return f"{label} {cond.op}{shown} (got {got!r})"[:300]

    return CompiledCondition(test, explain)
