"""Value coercions shared by transforms and conditions: JSON numbers to `Decimal`, booleans, table keys, JSON output.

JSON floats are converted through `repr`, the shortest string that round-trips, so ``19.99`` becomes
``Decimal('19.99')`` and never ``Decimal('19.989999999999998...')``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mapping.errors import TransformFailed

_TRUE = frozenset({"true", "1", "yes", "y", "on", "ja", "j"})
_FALSE = frozenset({"false", "0", "no", "n", "off", "nee", ""})


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def to_decimal(value: Any) -> Decimal:
    """A finite `Decimal` from a JSON number or numeric text; anything else raises `TransformFailed`."""
    kind = type(value)
    if kind is Decimal:
        result: Decimal = value
    elif kind is int:
        return Decimal(value)
    elif kind is float:
        result = Decimal(repr(value))
    elif kind is str:
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise TransformFailed(f"not a number: {value[:40]!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(int(value))
    else:
        raise TransformFailed(f"expected a number, got {type_name(value)}")
    if not result.is_finite():
        raise TransformFailed(f"not a finite number: {value!r}")
    return result


def to_bool(value: Any) -> bool:
    if value is True or value is False:
        return bool(value)
    if isinstance(value, int | Decimal | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise TransformFailed(f"not a boolean: {value!r}"[:80])


def to_text(value: Any) -> str:
    """Text for a scalar: booleans as JSON spells them, numbers without float noise, dates in ISO 8601."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return str(to_decimal(value))
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TransformFailed(f"expected text, got {type_name(value)}")


def table_key(value: Any) -> str:
    """The string key a JSON table (value map, lookup) is indexed by: ``1`` and ``"1"`` both find ``"1"``."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float | Decimal):
        dec = to_decimal(value)
        return str(dec.to_integral_value()) if dec == dec.to_integral_value() else str(dec)
    if isinstance(value, int):
        return str(value)
    raise TransformFailed(f"cannot use {type_name(value)} as a table key")


def normalised(value: Any) -> Any:
    """A comparable form: numbers (not booleans) become `Decimal`, so ``1``, ``1.0`` and ``"1"`` stay distinct
    by type but ``1`` and ``1.0`` compare equal."""
    if isinstance(value, bool) or value is None:
        return ("bool", value) if value is not None else None
    if isinstance(value, int | float | Decimal):
        try:
            return to_decimal(value)
        except TransformFailed:
            return value
    return value


def jsonable(value: Any) -> Any:
    """`value` with Decimals as strings (exact) and dates as ISO 8601: safe for `json.dumps` and dry-run output."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value
