"""merge_overrides: users change a default mapping per field, per list-item field and per value-map entry."""

from __future__ import annotations

from decimal import Decimal

import pytest

import mapping
from tests.mapping import records as r

BASE = "orders_to_exact_sales_order"


def test_replace_add_and_remove_fields() -> None:
    spec = mapping.merge_overrides(
        mapping.load_default(BASE),
        {
            "fields": {
                "YourRef": {"source": "Number", "transforms": ["to_str"]},
                "Remarks": None,
                "SalesChannel": {"const": "WEB", "on": "create"},
                "DoesNotExist": None,
            }
        },
    )
    payload = mapping.compile_mapping(spec).map(r.order(), lookups=r.order_lookups()).payload
    assert payload is not None
    assert payload["YourRef"] == "10234"
    assert "Remarks" not in payload
    assert payload["SalesChannel"] == "WEB"
    # Untouched fields keep their default rules.
    assert payload["OrderDate"] == "2026-11-20"


def test_override_a_field_of_each_list_item() -> None:
    spec = mapping.merge_overrides(
        mapping.load_default(BASE),
        {
            "fields": {
                "SalesOrderLines[*].Description": {"source": "ArticleNumber"},
                "SalesOrderLines[*].Discount": None,
                "SalesOrderLines[*].CostUnit": {"const": "CU1"},
            }
        },
    )
    lines = mapping.compile_mapping(spec).map(r.order(), lookups=r.order_lookups()).payload["SalesOrderLines"]  # type: ignore[index]
    assert [line["Description"] for line in lines] == ["FLOUR-25", "YEAST-1", "SALT-5"]
    assert all("Discount" not in line and line["CostUnit"] == "CU1" for line in lines)
    assert lines[0]["UnitPrice"] == Decimal("12.3450")


def test_value_map_entries_merge_remove_and_default() -> None:
    name = "shipping_method_by_delivery_method"
    base = mapping.merge_overrides(
        mapping.load_default(BASE), {"value_maps": {name: {"table": {"POSTNL": "a", "DHL": "b"}}}}
    )
    spec = mapping.merge_overrides(base, {"value_maps": {name: {"table": {"UPS": "c", "DHL": None}, "default": "z"}}})
    methods = spec.value_maps[name]
    assert methods.table == {"POSTNL": "a", "UPS": "c"}
    assert methods.default == "z" and methods.has_default
    compiled = mapping.compile_mapping(spec)
    payload = compiled.map(r.order(DeliveryMethodCode="DHL"), lookups=r.order_lookups()).payload
    assert payload is not None and payload["ShippingMethod"] == "z"


def test_filters_replace_and_base_is_not_modified() -> None:
    base = mapping.load_default(BASE)
    no_drafts = {"path": "Status", "op": "ne", "value": 1, "reason": "no drafts"}
    spec = mapping.merge_overrides(base, {"filters": [no_drafts]})
    assert mapping.compile_mapping(spec).map(r.order(Status=1), lookups=r.order_lookups()).skipped == "no drafts"
    assert len(base.filters) == 1
    assert mapping.compile_mapping(base).map(r.order(Status=1), lookups=r.order_lookups()).skipped is None


def test_overrides_survive_a_json_round_trip_of_the_spec() -> None:
    spec = mapping.merge_overrides(
        mapping.load_default(BASE), {"fields": {"Remarks": {"const": None, "if_missing": "null"}}}
    )
    again = mapping.MappingSpec.model_validate(spec.model_dump(mode="json", by_alias=True, exclude_unset=True))
    assert mapping.compile_mapping(again).map(r.order(), lookups=r.order_lookups()).payload["Remarks"] is None  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"version": "9"}, "overrides.version: cannot be overridden"),
        ({"fields": {"Remarks": "Text"}}, "overrides.fields.Remarks: a field override is a rule object or null"),
        ({"fields": {"Nope[*].X": {"const": 1}}}, "overrides.fields.Nope[*].X: no field 'Nope[*]' to override inside"),
        ({"fields": {"Remarks[*].X": {"const": 1}}}, "overrides.fields.Remarks[*].X: field 'Remarks' is not a list"),
        ({"fields": {"YourRef": {"source": "x", "bogus": 1}}}, "fields.YourRef.bogus: Extra inputs are not permitted"),
        (
            {"value_maps": {"cost_center_by_cost_center_item": {"table": []}}},
            "overrides.value_maps.cost_center_by_cost_center_item.table",
        ),
    ],
)
def test_bad_overrides_are_spec_errors_with_paths(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(mapping.MappingSpecError) as caught:
        mapping.merge_overrides(mapping.load_default(BASE), overrides)
    assert str(caught.value).startswith(message), str(caught.value)


def test_overrides_with_unknown_transform_fail_at_compile_with_path() -> None:
    spec = mapping.merge_overrides(
        mapping.load_default(BASE),
        {"fields": {"SalesOrderLines[*].Item": {"source": "ArticleNumber", "transforms": ["uper"]}}},
    )
    with pytest.raises(
        mapping.MappingSpecError, match=r"^fields\.SalesOrderLines\.items\.fields\.Item\.transforms\[0\]"
    ):
        mapping.compile_mapping(spec)


def test_unknown_default_name() -> None:
    with pytest.raises(mapping.MappingSpecError, match="unknown default mapping 'nope'"):
        mapping.load_default("nope")
