"""How values look on the Exact Online wire: `/Date(ms)/`, exact decimals, bodies, OData literals, envelopes.

- **Dates.** Responses carry `"\\/Date(1640995200000)\\/"`, milliseconds of the **Amsterdam wall-clock time** read as
  if it were UTC (docs/exact-online-api.md §4.5, §11.14): `/Date(1640995200000)/` is 2022-01-01 00:00 in Amsterdam,
  i.e. 2021-12-31T23:00Z. `exact_datetime` is the one place that turns that into an aware UTC `datetime`, and
  `to_exact_date` the one place that writes it back. `datetime'…'` filter literals are Amsterdam local time too.
- **Numbers.** Bodies are parsed with `parse_float=Decimal`, so no amount passes through a binary float on the way
  in. `ApiClient` sends bodies through httpx's `json=`, which cannot write a `Decimal`; `to_wire` turns each one into
  the float whose shortest text is exactly the decimal and refuses (raises) the rest instead of rounding silently.
  Exact's amount properties are `Edm.Double` anyway, so nothing more precise could be stored.
- **Envelopes** (§4.2): collections are `{"d": {"results": [...], "__next": "..."}}`, `$top` queries and function
  endpoints answer `{"d": [...]}`, a single entity (GET by key, POST) is `{"d": {...}}`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, PlainSerializer

from connectors.errors import PermanentError
from connectors.wire import odata_string, parse_json, to_json

__all__ = [
    "ACCOUNT_CODE_LENGTH",
    "AMSTERDAM",
    "AccountCode",
    "ExactDateTime",
    "Payload",
    "body_of",
    "exact_datetime",
    "odata_datetime",
    "odata_guid",
    "odata_int64",
    "odata_string",
    "pad_account_code",
    "parse_json",
    "to_exact_date",
    "to_wire",
    "unwrap_list",
    "unwrap_one",
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ACCOUNT_CODE_LENGTH = 18
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# `/Date(ms)/`; .NET may append an offset (`/Date(ms+0100)/`), in which case `ms` is true UTC.
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# Wire names a model never sends back: OData's own member and Exact's audit fields (set by Exact).
_NEVER_SENT = frozenset({"__metadata", "Created", "Creator", "Modified", "Modifier", "Division", "Timestamp"})

Payload = Mapping[str, Any] | BaseModel
"""A request body: a wire-named mapping (what the datamapper produces) or one of our models."""


# --- dates ---------------------------------------------------------------------------------------------------


def _wall_clock(ms: int) -> datetime:
    """`/Date(ms)/` milliseconds read as an Amsterdam wall-clock time, as an aware UTC datetime.

    In the autumn hour that happens twice the first (summer-time) occurrence is taken (`fold=0`); a spring time
    that does not exist is read with the offset before the change. Exact gives no way to tell them apart.
    """
    wall = (_EPOCH + ms * _MS).replace(tzinfo=AMSTERDAM)
    return wall.astimezone(UTC)


def exact_datetime(value: Any) -> Any:
    """Validator: `/Date(ms)/`, an ISO string or a datetime to an aware UTC datetime; naive means Amsterdam time."""
    if isinstance(value, str):
        text = value.strip()
        match = _DATE_RE.match(text)
        if match is not None:
            ms = int(match.group(1))
            return (_EPOCH + ms * _MS) if match.group(2) else _wall_clock(ms)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=AMSTERDAM)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=AMSTERDAM).astimezone(UTC)
    return value


def to_exact_date(value: datetime | date) -> str:
    """`/Date(ms)/` of the Amsterdam wall-clock time of `value` (a date is its midnight; naive means Amsterdam).

    Request bodies use the format Exact itself writes: the reference only reports ISO strings as "commonly used by
    clients (not verified)" (§4.5 (?)), while `/Date()/` is what every Exact answer round-trips.
    """
    if isinstance(value, datetime):
        local = value.replace(tzinfo=AMSTERDAM) if value.tzinfo is None else value.astimezone(AMSTERDAM)
    else:
        local = datetime(value.year, value.month, value.day, tzinfo=AMSTERDAM)
    ms = (local.replace(tzinfo=UTC) - _EPOCH) // _MS
    return f"/Date({ms})/"


def _serialize_datetime(value: datetime) -> str:
    return to_exact_date(value)


ExactDateTime = Annotated[
    datetime, BeforeValidator(exact_datetime), PlainSerializer(_serialize_datetime, when_used="json")
]
"""An aware UTC datetime read from (and written as) Exact's Amsterdam-time `/Date(ms)/`."""


