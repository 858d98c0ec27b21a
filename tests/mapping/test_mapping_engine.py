"""The mapping engine: sources, constants, defaults, modes, filters, value maps, lists with extra items, objects,
conditionals, custom fields, run-time errors and the dry-run trace."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

import mapping


def compile_fields(fields: dict[str, Any], **top: Any) -> mapping.CompiledMapping:
    return mapping.compile_mapping({"version": "1", "fields": fields, **top})


def payload(fields: dict[str, Any], record: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
    return compile_fields(fields).map(record, **kwargs).payload


def test_source_paths_nested_index_root_and_quoted_keys() -> None:
    fields = {
        "City": {"source": "Address.City"},
        "FirstRow": {"source": "Rows[0].Text"},
        "LastRow": {"source": "Rows[-1].Text"},
        "AllTexts": {"source": "Rows[*].Text"},
        "Odd": {"source": '["Odd key.with dot"]'},
        "Lines": {"source": "Rows[*]", "items": {"fields": {"Text": {"source": "Text"}, "Cur": {"source": "$.Cur"}}}},
    }
    record = {
        "Address": {"City": "Utrecht"},
        "Rows": [{"Text": "a"}, {"Text": "b"}],
        "Odd key.with dot": 7,
        "Cur": "EUR",
    }
    assert payload(fields, record) == {
        "City": "Utrecht",
        "FirstRow": "a",
        "LastRow": "b",
        "AllTexts": ["a", "b"],
        "Odd": 7,
        "Lines": [{"Text": "a", "Cur": "EUR"}, {"Text": "b", "Cur": "EUR"}],
    }


def test_missing_values_are_omitted_null_or_errors_as_configured() -> None:
    fields = {
        "Omitted": {"source": "Nope"},
        "Null": {"source": "Nope", "if_missing": "null"},
        "Defaulted": {"source": "Nope", "default": "x", "transforms": ["upper"]},
        "Const": {"const": None, "if_missing": "null"},
        "Deep": {"source": "A.B.C"},
    }
    assert payload(fields, {"A": None}) == {"Null": None, "Defaulted": "X", "Const": None}
    with pytest.raises(mapping.MappingError) as caught:
        payload({"Name": {"source": "Name", "if_missing": "error"}}, {})
    assert (caught.value.target_field, caught.value.source_path) == ("Name", "Name")
    assert "required" in caught.value.reason


def test_create_update_and_always_fields() -> None:
    compiled = compile_fields(
        {
            "Code": {"source": "code", "on": "create"},
            "Name": {"source": "name"},
            "Modified": {"const": "yes", "on": "update"},
        }
    )
    record = {"code": "C1", "name": "N"}
    assert compiled.map(record).payload == {"Code": "C1", "Name": "N"}
    assert compiled.map(record, mode="update").payload == {"Name": "N", "Modified": "yes"}


def test_filters_skip_with_readable_reasons() -> None:
    compiled = compile_fields(
        {"X": {"const": 1}},
        filters=[
            {"path": "Group", "op": "in", "value": ["A", "B"]},
            {"path": "Blocked", "op": "ne", "value": True, "reason": "blocked item"},
            {"any": [{"path": "Price", "op": "gt", "value": 0}, {"path": "Free", "op": "truthy"}]},
        ],
    )
    assert compiled.map({"Group": "A", "Price": 1}).payload == {"X": 1}
    assert compiled.map({"Group": "C"}).skipped == "Group in ['A', 'B'] (got 'C')"
    assert compiled.map({"Group": "B", "Blocked": True}).skipped == "blocked item"
    skipped = compiled.map({"Group": "B", "Price": "0"}).skipped
    assert skipped == "none of: Price gt 0 (got '0'); Free truthy (got None)"


def test_conditions_compare_numbers_as_decimals() -> None:
    compiled = compile_fields(
        {"X": {"const": 1}},
        filters=[{"all": [{"path": "Qty", "op": "eq", "value": 1}, {"path": "Amount", "op": "le", "value": 0.3}]}],
    )
    assert compiled.map({"Qty": 1.0, "Amount": 0.3}).skipped is None
    assert compiled.map({"Qty": 1, "Amount": "0.30"}).skipped is None  # numeric text orders as a number
    assert compiled.map({"Qty": 1.0, "Amount": 0.31}).skipped is not None
    assert compiled.map({"Qty": 1.0, "Amount": "abc"}).skipped is not None
    assert compiled.map({"Qty": True, "Amount": 0}).skipped is not None  # true is not 1


def test_value_maps_with_and_without_default() -> None:
    compiled = compile_fields(
        {
            "VATCode": {"source": "Country", "transforms": [{"value_map": "vat"}]},
            "Method": {"source": "Delivery", "transforms": [{"value_map": "methods"}]},
            "Status": {"source": "Status", "transforms": [{"value_map": {"table": {"1": "draft", "true": "yes"}}}]},
        },
        value_maps={
            "vat": {"table": {"NL": "2", "BE": "4"}, "default": "5"},
            "methods": {"table": {"postnl": "G1"}, "case_insensitive": True},
        },
    )
    assert compiled.map({"Country": "BE", "Delivery": "PostNL", "Status": 1.0}).payload == {
        "VATCode": "4",
        "Method": "G1",
        "Status": "draft",
    }
    assert compiled.map({"Country": "DE"}).payload == {"VATCode": "5"}
    with pytest.raises(mapping.MappingError) as caught:
        compiled.map({"Country": "NL", "Delivery": "DHL"})
    assert caught.value.target_field == "Method"
    assert caught.value.reason == "'DHL' is not in value map 'methods' and it has no default"


def test_list_mapping_with_row_filter_and_conditional_extra_items() -> None:
    compiled = compile_fields(
        {
            "Lines": {
                "source": "Rows[*]",
                "items": {
                    "filters": [{"path": "IsTextRow", "op": "ne", "value": True}],
                    "fields": {
                        "Item": {"source": "ArticleNumber"},
                        "Amount": {"source": "UnitPrice", "transforms": ["to_decimal", {"round": 2}]},
                    },
                },
                "extra_items": [
                    {
                        "when": {"path": "ShippingAmount", "op": "gt", "value": 0},
                        "fields": {"Item": {"const": "SHIP"}, "Amount": {"source": "ShippingAmount"}},
                    },
                    {
                        "when": {"path": "OrderDiscount", "op": "gt", "value": 0},
                        "fields": {
                            "Item": {"const": "DISC"},
                            "Amount": {"source": "OrderDiscount", "transforms": ["to_decimal", "negate", {"round": 2}]},
                        },
                    },
                ],
            }
        }
    )
    record = {
        "Rows": [{"ArticleNumber": "A", "UnitPrice": 2.5}, {"IsTextRow": True}, {"ArticleNumber": "B", "UnitPrice": 1}],
        "ShippingAmount": 0,
        "OrderDiscount": 5.125,
    }
    assert compiled.map(record).payload == {
        "Lines": [
            {"Item": "A", "Amount": Decimal("2.50")},
            {"Item": "B", "Amount": Decimal("1.00")},
            {"Item": "DISC", "Amount": Decimal("-5.13")},
        ]
    }
    assert compiled.map({}).payload == {}
    assert compiled.map({"ShippingAmount": 4}).payload == {"Lines": [{"Item": "SHIP", "Amount": 4}]}


def test_list_of_required_lines_fails_when_empty() -> None:
    compiled = compile_fields(
        {"Lines": {"source": "Rows", "if_missing": "error", "items": {"fields": {"A": {"source": "a"}}}}}
    )
    with pytest.raises(mapping.MappingError, match="no items"):
        compiled.map({"Rows": []})


def test_object_fields_and_root_paths() -> None:
    fields = {
        "Address": {
            "source": "Invoice",
            "fields": {
                "Line1": {"source": "Street"},
                "Country": {"source": "$.Country", "transforms": ["country_iso2"]},
            },
        },
        "Flat": {"fields": {"Name": {"source": "Name"}}},
    }
    assert payload(fields, {"Invoice": {"Street": "Main 1"}, "Country": "Nederland", "Name": "N"}) == {
        "Address": {"Line1": "Main 1", "Country": "NL"},
        "Flat": {"Name": "N"},
    }
    with pytest.raises(mapping.MappingError) as caught:
        payload(fields, {"Invoice": {"Street": "x"}, "Country": "Atlantis"})
    assert caught.value.target_field == "Address.Country"
    assert caught.value.source_path == "$.Country"


def test_when_else_and_choose() -> None:
    fields = {
        "Kind": {
            "when": {"path": "IsPrivatePerson", "op": "eq", "value": True},
            "const": "private",
            "else": {"source": "CorporateIdentityNumber", "transforms": [{"prefix": "company "}]},
        },
        "OnlyPrivate": {"when": {"path": "IsPrivatePerson", "op": "truthy"}, "const": 1},
        "Size": {
            "source": "Qty",
            "transforms": [{"choose": {"when": {"op": "ge", "value": 100}, "then": "bulk", "else": "retail"}}],
        },
        "Kept": {"source": "Note", "transforms": [{"choose": {"when": {"op": "missing"}, "then": "-", "keep": True}}]},
    }
    assert payload(fields, {"IsPrivatePerson": True, "Qty": 100, "Note": "n"}) == {
        "Kind": "private",
        "OnlyPrivate": 1,
        "Size": "bulk",
        "Kept": "n",
    }
    assert payload(fields, {"IsPrivatePerson": False, "CorporateIdentityNumber": "123", "Qty": 5}) == {
        "Kind": "company 123",
        "Size": "retail",
        "Kept": "-",
    }


def test_custom_fields_any_source_to_any_target() -> None:
    fields = {
        "FreeTextField_01": {"source": "Rows[0].ArticleId"},
        "CustomField": {"source": "Persons[*].Name", "transforms": ["first"]},
        "Whole": {"source": "@"},
    }
    record = {"Rows": [{"ArticleId": "g1"}], "Persons": [{"Name": "P"}]}
    assert payload(fields, record) == {"FreeTextField_01": "g1", "CustomField": "P", "Whole": record}


def test_lookup_transform_default_field_and_missing_table() -> None:
    fields = {
        "Item": {"source": "Sku", "transforms": [{"lookup": {"table": "items", "field": "ID"}}]},
        "Unit": {"source": "Unit", "transforms": [{"lookup": {"table": "units", "default": None}}]},
    }
    lookups = {"items": {"A-1": {"ID": "g-a1", "Code": "A-1"}}, "units": {"pc": "u1"}}
    assert payload(fields, {"Sku": "A-1", "Unit": "box"}, lookups=lookups) == {"Item": "g-a1"}
    with pytest.raises(mapping.MappingError) as caught:
        payload(fields, {"Sku": "B-2"}, lookups=lookups)
    assert str(caught.value) == "Item <- Sku: 'B-2' not found in lookup 'items'"
    with pytest.raises(mapping.MappingError, match="lookup table 'items' was not provided"):
        payload(fields, {"Sku": "A-1"})


@pytest.mark.parametrize(
    ("record", "target", "source", "reason"),
    [
        ({"Rows": "not a list"}, "Lines", "Rows[*]", "cannot iterate over text in 'Rows[*]'"),
        ({"Rows": [{"Qty": "abc"}]}, "Lines[0].Qty", "Rows[0].Qty", "not a number: 'abc'"),
        ({"Rows": [5]}, "Lines[0].Qty", "Rows[0].Qty", "cannot read 'Qty' of number"),
        ({"Rows": [], "Name": 12}, "Name", "Name", "expected text, got number (add 'to_str' first)"),
        ({"Rows": [], "When": "someday"}, "When", "When", "not a date in format 'auto': 'someday'"),
    ],
)
def test_runtime_failures_are_mapping_errors_naming_field_and_path(
    record: dict[str, Any], target: str, source: str, reason: str
) -> None:
    compiled = compile_fields(
        {
            "Lines": {
                "source": "Rows[*]",
                "items": {"fields": {"Qty": {"source": "Qty", "transforms": ["to_decimal"]}}},
            },
            "Name": {"source": "Name", "transforms": ["upper"]},
            "When": {"source": "When", "transforms": ["format_date"]},
        }
    )
    with pytest.raises(mapping.MappingError) as caught:
        compiled.map(record)
    assert (caught.value.target_field, caught.value.source_path, caught.value.reason) == (target, source, reason)


def test_non_object_record_is_a_mapping_error() -> None:
    with pytest.raises(mapping.MappingError, match="expected an object"):
        compile_fields({"A": {"source": "a"}}).map([1, 2])  # type: ignore[arg-type]


def test_dry_run_traces_every_field_and_is_json_serialisable() -> None:
    compiled = compile_fields(
        {
            "Ref": {"source": "Number", "transforms": ["to_str"]},
            "Gone": {"source": "Nope"},
            "Lines": {
                "source": "Rows[*]",
                "items": {
                    "filters": [{"path": "IsTextRow", "op": "ne", "value": True, "reason": "text row"}],
                    "fields": {"Price": {"source": "UnitPrice", "transforms": ["to_decimal", {"round": 2}]}},
                },
            },
        },
        name="demo",
    )
    run = compiled.dry_run({"Number": 7, "Rows": [{"IsTextRow": True}, {"UnitPrice": 1.005}]})
    out = run.to_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["payload"] == {"Ref": "7", "Lines": [{"Price": "1.01"}]}
    assert out["mapping"] == "demo" and out["error"] is None and out["skipped"] is None
    assert out["trace"] == [
        {"target": "Ref", "kind": "source", "source": "Number", "value": "7", "transforms": ["to_str"]},
        {"target": "Gone", "kind": "source", "source": "Nope", "value": None, "transforms": [], "omitted": True},
        {
            "target": "Lines[-]",
            "kind": "row_skipped",
            "source": "Rows[0]",
            "value": None,
            "transforms": [],
            "note": "text row",
        },
        {
            "target": "Lines[0].Price",
            "kind": "source",
            "source": "Rows[1].UnitPrice",
            "value": "1.01",
            "transforms": ["to_decimal", "round"],
        },
    ]
    # The fast path gives the same payload.
    assert compiled.map({"Number": 7, "Rows": [{"IsTextRow": True}, {"UnitPrice": 1.005}]}).payload == {
        "Ref": "7",
        "Lines": [{"Price": Decimal("1.01")}],
    }


def test_dry_run_reports_errors_and_skips_instead_of_raising() -> None:
    compiled = compile_fields(
        {"Item": {"source": "Sku", "transforms": [{"lookup": "items"}]}},
        filters=[{"path": "Status", "op": "ne", "value": 1, "reason": "draft"}],
    )
    failed = compiled.dry_run({"Sku": "X"}, lookups={"items": {}})
    assert failed.payload is None
    assert failed.error == {
        "type": "MappingError",
        "target_field": "Item",
        "source_path": "Sku",
        "message": "'X' not found in lookup 'items'",
    }
    assert failed.trace[0].note == "error: 'X' not found in lookup 'items'"
    skipped = compiled.dry_run({"Status": 1})
    assert skipped.skipped == "draft" and skipped.payload is None


def test_compiled_mapping_is_reusable_and_pure() -> None:
    compiled = compile_fields(
        {"Lines": {"source": "Rows[*]", "items": {"fields": {"C": {"const": "k"}, "A": {"source": "a"}}}}}
    )
    record = {"Rows": [{"a": 1}, {"a": 2}]}
    before = json.dumps(record)
    first = compiled.map(record).payload
    second = compiled.map(record).payload
    assert first == second == {"Lines": [{"C": "k", "A": 1}, {"C": "k", "A": 2}]}
    assert json.dumps(record) == before


def test_any_mapping_type_is_accepted_as_record() -> None:
    from types import MappingProxyType

    compiled = compile_fields({"A": {"source": "a"}, "B": {"source": "o.b"}, "C": {"source": "$.a"}})
    record = MappingProxyType({"a": 1, "o": MappingProxyType({"b": 2})})
    assert compiled.map(record).payload == {"A": 1, "B": 2, "C": 1}
