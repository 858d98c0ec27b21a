"""The console's formatting helpers: times, spans, money and counts as a person reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.format import as_datetime, clock, count, money, relative, span

NOW = datetime(2026, 12, 9, 12, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=3), "just now"),
        (timedelta(seconds=-9), "just now"),
        (timedelta(seconds=40), "in 40 s"),
        (timedelta(minutes=7, seconds=30), "in 7 min"),
        (timedelta(minutes=-59), "59 min ago"),
        (timedelta(hours=-1, minutes=-5), "1 hour ago"),
        (timedelta(hours=30), "in 30 hours"),
        (timedelta(days=-3, hours=-2), "3 days ago"),
        (timedelta(days=27), "in 27 days"),
    ],
)
def test_relative_says_direction_and_largest_whole_unit(delta: timedelta, expected: str) -> None:
    assert relative(NOW + delta, NOW) == expected


def test_relative_accepts_epoch_seconds_and_iso_strings_and_says_never_for_none() -> None:
    assert relative((NOW - timedelta(days=3)).timestamp(), NOW) == "3 days ago"
    assert relative("2026-12-09T12:38:00Z", NOW) == "7 min ago"
    assert relative("2026-12-09T12:38:00", NOW) == "7 min ago"  # naive means UTC
    assert relative(None, NOW) == "never"


def test_clock_shows_day_month_time_and_the_year_only_when_it_differs() -> None:
    assert clock(datetime(2026, 12, 6, 12, 45, tzinfo=UTC), NOW) == "6 Dec 12:45"
    assert clock(datetime(2025, 1, 31, 8, 5, tzinfo=UTC), NOW) == "31 Jan 2025 08:05"
    assert clock(None, NOW) == ""


def test_clock_shows_the_time_in_the_given_zone() -> None:
    amsterdam_winter = timezone(timedelta(hours=1))
    assert clock(datetime(2026, 12, 6, 23, 30, tzinfo=UTC), NOW, amsterdam_winter) == "7 Dec 00:30"


def test_span_has_no_direction() -> None:
    assert span(-90) == "1 min"
    assert span(27 * 86400 + 5) == "27 days"
    assert span(3600) == "1 hour"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1234.5"), "EUR", "€ 1,234.50"),
        ("0.005", "EUR", "€ 0.01"),  # half up, never float
        (Decimal("-5"), "EUR", "−€ 5.00"),
        (99, "SEK", "SEK 99.00"),
        ("12.345", None, "12.35"),
        (None, "EUR", ""),
        ("n/a", "EUR", "n/a"),
    ],
)
def test_money(amount: object, currency: str | None, expected: str) -> None:
    assert money(amount, currency) == expected  # type: ignore[arg-type]


def test_count_pluralises() -> None:
    assert count(1, "record") == "1 record"
    assert count(1200, "record") == "1,200 records"
    assert count(2, "entry", "entries") == "2 entries"


def test_as_datetime_refuses_garbage_without_raising() -> None:
    assert as_datetime("not a time") is None
    assert as_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
