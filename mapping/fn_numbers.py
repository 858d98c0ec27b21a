"""Number transforms over `Decimal`: conversion, rounding (half-up by default: money must be right to the cent),
arithmetic with a constant or another source path, VAT conversions, integers and booleans."""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any, Literal

from pydantic import Field, model_validator

from mapping.errors import TransformFailed
from mapping.paths import Getter
from mapping.registry import BOOLEAN, DECIMAL, INTEGER, TEXT, Builder, Params, TransformFn, transform
from mapping.values import to_bool, to_decimal

_NUMBERISH = frozenset({DECIMAL, INTEGER, TEXT})
ROUNDING = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}
Rounding = Literal["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"]
_ONE = Decimal(1)
_HUNDRED = Decimal(100)


@transform("to_decimal", accepts=_NUMBERISH, returns=DECIMAL, keeps_null=True)
def _to_decimal(_p: None, _b: Builder, _where: str) -> TransformFn:
    """A decimal from a number or numeric text ("12.50"); JSON floats keep the digits they were written with."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        kind = type(v)
        if kind is Decimal:
            return v if v.is_finite() else to_decimal(v)
        if kind is str:  # decimal text, how the connectors' models dump amounts: skip the dispatch
            try:
                d = Decimal(v)
            except InvalidOperation:
                return to_decimal(v)  # raises the named error
            return d if d.is_finite() else to_decimal(v)
        if kind is float and v - v == 0:  # finite float, the usual raw JSON number
            return Decimal(repr(v))
        return None if v is None else to_decimal(v)

    return fn


class RoundParams(Params):
    places: int = Field(2, ge=0, le=12, description="Digits after the decimal point")
    mode: Rounding = Field("half_up", description="Rounding rule; half_up is the commercial rule")


@transform("round", params=RoundParams, primary="places", accepts=_NUMBERISH, returns=DECIMAL, keeps_null=True)
def _round(p: RoundParams, _b: Builder, _where: str) -> TransformFn:
    """Round to `places` decimals (half up unless `mode` says otherwise); the result has exactly that many."""
    exponent = Decimal(1).scaleb(-p.places)
    rounding = ROUNDING[p.mode]

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return None
        try:
            return (v if type(v) is Decimal else to_decimal(v)).quantize(exponent, rounding=rounding)
        except InvalidOperation:
            raise TransformFailed(f"cannot round {v!r} to {p.places} places") from None

    return fn


class Operand(Params):
    value: Decimal | None = Field(None, description="A constant operand")
    path: str | None = Field(None, description="A source path giving the operand")
    default: Decimal | None = Field(None, description="Operand when the path's value is null")

    @model_validator(mode="after")
    def _one(self) -> Operand:
        if (self.value is None) == (self.path is None):
            raise ValueError("give exactly one of 'value' or 'path'")
        return self


def _operand(p: Operand, b: Builder, where: str, name: str) -> Callable[[Any, Any], Decimal]:
    if p.value is not None:
        constant = p.value
        return lambda _rec, _ctx: constant
    assert p.path is not None
    get: Getter = b.getter(p.path, f"{where}.{name}.path")
    path, default = p.path, p.default

    def read(rec: Any, ctx: Any) -> Decimal:
        got = get(rec, ctx)
        if got is None:
            if default is None:
                raise TransformFailed(f"{name}: operand {path!r} is missing")
            return default
        return to_decimal(got)

    return read


def _numeric_op(
    name: str,
    params: type[Params],
    primary: str,
    reader: Callable[[Any, Builder, str, str], Callable[[Any, Any], Decimal]],
    op: Callable[[Decimal, Decimal], Decimal],
    doc: str,
) -> None:
    """Register `name`: `op(value, operand)`, the operand read by `reader` (a constant, a field, a rate)."""

    def factory(p: Any, b: Builder, where: str) -> TransformFn:
        read = reader(p, b, where, name)

        def fn(v: Any, rec: Any, ctx: Any) -> Any:
            if v is None:
                return None
            try:
                return op(v if type(v) is Decimal else to_decimal(v), read(rec, ctx))
            except (InvalidOperation, ZeroDivisionError, ArithmeticError) as exc:
                raise TransformFailed(f"{name}: {type(exc).__name__}") from None

        return fn

    factory.__doc__ = doc
    transform(name, params=params, primary=primary, accepts=_NUMBERISH, returns=DECIMAL, keeps_null=True)(factory)


def _arith(name: str, op: Callable[[Decimal, Decimal], Decimal], doc: str) -> None:
    _numeric_op(name, Operand, "value", _operand, op, doc)


_arith("multiply", lambda a, b: a * b, "Multiply by a constant (`value`) or another field (`path`).")
_arith("divide", lambda a, b: a / b, "Divide by a constant or another field; dividing by zero fails the record.")
_arith("add", lambda a, b: a + b, "Add a constant or another field.")
_arith("subtract", lambda a, b: a - b, "Subtract a constant or another field (e.g. stock minus planned out).")


@transform("negate", accepts=_NUMBERISH, returns=DECIMAL, keeps_null=True)
def _negate(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Change the sign (credit lines, trade-ins)."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else -to_decimal(v)

    return fn


@transform("abs", accepts=_NUMBERISH, returns=DECIMAL, keeps_null=True)
def _abs(_p: None, _b: Builder, _where: str) -> TransformFn:
    """The absolute value."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else abs(to_decimal(v))

    return fn


