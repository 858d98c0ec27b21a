"""Date and time transforms: ISO 8601 and Exact's ``/Date(ms)/`` in, any format out, time-zone conversion.

Exact writes Dutch wall-clock time into ``/Date(ms)/`` (reference §4.5): ``/Date(1640995200000)/`` is 2022-01-01
00:00 in Amsterdam, not UTC. So the ``exact`` format reads and writes it in ``exact_tz`` (Europe/Amsterdam).
Parsed date-times are always time-zone aware; naive input is taken to be in ``tz`` (UTC unless set).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from mapping.errors import TransformFailed
from mapping.registry import DATE, DATETIME, TEXT, Builder, Params, TransformFn, transform
from mapping.values import type_name

_EXACT = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - Exact's epoch is wall-clock time, made aware below
_DATEISH = frozenset({TEXT, DATE, DATETIME})


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


class _TzParams(Params):
    @field_validator("tz", "exact_tz", check_fields=False)
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            _zone(value)
        return value


class ParseParams(_TzParams):
    format: str = Field("auto", description="auto (ISO 8601 or /Date(ms)/), iso, exact, or a strptime pattern")
    tz: str = Field("UTC", description="Zone of values that carry none")
    exact_tz: str = Field("Europe/Amsterdam", description="Zone of Exact's /Date(ms)/ wall-clock values")


def make_parser(p: ParseParams) -> Any:
    """A function turning text, a date or a date-time into an aware `datetime` per `p`."""
    tz, exact_tz, fmt = _zone(p.tz), _zone(p.exact_tz), p.format

    def parse(v: Any) -> datetime:
        if isinstance(v, datetime):
            return v if v.tzinfo is not None else v.replace(tzinfo=tz)
        if isinstance(v, date):
            return datetime(v.year, v.month, v.day, tzinfo=tz)
        if not isinstance(v, str):
            raise TransformFailed(f"expected a date, got {type_name(v)}")
        text = v.strip()
        try:
            if fmt in ("auto", "exact") and (m := _EXACT.match(text)):
                wall = _EPOCH + timedelta(milliseconds=int(m.group(1)))
                return wall.replace(tzinfo=exact_tz)
            if fmt == "exact":
                raise ValueError("not /Date(ms)/")
            iso = fmt in ("auto", "iso")
            parsed = datetime.fromisoformat(text) if iso else datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware below
        except (ValueError, OverflowError):
            raise TransformFailed(f"not a date in format {fmt!r}: {text[:40]!r}") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)

    return parse


@transform("parse_datetime", params=ParseParams, primary="format", accepts=_DATEISH, returns=DATETIME, keeps_null=True)
def _parse_datetime(p: ParseParams, _b: Builder, _where: str) -> TransformFn:
    """A time-zone aware date-time from ISO 8601, Exact's /Date(ms)/ or a strptime pattern."""
    parse = make_parser(p)

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else parse(v)

    return fn


class ParseDateParams(ParseParams):
    to_tz: str | None = Field(None, description="Take the calendar date in this zone (e.g. Europe/Amsterdam)")

    @field_validator("to_tz")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None:
            _zone(value)
        return value


@transform("parse_date", params=ParseDateParams, primary="format", accepts=_DATEISH, returns=DATE, keeps_null=True)
def _parse_date(p: ParseDateParams, _b: Builder, _where: str) -> TransformFn:
    """A calendar date (of the value's own zone, or of `to_tz`)."""
    parse = make_parser(p)
    to_tz = _zone(p.to_tz) if p.to_tz else None

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return None
        if type(v) is date:
            return v
        moment = parse(v)
        return (moment.astimezone(to_tz) if to_tz else moment).date()

    return fn


class FormatParams(_TzParams):
    format: str = Field(
        "iso", description="iso (date-time), date (YYYY-MM-DD), exact (/Date(ms)/) or a strftime pattern"
    )
    tz: str | None = Field(None, description="Convert to this zone first")
    exact_tz: str = Field("Europe/Amsterdam", description="Zone Exact's /Date(ms)/ values are written in")
    input_tz: str = Field("UTC", description="Zone of text input that carries none")

    @field_validator("input_tz")
    @classmethod
    def _known(cls, value: str) -> str:
        _zone(value)
        return value


def _formatter(p: FormatParams) -> TransformFn:
    parse = make_parser(ParseParams(tz=p.input_tz, exact_tz=p.exact_tz))
    to_tz = _zone(p.tz) if p.tz else None
    exact_tz, fmt = _zone(p.exact_tz), p.format

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return None
        if type(v) is date and to_tz is None:
            if fmt in ("iso", "date"):
                return v.isoformat()
            if fmt != "exact":
                return v.strftime(fmt)
        moment = parse(v)
        if to_tz is not None:
            moment = moment.astimezone(to_tz)
        if fmt == "iso":
            return moment.isoformat()
        if fmt == "date":
            return moment.date().isoformat()
        if fmt == "exact":
            wall = moment.astimezone(exact_tz).replace(tzinfo=None)
            return f"/Date({(wall - _EPOCH) // timedelta(milliseconds=1)})/"
        try:
            return moment.strftime(fmt)
        except ValueError as exc:
            raise TransformFailed(f"cannot format with {fmt!r}: {exc}") from None

    return fn


@transform("format_datetime", params=FormatParams, primary="format", accepts=_DATEISH, returns=TEXT, keeps_null=True)
def _format_datetime(p: FormatParams, _b: Builder, _where: str) -> TransformFn:
    """Write a date-time (or date-like text, parsed as by `parse_datetime`) as text."""
    return _formatter(p)


class FormatDateParams(FormatParams):
    format: str = Field("date", description="date (YYYY-MM-DD), iso, exact or a strftime pattern")


@transform("format_date", params=FormatDateParams, primary="format", accepts=_DATEISH, returns=TEXT, keeps_null=True)
def _format_date(p: FormatDateParams, _b: Builder, _where: str) -> TransformFn:
    """Like `format_datetime` with YYYY-MM-DD as the default format."""
    return _formatter(p)


class ZoneParams(_TzParams):
    tz: str = Field(..., description="IANA zone, e.g. Europe/Amsterdam")


@transform("to_timezone", params=ZoneParams, primary="tz", accepts=_DATEISH, returns=DATETIME, keeps_null=True)
def _to_timezone(p: ZoneParams, _b: Builder, _where: str) -> TransformFn:
    """The same instant in zone `tz` (naive input is taken as UTC)."""
    parse = make_parser(ParseParams())
    zone = _zone(p.tz)

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else parse(v).astimezone(zone)

    return fn
