"""What both APIs' wire formats share: exact JSON numbers both ways, JSON bodies, OData string literals.

Each connector's own `wire.py` adds what differs (dates: Exact's `/Date(ms)/` in Amsterdam time, eAccounting's ISO
UTC; how a model becomes a body) and calls `to_json` with its encoders.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from connectors.errors import PermanentError, TransientError

__all__ = ["json_number", "odata_string", "parse_json", "to_json", "validated"]

M = TypeVar("M", bound=BaseModel)


def parse_json(response: httpx.Response, *, system: str = "") -> Any:
    """The body with exact decimals (no amount passes through a binary float); an empty body is None. A body that is
    not JSON (a proxy's error page answering 200) is a `TransientError`: nothing was understood, a retry may help."""
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        try:
            endpoint: str | None = response.request.url.path
        except RuntimeError:  # a response built without its request
            endpoint = None
        raise TransientError(
            "the API answered something that is not JSON", system=system, status=response.status_code, endpoint=endpoint
        ) from None


def validated(model: type[M], data: Any, *, system: str, endpoint: str) -> M:
    """`model` from an answer; an answer the model cannot hold is a `PermanentError` naming the field, never a
    pydantic error (callers see only the connector error tree, connectors/errors.py)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = errors[0]["msg"] if errors else "invalid"
        raise PermanentError(
            f"unexpected answer for {model.__name__}: {where or '<answer>'}: {message}",
            system=system,
            endpoint=endpoint,
        ) from None


def json_number(value: Decimal) -> int | float:
    """A Decimal as the JSON number httpx's `json=` can write: an int, or the float whose shortest text is exactly
    the decimal (true for every amount of up to 15 significant digits). Anything else is refused, not rounded."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    if value == value.to_integral_value() and int(value.as_tuple().exponent) >= 0:
        return int(value)
    as_float = float(value)
    if not math.isfinite(as_float) or Decimal(repr(as_float)) != value:
        raise ValueError(f"{value} cannot be sent as a JSON number without rounding")
    return as_float


def to_json(
    value: Any,
    *,
    encode_date: Callable[[datetime | date], Any],
    encode_model: Callable[[BaseModel], Any],
    system: str,
) -> Any:
    """A JSON-able copy of `value`: exact numbers, dates and models as the API wants them, containers walked."""

    def walk(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return encode_model(v)
        if isinstance(v, Mapping):
            return {str(k): walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        if isinstance(v, bool) or v is None or isinstance(v, int | str):
            return v
        if isinstance(v, Decimal):
            return json_number(v)
        if isinstance(v, float):
            return json_number(Decimal(repr(v)))
        if isinstance(v, datetime | date):
            return encode_date(v)
        if isinstance(v, uuid.UUID):
            return str(v)
        if isinstance(v, Enum):
            return walk(v.value)
        raise TypeError(f"cannot send {type(v).__name__} to {system}")

    return walk(value)


def odata_string(value: str) -> str:
    """A quoted OData string literal; a quote is doubled (`'O''Brien'`)."""
    return "'" + str(value).replace("'", "''") + "'"