class RateParams(Params):
    rate: Decimal | None = Field(None, description="A constant rate")
    rate_path: str | None = Field(None, description="A source path giving the rate")
    unit: Literal["percent", "fraction"] = Field(
        "percent", description="percent: 21 means 21 % (eAccounting); fraction: 0.21 (Exact)"
    )
    rate_default: Decimal | None = Field(None, description="Rate when the path's value is null (e.g. no discount: 0)")

    @model_validator(mode="after")
    def _one(self) -> RateParams:
        if (self.rate is None) == (self.rate_path is None):
            raise ValueError("give exactly one of 'rate' or 'rate_path'")
        return self


def _rate(p: RateParams, b: Builder, where: str, name: str) -> Callable[[Any, Any], Decimal]:
    scale = _HUNDRED if p.unit == "percent" else _ONE
    if p.rate is not None:
        constant = p.rate / scale
        return lambda _rec, _ctx: constant
    assert p.rate_path is not None
    get = b.getter(p.rate_path, f"{where}.{name}.rate_path")
    path, fallback = p.rate_path, p.rate_default

    def read(rec: Any, ctx: Any) -> Decimal:
        got = get(rec, ctx)
        if got is None:
            if fallback is None:
                raise TransformFailed(f"{name}: rate {path!r} is missing")
            return fallback / scale
        return to_decimal(got) / scale

    return read


def _rate_transform(name: str, op: Callable[[Decimal, Decimal], Decimal], doc: str) -> None:
    _numeric_op(name, RateParams, "rate", _rate, op, doc)


_rate_transform(
    "vat_exclusive",
    lambda gross, rate: gross / (_ONE + rate),
    "Amount excluding VAT from an amount including it: gross / (1 + rate). Not rounded: follow with `round`.",
)
_rate_transform(
    "vat_inclusive",
    lambda net, rate: net * (_ONE + rate),
    "Amount including VAT from an amount excluding it: net * (1 + rate). Not rounded: follow with `round`.",
)
_rate_transform(
    "apply_discount",
    lambda amount, rate: amount * (_ONE - rate),
    "Amount after a discount: amount * (1 - rate), e.g. a row's price after its discount percentage.",
)
_rate_transform(
    "vat_amount",
    lambda net, rate: net * rate,
    "The VAT on an amount excluding VAT: net * rate. Not rounded: follow with `round`.",
)


@transform("to_int", accepts=_NUMBERISH, returns=INTEGER, keeps_null=True)
def _to_int(_p: None, _b: Builder, _where: str) -> TransformFn:
    """A whole number; a value with a fraction fails (round it first)."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return None
        if type(v) is int:
            return v
        dec = to_decimal(v)
        if dec != dec.to_integral_value():
            raise TransformFailed(f"not a whole number: {v!r}")
        return int(dec)

    return fn


@transform("to_bool", returns=BOOLEAN, keeps_null=True)
def _to_bool(_p: None, _b: Builder, _where: str) -> TransformFn:
    """A boolean from true/false, 1/0, "yes"/"no", "ja"/"nee" (Exact sometimes sends booleans as text)."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else to_bool(v)

    return fn


@transform("not", returns=BOOLEAN, keeps_null=True)
def _not(_p: None, _b: Builder, _where: str) -> TransformFn:
    """The opposite boolean (Exact's `Blocked` is eAccounting's `IsActive` negated)."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else not to_bool(v)

    return fn
