"""The wire format: JSON text with exact decimals, `/Date(ms)/` dates, and request-value coercion.

Exact serialises dates as `/Date(ms)/` holding **Amsterdam wall-clock time** read as if it were UTC
(reference §4.5), and .NET escapes the slashes (`\\/Date(…)\\/`). We write exactly that, so a client that
parses the text naively or re-serialises a webhook body notices. Numbers are written from `Decimal` text,
never through float.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "AMSTERDAM",
    "FieldError",
    "coerce",
    "dumps",
    "from_wire_date",
    "parse_guid",
    "parse_local_datetime",
    "to_wire_date",
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class FieldError(ValueError):
    """A request value that does not fit its property; the message names the property."""


def to_wire_date(value: datetime) -> str:
    """Aware datetime → `/Date(ms)/` of its Amsterdam wall-clock time (Exact's quirk)."""
    local = value.astimezone(AMSTERDAM).replace(tzinfo=UTC)
    return f"/Date({int(local.timestamp() * 1000)})/"


def from_wire_date(ms: int) -> datetime:
    """`/Date(ms)/` milliseconds (Amsterdam wall clock) → aware UTC datetime."""
    wall = datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=AMSTERDAM)
    return wall.astimezone(UTC)


def parse_local_datetime(text: str) -> datetime:
    """A `datetime'…'` filter literal or body string: naive values are Amsterdam local time."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=AMSTERDAM)
    return parsed.astimezone(UTC)


def parse_guid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"invalid GUID {text!r}") from exc


def _dec(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("non-finite decimal")
    text = format(value, "f")
    return text


def _str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def dumps(value: Any) -> str:
    """Serialise a response value; `Decimal` stays exact and datetimes become `\\/Date(ms)\\/`."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_str(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(_dec(value))
    elif isinstance(value, datetime):
        out.append('"' + to_wire_date(value).replace("/", "\\/") + '"')
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_str(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in simulator state; use Decimal")
    else:
        raise TypeError(f"cannot serialise {type(value).__name__}")


def coerce(kind: str, name: str, value: Any) -> Any:
    """Request value → stored value for a property of `kind`; raises `FieldError` naming `name`."""
    if value is None:
        return None
    if kind == "str":
        if not isinstance(value, str):
            raise FieldError(f"{name}: expected a string")
        return value
    if kind == "guid":
        if not isinstance(value, str):
            raise FieldError(f"{name}: expected a GUID string")
        try:
            return parse_guid(value)
        except ValueError:
            raise FieldError(f"{name}: '{value}' is not a valid Edm.Guid") from None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError(f"{name}: expected an integer (Edm.Int32)")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise FieldError(f"{name}: expected true or false (Edm.Boolean)")
        return value
    if kind == "decimal":
        if isinstance(value, bool):
            raise FieldError(f"{name}: expected a number (Edm.Double)")
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if isinstance(value, str):
            try:
                parsed = Decimal(value)
            except InvalidOperation:
                raise FieldError(f"{name}: '{value}' is not a number") from None
            if parsed.is_finite():
                return parsed
        raise FieldError(f"{name}: expected a number (Edm.Double)")
    if kind == "datetime":
        if not isinstance(value, str):
            raise FieldError(f"{name}: expected a date string")
        match = _DATE_RE.match(value)
        if match:
            return from_wire_date(int(match.group(1)))
        try:
            return parse_local_datetime(value)
        except ValueError:
            raise FieldError(f"{name}: '{value}' is not a valid Edm.DateTime") from None
    raise FieldError(f"{name}: unsupported type {kind}")
