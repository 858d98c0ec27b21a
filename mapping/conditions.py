"""Conditions (filters, `when`, `choose`, extra items) compiled into predicates ``test(value, record, ctx)``.

Comparisons never raise and are typed by the operand: a number operand compares numbers, reading numeric text on
the record's side too, so ``RemainingAmount eq 0`` matches ``0``, ``0.0`` and ``"0"`` alike (APIs send numbers as
text now and then); ``gt``/``ge``/``lt``/``le`` likewise (``"6.95" > 0``). A text operand compares text, except that
numeric text meets a number numerically (``{"op": "eq", "value": "0"}`` matches ``0``); non-numeric mixes
(``"abc" eq 10``, ``"abc" > 10``) are false; ``in``/``not_in`` apply the same rule per member. A missing value fails
every comparison except ``ne``/``not_in``/``missing``/``falsy``.
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


def _numeric(value: Any) -> Any:
    """`value` as the comparable form, numeric text read as a number (for comparisons with a number)."""
    n = normalised(value)
    if type(n) is str:
        try:
            return to_decimal(n)
        except TransformFailed:
            return n
    return n


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


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
        numbers = {m for m in members if type(m) is Decimal}
        numeric_text = {d for d in (_numeric(m) for m in members if type(m) is str) if type(d) is Decimal}
        inside = op == "in"

        def member(v: Any) -> bool:
            n = normalised(v)
            try:
                found = n in hashable if isinstance(n, str | Decimal | tuple) else n in members
            except TypeError:
                found = False
            if not found and type(n) is str and numbers:
                found = _numeric(n) in numbers
            elif not found and type(n) is Decimal and numeric_text:
                found = n in numeric_text
            return found is inside

        return member
    if op in ("eq", "ne") and (isinstance(operand, bool) or operand is None):
        # Identity is exact for true/false/null and skips normalising on the hot path (row filters).
        if op == "eq":
            return lambda v: v is operand
        return lambda v: v is not operand
    if op in ("eq", "ne") and isinstance(operand, str):
        as_number = _numeric(operand)

        def text_equal(v: Any) -> bool:
            if type(v) is str:
                return v == operand
            return type(as_number) is Decimal and _is_number(v) and normalised(v) == as_number

        if op == "eq":
            return text_equal
        return lambda v: not text_equal(v)
    ref = normalised(operand)
    if op in ("eq", "ne") and type(ref) is Decimal:
        if op == "eq":
            return lambda v: _numeric(v) == ref
        return lambda v: _numeric(v) != ref
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
