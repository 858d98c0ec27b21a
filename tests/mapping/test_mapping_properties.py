"""Property tests: mapping arbitrary JSON raises nothing but MappingError; money rounding and VAT conversions are
exact to the cent; compile errors point at the transform at fault wherever it sits."""

from __future__ import annotations

import contextlib
import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import mapping
from tests.mapping import records as r

SETTINGS = settings(max_examples=120, deadline=None)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "NL", "/Date(1640995200000)/", "2026-11-20T00:00:00", "12.50", "abc", "true"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)

ORDER_KEYS = sorted(r.order())
ROW_KEYS = sorted({k for row in r.order()["Rows"] for k in row})
COMPILED = {name: mapping.compile_mapping(mapping.load_default(name)) for name in mapping.default_names()}
SAMPLES = {
    "orders": r.order(),
    "customer_ea": r.eaccounting_customer(),
    "account": r.exact_account(),
    "item": r.exact_item(),
    "stock": r.exact_item_warehouse(),
    "delivery": r.exact_goods_delivery(),
}
LOOKUPS: dict[str, dict[str, Any]] = {
    **r.order_lookups(),
    "terms_of_payment_by_condition": {"30": "t", "*": "d"},
    "codings_by_item_group": {"*": "c"},
    "units_by_code": {"*": "u"},
}


@st.composite
def damaged_records(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic record of some source with a few values replaced by arbitrary JSON (rows included)."""
    record = copy.deepcopy(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    keys = sorted(record) + ORDER_KEYS
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        record[draw(st.sampled_from(keys))] = draw(json_values)
    rows = record.get("Rows")
    if isinstance(rows, list) and rows and draw(st.booleans()):
        index = draw(st.integers(min_value=0, max_value=len(rows) - 1))
        if isinstance(rows[index], dict):
            rows[index][draw(st.sampled_from(ROW_KEYS))] = draw(json_values)
        else:
            rows[index] = draw(json_values)
    return record


def _map_everything(record: Any) -> None:
    for compiled in COMPILED.values():
        for mode in ("create", "update"):
            with contextlib.suppress(mapping.MappingError):
                compiled.map(record, mode=mode, lookups=LOOKUPS)
            run = compiled.dry_run(record, mode=mode, lookups=LOOKUPS)
            run.to_dict()


@SETTINGS
@given(record=damaged_records())
def test_damaged_records_raise_only_mapping_errors(record: dict[str, Any]) -> None:
    _map_everything(record)


@SETTINGS
@given(record=json_values)
def test_arbitrary_json_raises_only_mapping_errors(record: Any) -> None:
    _map_everything(record)


@SETTINGS
@given(value=json_values, transform=st.sampled_from(sorted(mapping.TRANSFORMS)))
def test_every_transform_on_arbitrary_values_raises_only_mapping_errors(value: Any, transform: str) -> None:
    params: dict[str, Any] = {
        "truncate": 3,
        "prefix": "#",
        "suffix": "!",
        "replace": {"old": "a"},
        "multiply": 2,
        "divide": {"path": "Other"},
        "add": 1,
        "subtract": {"path": "Other", "default": 0},
        "vat_exclusive": {"rate_path": "Other"},
        "vat_inclusive": 21,
        "vat_amount": 21,
        "apply_discount": {"rate_path": "Other", "unit": "fraction", "rate_default": 0},
        "coalesce": ["Other"],
        "choose": {"when": {"op": "gt", "value": 1}, "then": "big"},
        "lookup": "items_by_code",
        "value_map": {"table": {"a": 1}},
        "to_timezone": "Europe/Amsterdam",
        "default": 0,
    }
    entry: Any = {transform: params[transform]} if transform in params else transform
    compiled = mapping.compile_mapping({"version": "1", "fields": {"Out": {"source": "In", "transforms": [entry]}}})
    with contextlib.suppress(mapping.MappingError):
        compiled.map({"In": value, "Other": value}, lookups=LOOKUPS)


money = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=4, allow_nan=False)
cents = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=2, allow_nan=False)
rates = st.sampled_from([0, 6, 9, 12, 15, 21, 25])


@SETTINGS
@given(amount=money)
def test_round_is_half_up_to_the_cent(amount: Decimal) -> None:
    compiled = mapping.compile_mapping({"version": "1", "fields": {"A": {"source": "a", "transforms": [{"round": 2}]}}})
    for value in (amount, str(amount), float(str(amount))):
        result = compiled.map({"a": value}).payload["A"]  # type: ignore[index]
        assert result == amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert abs(result - amount) <= Decimal("0.005")
        assert result.as_tuple().exponent == -2


@SETTINGS
@given(net=cents, rate=rates)
def test_vat_inclusive_then_exclusive_returns_the_net_amount(net: Decimal, rate: int) -> None:
    compiled = mapping.compile_mapping(
        {
            "version": "1",
            "fields": {
                "Gross": {"source": "net", "transforms": [{"vat_inclusive": {"rate_path": "rate"}}, {"round": 2}]},
                "Net": {
                    "source": "net",
                    "transforms": [
                        {"vat_inclusive": {"rate_path": "rate"}},
                        {"round": 2},
                        {"vat_exclusive": {"rate_path": "rate"}},
                        {"round": 2},
                    ],
                },
            },
        }
    )
    payload = compiled.map({"net": str(net), "rate": rate}).payload
    assert payload is not None
    assert payload["Net"] == net
    expected_gross = (net * (1 + Decimal(rate) / 100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert payload["Gross"] == expected_gross


field_names = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,8}", fullmatch=True)


@SETTINGS
@given(
    outer=field_names,
    inner=field_names,
    nested=st.booleans(),
    good_before=st.integers(min_value=0, max_value=3),
    bad=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10),
)
def test_compile_error_points_at_the_bad_transform(
    outer: str, inner: str, nested: bool, good_before: int, bad: str
) -> None:
    if bad in mapping.TRANSFORMS:
        bad += "_x"
    transforms: list[Any] = ["strip"] * good_before + [bad, "upper"]
    rule = {"source": "x", "transforms": transforms}
    if nested:
        fields: dict[str, Any] = {"Ok": {"const": 1}, outer: {"source": "Rows[*]", "items": {"fields": {inner: rule}}}}
        expected = f"fields.{outer}.items.fields.{inner}.transforms[{good_before}]: unknown transform {bad!r}"
    else:
        fields = {"Ok": {"const": 1}, outer: rule}
        expected = f"fields.{outer}.transforms[{good_before}]: unknown transform {bad!r}"
    try:
        mapping.compile_mapping({"version": "1", "fields": fields})
    except mapping.MappingSpecError as exc:
        assert str(exc) == expected
    else:
        raise AssertionError("compiled a mapping with an unknown transform")