# --- account codes -------------------------------------------------------------------------------------------


def pad_account_code(code: str) -> str:
    """`Account.Code` as Exact stores it: right-aligned in 18 characters with leading spaces (§4.4, §11.13).

    A filter on the unpadded code silently finds nothing, because leading spaces are significant in comparisons.
    """
    text = str(code).strip()
    if not text or len(text) > ACCOUNT_CODE_LENGTH:
        raise ValueError(f"an Exact account code has 1 to {ACCOUNT_CODE_LENGTH} characters, not {len(text)}")
    return text.rjust(ACCOUNT_CODE_LENGTH)


def _strip_code(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


AccountCode = Annotated[str, BeforeValidator(_strip_code)]
"""An account code without Exact's padding (`"      4711"` reads as `"4711"`; requests pad it again)."""


# --- request bodies ------------------------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """A JSON-able copy of `value` for httpx's `json=`: exact numbers, `/Date()/` dates, models by wire name."""
    return to_json(value, encode_date=to_exact_date, encode_model=_model_body, system="Exact Online")


def _model_body(model: BaseModel) -> dict[str, Any]:
    """A model as a body: the fields that are set and not None, by wire name; audit fields and deferred line
    collections (`{"__deferred": ...}`) left out, unknown members (`extra`) kept."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        if name not in model.model_fields_set:
            continue
        value = getattr(model, name)
        wire = info.alias or name
        if value is None or wire in _NEVER_SENT:
            continue
        out[wire] = to_wire(value)
    for wire, value in (model.model_extra or {}).items():
        if value is None or wire in _NEVER_SENT or (isinstance(value, Mapping) and "__deferred" in value):
            continue
        out[wire] = to_wire(value)
    return out


def body_of(payload: Payload) -> dict[str, Any]:
    """The JSON object to send for `payload`. A mapping goes as given (a None there is a deliberate "clear this"
    on a PUT, which only sends the properties to change); a model goes as `_model_body` describes."""
    wire = to_wire(payload)
    if not isinstance(wire, dict):
        raise TypeError("an Exact Online request body is a JSON object")
    return wire


# --- responses -----------------------------------------------------------------------------------------------


def unwrap_list(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Rows and the `__next` link (None on the last page) of any of Exact's three envelope shapes."""
    if not isinstance(body, Mapping) or "d" not in body:
        raise PermanentError("not an OData answer: no 'd' member", system="exact")
    d = body["d"]
    if isinstance(d, list):
        return [row for row in d if isinstance(row, dict)], None
    if isinstance(d, Mapping) and isinstance(d.get("results"), list):
        link = d.get("__next")
        return [row for row in d["results"] if isinstance(row, dict)], str(link) if link else None
    if isinstance(d, Mapping):
        return [dict(d)], None
    raise PermanentError("not an OData answer: 'd' is neither an object nor an array", system="exact")


def unwrap_one(body: Any) -> dict[str, Any] | None:
    """The single entity of an answer (the first row of a collection), or None when there is none."""
    rows, _ = unwrap_list(body)
    return rows[0] if rows else None


# --- OData literals ------------------------------------------------------------------------------------------


def odata_guid(value: str | uuid.UUID) -> str:
    """`guid'…'` of a valid GUID (lower case, as Exact writes them); anything else is a ValueError, not a 400."""
    return f"guid'{uuid.UUID(str(value))}'"


def odata_int64(value: int) -> str:
    """An `Edm.Int64` literal: `123L` (Timestamp filters, §4.4)."""
    if isinstance(value, bool) or int(value) != value:
        raise ValueError(f"not an integer: {value!r}")
    return f"{int(value)}L"


def odata_datetime(moment: datetime | date) -> str:
    """`datetime'2024-05-01T12:00:00'` in Amsterdam local time, always with a time part (a date-only literal is
    reported as unreliable (?), so the stricter form is used). A naive datetime is refused: it is ambiguous."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("an aware datetime is required for an Exact filter")
        local = moment.astimezone(AMSTERDAM)
    else:
        local = datetime(moment.year, moment.month, moment.day, tzinfo=AMSTERDAM)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond // 1000:03d}"
    return f"datetime'{text}'"
