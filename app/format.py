"""How the console says times, durations, money and counts: small pure functions, tested alone (tests/console).

Templates format, they do not decide: every page passes `now` explicitly (one clock per request), so a page
never mixes two "now"s and a test can pin the time.

- `relative(when, now)`: "just now", "in 7 min", "3 days ago" (rounded down: "unused for 3 days" means at least 3).
- `clock(when, now)`: "6 Dec 12:45"; the year appears only when it is not `now`'s year.
- `span(seconds)`: "7 min", "3 days" (a length of time, no direction).
- `money(amount, currency)`: "€ 1,234.50", "SEK 99.00", "−€ 5.00" (two decimals, half up, never float).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["as_datetime", "clock", "count", "money", "relative", "span"]

_MINUTE = 60
_HOUR = 3600
_DAY = 86400
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def as_datetime(value: datetime | float | int | str | None) -> datetime | None:
    """A timezone-aware datetime from a datetime, epoch seconds or an ISO string (naive means UTC); None stays."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def span(seconds: float) -> str:
    """A length of time in the largest whole unit that fits: "45 s", "7 min", "5 hours", "3 days"."""
    s = abs(int(seconds))
    if s < _MINUTE:
        return f"{s} s"
    if s < _HOUR:
        return f"{s // _MINUTE} min"
    if s < 2 * _DAY:
        hours = s // _HOUR
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{s // _DAY} days"


def relative(when: datetime | float | str | None, now: datetime) -> str:
    """`when` seen from `now`: "just now" within 10 s, else "in 7 min" or "3 days ago"; "never" for None."""
    moment = as_datetime(when)
    if moment is None:
        return "never"
    delta = (moment - now).total_seconds()
    if abs(delta) < 10:
        return "just now"
    return f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago"


def clock(when: datetime | float | str | None, now: datetime, tz: tzinfo | None = None) -> str:
    """ "6 Dec 12:45" in `tz` (default: `now`'s zone); "6 Dec 2025 12:45" outside `now`'s year; "" for None."""
    moment = as_datetime(when)
    if moment is None:
        return ""
    zone = tz if tz is not None else now.tzinfo
    local = moment.astimezone(zone)
    year = f" {local.year}" if local.year != now.astimezone(zone).year else ""
    return f"{local.day} {_MONTHS[local.month - 1]}{year} {local:%H:%M}"


def money(amount: Decimal | float | int | str | None, currency: str | None = None) -> str:
    """An amount with its currency, two decimals rounded half up, thousands separated: "€ 1,234.50"."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(amount)
    code = (currency or "").upper()
    unit = _SYMBOLS.get(code, code)
    sign = "−" if value < 0 else ""
    digits = f"{abs(value):,.2f}"
    return f"{sign}{unit} {digits}" if unit else f"{sign}{digits}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 record", "3 records" (plural defaults to singular + s), with thousands separated."""
    word = singular if n == 1 else (plural if plural is not None else singular + "s")
    return f"{n:,} {word}"
