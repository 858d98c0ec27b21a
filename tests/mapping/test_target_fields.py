"""The target field lists shipped with the package (`mapping/target_fields.json`) and the check of overrides."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import mapping
from app.flowconfig import ConfigInvalid, resolve
from flows.orders import ORDERS
from flows.products import PRODUCTS
from mapping import target_fields

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference"


def _reference(name: str, packaged: tuple[str, str]) -> dict[str, Any]:
    """A vendor file: the shared copy when this machine has one, else the simulator's byte-for-byte copy (pinned
    by sha256 in tests/sandbox_exact/test_reference.py and tests/sandbox_eaccounting)."""
    path = SHARED / name
    text = path.read_text("utf-8") if path.exists() else resources.files(packaged[0]).joinpath(packaged[1]).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def test_the_shipped_lists_are_the_ones_the_vendor_references_give() -> None:
    exact = _reference(target_fields.EXACT_FILE, ("sandbox.exact", "exact-entities.json"))
    swagger = _reference(target_fields.EACCOUNTING_FILE, ("sandbox.eaccounting", "swagger.json"))
    shipped = resources.files("mapping").joinpath("target_fields.json").read_text("utf-8")
    assert shipped == target_fields.dumps(target_fields.build(exact, swagger)), "regenerate: make target-fields"


def test_lists_are_read_from_the_reference_not_made_up() -> None:
    assert "YourRef" in (target_fields.fields_of("exact.SalesOrder") or ())
    assert "CostCenter" in (target_fields.fields_of("exact.SalesOrder", "SalesOrderLines") or ())
    assert "DeliveredQuantity" in (target_fields.fields_of("eaccounting.OrderShipment", "Rows") or ())
    assert "StockBalance" in (target_fields.fields_of("eaccounting.Article") or ())
    assert target_fields.fields_of("exact.Nothing") is None


@pytest.mark.parametrize("name", mapping.default_names())
def test_every_shipped_mapping_names_only_fields_its_target_has(name: str) -> None:
    spec = mapping.load_default(name).model_dump(exclude_none=True)
    assert spec["target"] in target_fields.known_targets()
    assert target_fields.check_overrides(spec["target"], {"fields": spec["fields"]}) == []


@pytest.mark.parametrize(
    ("overrides", "loc", "hint"),
    [
        ({"fields": {"YuorRef": {"source": "YourReference"}}}, ["fields", "YuorRef"], "'YourRef'"),
        ({"fields": {"SalesOrderLines[*].CostCentre": {"const": "A"}}}, ["fields", "SalesOrderLines[*].CostCentre"],
         "'CostCenter'"),
    ],
)  # fmt: skip
def test_an_override_naming_a_field_the_target_lacks_is_refused_naming_it(
    overrides: dict[str, Any], loc: list[str], hint: str
) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        resolve(ORDERS, {"mapping_overrides": {"orders_to_exact_sales_order": overrides}})
    error = caught.value.errors[0]
    assert error["loc"] == ["mapping_overrides", "orders_to_exact_sales_order", *loc]
    assert error["type"] == "unknown_target_field"
    assert hint in error["msg"]


def test_fields_of_a_replaced_list_rule_are_checked_too() -> None:
    rule = {"source": "Rows[*]", "items": {"fields": {"Item": {"const": "x"}, "Quantty": {"const": 1}}}}
    with pytest.raises(ConfigInvalid, match="'Quantty'"):
        resolve(ORDERS, {"mapping_overrides": {"orders_to_exact_sales_order": {"fields": {"SalesOrderLines": rule}}}})


def test_known_fields_custom_ones_included_pass() -> None:
    ok = {"fields": {"Remarks": {"source": "YourReference"}, "SalesOrderLines[*].Notes": {"const": "web"}}}
    resolve(ORDERS, {"mapping_overrides": {"orders_to_exact_sales_order": ok}})
    resolve(PRODUCTS, {"mapping_overrides": {"products_exact_to_eaccounting": {"fields": {"NameEnglish": None}}}})
