"""The transform registry, one behaviour per test, through compiled one-field mappings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import mapping

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def apply(transforms: list[Any], value: Any, record: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    compiled = mapping.compile_mapping(
        {"version": "1", "fields": {"Out": {"source": "In", "transforms": transforms, "if_missing": "null"}}}
    )
    payload = compiled.map({**(record or {}), "In": value}, **kwargs).payload
    assert payload is not None
    return payload["Out"]


@pytest.mark.parametrize(
    ("transforms", "value", "expected"),
    [
        (["strip"], "  a b  ", "a b"),
        (["upper"], "nl", "NL"),
        (["lower"], "NL", "nl"),
        (["title"], "de gouden korst", "De Gouden Korst"),
        ([{"truncate": 3}], "abcdef", "abc"),
        ([{"replace": {"old": ".", "new": ""}}], "8123.45.678", "812345678"),
        ([{"prefix": "#"}, {"suffix": "!"}], "7", "#7!"),
        ([{"split": {"sep": ",", "index": 1}}], "a, b, c", "b"),
        ([{"split": ","}], "a,b", ["a", "b"]),
        ([{"split": {"sep": ",", "index": 5}}], "a,b", None),
        (["empty_to_null", {"default": "x"}], "  ", "x"),
        (["to_str"], 12.5, "12.5"),
        (["to_str"], True, "true"),
        (["to_int"], "42", 42),
        (["to_int"], 3.0, 3),
        (["to_bool"], "ja", True),
        (["to_bool"], 0, False),
        (["not"], "false", True),
        (["upper"], None, None),
        (["to_decimal", {"round": 2}], None, None),
    ],
)
def test_simple_transforms(transforms: list[Any], value: Any, expected: Any) -> None:
    assert apply(transforms, value) == expected


@pytest.mark.parametrize(
    ("value", "places", "mode", "expected"),
    [
        (2.675, 2, "half_up", "2.68"),  # the float 2.675 is 2.67499999...: float round() gives 2.67
        (1.005, 2, "half_up", "1.01"),
        ("0.125", 2, "half_even", "0.12"),
        ("0.135", 2, "half_even", "0.14"),
        ("-1.005", 2, "half_up", "-1.01"),
        ("1.999", 0, "down", "1"),
        ("10", 2, "half_up", "10.00"),
    ],
)
def test_round_is_decimal_and_half_up_by_default(value: Any, places: int, mode: str, expected: str) -> None:
    result = apply(["to_decimal", {"round": {"places": places, "mode": mode}}], value)
    assert isinstance(result, Decimal) and str(result) == expected


def test_arithmetic_with_constants_and_paths() -> None:
    record = {"Qty": "3", "Rate": 0.25}
    assert apply(["to_decimal", {"multiply": {"path": "Qty"}}], "1.10", record) == Decimal("3.30")
    assert apply([{"divide": 4}], 10, record) == Decimal("2.5")
    assert apply([{"add": "0.1"}, {"subtract": {"path": "Rate"}}], "1", record) == Decimal("0.85")
    assert apply(["negate"], "5.5") == Decimal("-5.5")
    assert apply(["abs"], -2) == Decimal(2)
    with pytest.raises(mapping.MappingError, match="divide: DivisionByZero"):
        apply([{"divide": 0}], 1)
    with pytest.raises(mapping.MappingError, match="operand 'Nope' is missing"):
        apply([{"multiply": {"path": "Nope"}}], 1)
    assert apply([{"multiply": {"path": "Nope", "default": 2}}], 1) == Decimal(2)


def test_vat_conversions_with_percent_fraction_and_path() -> None:
    assert apply([{"vat_exclusive": 21}, {"round": 2}], "121.00") == Decimal("100.00")
    assert apply([{"vat_inclusive": {"rate": "0.21", "unit": "fraction"}}, {"round": 2}], "19.99") == Decimal("24.19")
    record = {"VatRatePercent": 9}
    assert apply([{"vat_exclusive": {"rate_path": "VatRatePercent"}}, {"round": 2}], 10.9, record) == Decimal("10.00")
    assert apply([{"vat_amount": 21}, {"round": 2}], "100") == Decimal("21.00")
    assert apply([{"apply_discount": {"rate": 10}}, {"round": 2}], "19.99") == Decimal("17.99")


def test_dates_iso_exact_and_time_zones() -> None:
    # Exact writes Amsterdam wall-clock time into /Date(ms)/: 1640995200000 is 2022-01-01 00:00 in Amsterdam.
    parsed = apply(["parse_datetime"], "/Date(1640995200000)/")
    assert parsed == datetime(2022, 1, 1, tzinfo=AMSTERDAM)
    assert parsed.astimezone(UTC) == datetime(2021, 12, 31, 23, 0, tzinfo=UTC)
    assert apply(["format_date"], "/Date(1640995200000)/") == "2022-01-01"
    assert apply([{"format_datetime": {"tz": "UTC"}}], "/Date(1640995200000)/") == "2021-12-31T23:00:00+00:00"
    assert apply([{"format_datetime": "exact"}], "2021-12-31T23:00:00Z") == "/Date(1640995200000)/"
    assert apply(
        [{"format_datetime": {"format": "%d-%m-%Y %H:%M", "tz": "Europe/Amsterdam"}}], "2026-07-01T10:00Z"
    ) == ("01-07-2026 12:00")
    assert apply(["parse_date"], "2026-11-20T00:00:00") == date(2026, 11, 20)
    assert apply([{"parse_date": {"to_tz": "Europe/Amsterdam"}}], "2026-11-20T23:30:00Z") == date(2026, 11, 21)
    assert apply([{"parse_datetime": {"format": "%d/%m/%Y", "tz": "Europe/Stockholm"}}], "03/05/2026") == datetime(
        2026, 5, 3, tzinfo=ZoneInfo("Europe/Stockholm")
    )
    assert apply([{"to_timezone": "Europe/Amsterdam"}], "2026-01-01T12:00:00Z").hour == 13
    with pytest.raises(mapping.MappingError, match="not a date in format 'exact'"):
        apply([{"parse_datetime": "exact"}], "2026-01-01")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nl", "NL"),
        ("NLD", "NL"),
        ("Nederland", "NL"),
        ("Belgïe", "BE"),
        ("België", "BE"),
        ("sverige", "SE"),
        ("Norge", "NO"),
        ("UK", "GB"),
        ("Deutschland", "DE"),
        ("United States", "US"),
        (" fin ", "FI"),
    ],
)
def test_country_codes_normalise_to_iso2(value: str, expected: str) -> None:
    assert apply(["country_iso2"], value) == expected


def test_unknown_country_fails_or_takes_default() -> None:
    with pytest.raises(mapping.MappingError, match="unknown country 'Atlantis'"):
        apply(["country_iso2"], "Atlantis")
    assert apply([{"country_iso2": {"default": "NL"}}], "Atlantis") == "NL"


def test_concat_coalesce_and_first() -> None:
    record = {"First": "Anna", "Last": "de Vries", "Empty": "", "Alt": "alt@x.nl", "Tags": ["a", "b"]}
    assert apply([{"concat": {"paths": ["Last"]}}], "Anna", record) == "Anna de Vries"
    assert apply([{"concat": {"paths": ["First", "Empty", "Last"], "sep": "/"}}], None, record) == "Anna/de Vries"
    assert apply([{"concat": ["Tags[0]", "Tags[1]"]}], 3, record) == "3 a b"
    assert apply([{"coalesce": ["Nope", "Alt"]}], None, record) == "alt@x.nl"
    assert apply([{"coalesce": ["Alt"]}], "own", record) == "own"
    assert apply(["first"], ["x", "y"]) == "x"


def test_value_map_inline_and_lookup_options() -> None:
    assert apply([{"value_map": {"table": {"A": 1}, "default": None}}], "B") is None
    assert apply([{"value_map": {"table": {"a": 1}, "case_insensitive": True}}], "A") == 1
    lookups = {"units": {"PC": "u1", "*": "u-default"}}
    assert apply([{"lookup": {"table": "units", "default_key": "*"}}], "box", lookups=lookups) == "u-default"
    assert (
        apply([{"lookup": {"table": "units", "case_insensitive": True}}], "Pc", lookups={"units": {"pc": "u"}}) == "u"
    )


def test_registry_documents_every_transform() -> None:
    assert {
        "strip", "upper", "lower", "title", "truncate", "default", "replace", "concat", "split", "to_decimal",
        "round", "multiply", "divide", "vat_exclusive", "vat_inclusive", "negate", "parse_datetime", "parse_date",
        "format_datetime", "format_date", "to_timezone", "country_iso2", "value_map", "lookup", "choose", "to_int",
        "to_bool", "to_str",
    } <= set(mapping.TRANSFORMS)  # fmt: skip
    assert all(definition.doc for definition in mapping.TRANSFORMS.values())
