"""How values look on the eAccounting wire: timestamps, dates, exact decimals, OData literals, request bodies.

- UTC timestamps (`ModifiedUtc`, `ChangedUtc`, `ServerTimeUtc`, ...) arrive as `2026-03-02T10:00:00.000Z`, with a
  varying number of fractional digits and sometimes without an offset; they are UTC either way, so a naive value is
  read as UTC and every `UtcDatetime` is timezone-aware.
- Date fields ("Format: YYYY-MM-DD": `OrderDate`, `ShippedDateTime`, `VoucherDate`, ...) come back as
  `2026-03-02T00:00:00`; they are plain `datetime.date`s here. Every description types them `format: date-time`,
  which a bare `2026-03-02` does not satisfy, so they are sent as `2026-03-02T00:00:00` (both readings accept it,
  eaccounting-facts.md). `body_of` also completes a bare date a mapping produced as text, for the properties the
  2020 description types date-time (`DATE_TIME_FIELDS`).
- Amounts are JSON numbers. Responses are parsed with `parse_float=Decimal`, so no amount ever passes through a
  binary float on the way in. On the way out the body goes through `httpx`'s `json=`, which cannot encode a
  `Decimal`; `to_wire` turns each one into the float whose shortest representation is exactly the decimal (true for
  every amount with at most 15 significant digits) and refuses the rest instead of rounding silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, PlainSerializer

from connectors.wire import odata_string, parse_json, to_json

__all__ = [
    "DATE_TIME_FIELDS",
    "ApiDate",
    "Payload",
    "UtcDatetime",
    "body_of",
    "odata_datetime",
    "odata_string",
    "parse_json",
    "to_wire",
]


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(_trim_fraction(text))
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _trim_fraction(text: str) -> str:
    """.NET writes up to 7 fractional digits; Python 3.11's `fromisoformat` takes at most 6."""
    if "." not in text:
        return text
    head, _, tail = text.partition(".")
    digits = len(tail) - len(tail.lstrip("0123456789"))
    return f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return date.fromisoformat(value[:10])
    return value


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


UtcDatetime = Annotated[datetime, BeforeValidator(_utc), PlainSerializer(_iso_utc, when_used="json")]
"""An aware UTC timestamp; naive wire values are UTC."""

ApiDate = Annotated[date, BeforeValidator(_date)]
"""A date-only field; the API's `T00:00:00` suffix is dropped."""

Payload = Mapping[str, Any] | BaseModel
"""A request body: wire-named mapping (what the mapping engine produces) or one of our models."""


# Every property the 2020 description types `format: date-time` (tests/connectors_eaccounting/test_models.py
# checks this list against the description).
DATE_TIME_FIELDS = frozenset(
    {
        "AccountingLockedTo", "ApprovedDate", "AutoInvoiceActivationEmailSentDate",
        "AutoInvoiceRegistrationRequestSentDate", "BookkeepingDate", "BookkeepingStartDate", "ChangedUtc",
        "CreatedUtc", "DeliveryDate", "DueDate", "EndDate", "FreightCostsManuallyChangedUtc", "ImageDate",
        "InvoiceDate", "LastInvoiceDate", "ModifiedUtc", "OrderDate", "PaymentDate",
        "PurchasePriceManuallyChangedUtc", "QuoteDate", "RegrettedDate", "ServerTimeUtc", "ShippedDateTime",
        "StartDate", "StockBalanceManuallyChangedUtc", "TransactionDate", "VoucherDate",
    }
)  # fmt: skip
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _encode_date(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return _iso_utc(value) if value.tzinfo is not None else value.isoformat()
    return f"{value.isoformat()}T00:00:00"


def _complete_dates(value: Any) -> Any:
    """`2026-03-02` -> `2026-03-02T00:00:00` for date-time properties, at any depth (order rows, voucher rows)."""
    if isinstance(value, dict):
        return {
            k: f"{v}T00:00:00" if k in DATE_TIME_FIELDS and isinstance(v, str) and _BARE_DATE.match(v)
            else _complete_dates(v)
            for k, v in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        return [_complete_dates(v) for v in value]
    return value


def to_wire(value: Any) -> Any:
    """A JSON-able copy of `value` for `httpx`'s `json=`: Decimals as exact numbers, dates as ISO text."""
    return to_json(
        value,
        encode_date=_encode_date,
        encode_model=lambda m: to_wire(m.model_dump(by_alias=True, exclude_none=True)),
        system="eAccounting",
    )


def body_of(payload: Payload) -> dict[str, Any]:
    """The JSON object to send for `payload` (models by wire alias, nulls left out: PUT nulls them anyway)."""
    wire = _complete_dates(to_wire(payload))
    if not isinstance(wire, dict):
        raise TypeError("an eAccounting request body is a JSON object")
    return {k: v for k, v in wire.items() if v is not None}


def odata_datetime(moment: datetime) -> str:
    """An OData datetime literal: unquoted, UTC, `2026-03-02T10:00:00.000Z` (a quoted one is a 400)."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required for an eAccounting filter")
    return _iso_utc(moment)
