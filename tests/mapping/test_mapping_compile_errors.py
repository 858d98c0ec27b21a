"""Compile-time validation: every problem is a MappingSpecError whose message starts with its JSON path."""

from __future__ import annotations

from typing import Any

import pytest

import mapping


def line_rule(item_rule: dict[str, Any]) -> dict[str, Any]:
    return {"Lines": {"source": "Rows[*]", "items": {"fields": {"Item": item_rule}}}}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"fields": line_rule({"source": "ArticleNumber", "transforms": ["strip", "uper"]})},
            "fields.Lines.items.fields.Item.transforms[1]: unknown transform 'uper'",
        ),
        (
            {"fields": {"A": {"source": "Rows[x]"}}},
            "fields.A.source: bad bracket at position 4 in 'Rows[x]'",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": ["to_decimal", "upper"]}}},
            "fields.A.transforms[1]: transform 'upper' expects text, got decimal",
        ),
        (
            {"fields": {"A": {"const": 5, "transforms": ["strip"]}}},
            "fields.A.transforms[0]: transform 'strip' expects text, got integer",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": [{"round": {"places": -1}}]}}},
            "fields.A.transforms[0]: transform 'round': places: Input should be greater than or equal to 0",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": [{"truncate": 5, "upper": None}]}}},
            "fields.A.transforms[0]: a transform is a name or an object with exactly one key",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": [{"value_map": "nope"}]}}},
            "fields.A.transforms[0].value_map: unknown value map 'nope' (known: none)",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": [{"to_timezone": "Mars/Olympus"}]}}},
            "fields.A.transforms[0]: transform 'to_timezone': tz: Value error, unknown time zone 'Mars/Olympus'",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": [{"concat": {"paths": ["ok", "bad..path"]}}]}}},
            "fields.A.transforms[0].concat.paths[1]: expected a field name at position 4 in 'bad..path'",
        ),
        (
            {"fields": {"A": {"source": "x", "transforms": [{"multiply": {}}]}}},
            "fields.A.transforms[0]: transform 'multiply': Value error, give exactly one of 'value' or 'path'",
        ),
        (
            {"fields": {"A": {"source": "x", "const": 1}}},
            "fields.A: a field takes 'source' or 'const', not both",
        ),
        (
            {"fields": {"A": {"items": {"fields": {}}}}},
            "fields.A: 'items' needs a 'source' list",
        ),
        (
            {"fields": {"A": {"source": "x", "sourc": "y"}}},
            "fields.A.sourc: Extra inputs are not permitted",
        ),
        (
            {"fields": {"A": {"source": "x", "on": "sometimes"}}},
            "fields.A.on: Input should be 'create', 'update' or 'always'",
        ),
        (
            {"filters": [{"path": "Status", "op": "in", "value": 2}], "fields": {}},
            "filters[0]: Value error, op 'in' needs a list 'value'",
        ),
        (
            {"filters": [{"path": "Sta tus", "op": "exists"}], "fields": {}},
            "filters[0].path: expected '.' or '[' at position 3 in 'Sta tus'",
        ),
        (
            {"fields": {"L": {"source": "R[*]", "items": {"fields": {}, "filters": [{"path": "[", "op": "exists"}]}}}},
            "fields.L.items.filters[0].path: bad bracket at position 0 in '['",
        ),
        (
            {
                "fields": {
                    "L": {
                        "source": "R",
                        "items": {"fields": {}},
                        "extra_items": [{"fields": {"X": {"source": "a", "transforms": ["nope"]}}}],
                    }
                }
            },
            "fields.L.extra_items[0].fields.X.transforms[0]: unknown transform 'nope'",
        ),
        (
            {"target": "exact.SalesOrder", "fields": {"OrderedBy": {"const": "g"}}},
            "fields: required target field 'SalesOrderLines' of exact.SalesOrder is not mapped",
        ),
        (
            {
                "target": "exact.SalesOrder",
                "fields": {
                    "OrderedBy": {"const": "g"},
                    "SalesOrderLines": {"source": "Rows[*]", "items": {"fields": {"Quantity": {"source": "Quantity"}}}},
                },
            },
            "fields.SalesOrderLines.items.fields: required field 'Item' of each SalesOrderLines item is not mapped",
        ),
        (
            {"target": "exact.Account", "fields": {"Name": {"source": "Name", "on": "update"}}},
            "fields: required target field 'Name' of exact.Account is not mapped",
        ),
    ],
)
def test_compile_error_names_json_path(document: dict[str, Any], message: str) -> None:
    with pytest.raises(mapping.MappingSpecError) as caught:
        mapping.compile_mapping({"version": "1", **document})
    assert str(caught.value).startswith(message), str(caught.value)


def test_version_is_required() -> None:
    with pytest.raises(mapping.MappingSpecError, match=r"^version: Field required"):
        mapping.compile_mapping({"fields": {}})


def test_spec_error_is_a_value_error_with_path_and_reason() -> None:
    with pytest.raises(ValueError) as caught:
        mapping.compile_mapping({"version": "1", "fields": {"A": {"source": "x", "transforms": ["uper"]}}})
    assert isinstance(caught.value, mapping.MappingSpecError)
    assert caught.value.path == "fields.A.transforms[0]"
    assert caught.value.reason == "unknown transform 'uper'"


def test_compile_accepts_model_instance() -> None:
    spec = mapping.MappingSpec.model_validate({"version": "2.1", "fields": {"A": {"const": 1}}})
    assert mapping.compile_mapping(spec).map({}).payload == {"A": 1}
