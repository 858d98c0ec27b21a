"""Every shipped default mapping compiles, validates against the exported JSON Schema, and maps a realistic record
of its source API into the payload its target API expects, amounts right to the cent."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import mapping
from tests.mapping import records as r

DEFAULTS_DIR = Path(mapping.__file__).parent / "defaults"
FLOWS = [
    "customers_eaccounting_to_exact",
    "customers_exact_to_eaccounting",
    "orders_to_exact_direct_invoice",
    "orders_to_exact_journal_entry",
    "orders_to_exact_sales_invoice",
    "orders_to_exact_sales_order",
    "products_exact_to_eaccounting",
    "shipments_exact_to_eaccounting",
    "stock_exact_to_eaccounting",
]


def compiled(name: str, overrides: dict[str, Any] | None = None) -> mapping.CompiledMapping:
    spec = mapping.load_default(name)
    if overrides:
        spec = mapping.merge_overrides(spec, overrides)
    return mapping.compile_mapping(spec)


def test_default_names_are_the_shipped_files() -> None:
    assert mapping.default_names() == FLOWS


@pytest.mark.parametrize("name", FLOWS)
def test_default_is_versioned_named_and_compiles(name: str) -> None:
    raw = json.loads((DEFAULTS_DIR / f"{name}.json").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", raw["version"])
    assert raw["name"] == name
    assert mapping.compile_mapping(raw).version == raw["version"]


@pytest.mark.parametrize("name", FLOWS)
def test_default_validates_against_exported_schema(name: str) -> None:
    schema = mapping.mapping_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads((DEFAULTS_DIR / f"{name}.json").read_text()))


def test_schema_rejects_unknown_transform_and_unknown_key() -> None:
    validator = jsonschema.Draft202012Validator(mapping.mapping_json_schema())
    good = {"version": "1", "fields": {"A": {"source": "x", "transforms": ["upper", {"truncate": 3}]}}}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({"version": "1", "fields": {"A": {"source": "x", "transforms": ["uper"]}}}))
    assert list(validator.iter_errors({"version": "1", "fields": {"A": {"sorce": "x"}}}))


def test_sales_order_from_realistic_order() -> None:
    result = compiled("orders_to_exact_sales_order").map(r.order(), lookups=r.order_lookups())
    assert result.skipped is None
    assert result.payload == {
        "OrderedBy": r.ACCOUNT_ID,
        "YourRef": "PO-77812",
        "OrderDate": "2026-11-20",
        "DeliveryDate": "2026-11-25",
        "Currency": "EUR",
        "Remarks": "Deliver to: Bakkerij De Gouden Korst, Industrieweg 4, 3542 CD, Utrecht, NL",
        "SalesOrderLines": [
            {
                "Item": r.ITEM_IDS["FLOUR-25"],
                "Description": "Wheat flour type 550, 25 kg",
                "Quantity": Decimal("3"),
                # 12.345 is 12.3449999... as a float: a float round() would lose the 5; prices keep 4 decimals.
                "UnitPrice": Decimal("12.3450"),
                "Discount": Decimal("0.1"),
            },
            {
                "Item": r.ITEM_IDS["YEAST-1"],
                "Description": ("Fresh yeast 1 kg " + "x" * 80)[:60],
                "Quantity": Decimal("2"),
                "UnitPrice": Decimal("19.99"),
                "Discount": Decimal("0.15"),
            },
            # No DiscountPercentage: a discount of 0 is sent, so Exact applies none of its own.
            {
                "Item": r.ITEM_IDS["SALT-5"],
                "Quantity": Decimal("1.0"),
                "UnitPrice": Decimal("0.0050"),
                "Discount": Decimal("0"),
            },
        ],
    }
    # The flow's reference key is not the mapping's business: the flow writes Description itself.
    assert "Description" not in result.payload


def test_sales_order_value_maps_and_the_vat_code_the_flow_chose() -> None:
    overrides = {
        "value_maps": {
            "shipping_method_by_delivery_method": {"table": {"POSTNL": "5a000000-0000-4000-8000-000000000001"}},
            "cost_center_by_cost_center_item": {"table": {"f0000000-0000-4000-8000-0000000000cc": "BAKERY"}},
        }
    }
    order = r.order(ShippingAmount=6.95)  # not a field of eAccounting's OrderApi: no line of its own
    for row, code in zip(order["Rows"], ["1", "1", "1", "2"], strict=True):
        row["ExactVatCode"] = code  # what the orders flow writes on each row before mapping
    payload = compiled("orders_to_exact_sales_order", overrides).map(order, lookups=r.order_lookups()).payload
    assert payload is not None
    assert payload["ShippingMethod"] == "5a000000-0000-4000-8000-000000000001"
    lines = payload["SalesOrderLines"]
    assert [line["VATCode"] for line in lines] == ["1", "1", "2"]  # the text row (second) is no line
    assert lines[0]["CostCenter"] == "BAKERY"
    assert "CostCenter" not in lines[1]
    assert len(lines) == 3


def test_sales_order_maps_drafts_too_the_flow_selects_by_status() -> None:
    result = compiled("orders_to_exact_sales_order").map(r.order(Status=1), lookups=r.order_lookups())
    assert result.payload is not None and result.skipped is None


def test_sales_order_missing_sku_names_it() -> None:
    lookups = r.order_lookups()
    del lookups["items_by_code"]["YEAST-1"]
    with pytest.raises(mapping.MappingError) as caught:
        compiled("orders_to_exact_sales_order").map(r.order(), lookups=lookups)
    error = caught.value
    # The text row is skipped, so YEAST-1 (source row 2) is the second line.
    assert error.target_field == "SalesOrderLines[1].Item"
    assert error.source_path == "Rows[2].ArticleNumber"
    assert "'YEAST-1' not found in lookup 'items_by_code'" in error.reason


def test_sales_order_update_mode_leaves_out_create_only_fields() -> None:
    payload = compiled("orders_to_exact_sales_order").map(r.order(), mode="update", lookups=r.order_lookups()).payload
    assert payload == {
        "YourRef": "PO-77812",
        "DeliveryDate": "2026-11-25",
        "Remarks": "Deliver to: Bakkerij De Gouden Korst, Industrieweg 4, 3542 CD, Utrecht, NL",
    }


def test_sales_invoice_type_journal_and_revenue_accounts() -> None:
    overrides = {"value_maps": {"revenue_account_by_country": {"table": {"NL": "8000", "BE": "8100"}}}}
    payload = (
        compiled("orders_to_exact_sales_invoice", overrides)
        .map(r.order(InvoiceCountryCode="be"), lookups=r.order_lookups())
        .payload
    )
    assert payload is not None
    assert payload["Type"] == 8020
    assert payload["Journal"] == "70"
    assert payload["OrderedBy"] == payload["InvoiceTo"] == r.ACCOUNT_ID
    assert payload["InvoiceDate"] == "2026-11-20"
    assert {line["GLAccount"] for line in payload["SalesInvoiceLines"]} == {r.GL_IDS["8100"]}
    assert "Warehouse" not in payload


def test_sales_invoice_without_revenue_map_lets_exact_take_the_item_account() -> None:
    payload = compiled("orders_to_exact_sales_invoice").map(r.order(), lookups=r.order_lookups()).payload
    assert payload is not None
    assert all("GLAccount" not in line for line in payload["SalesInvoiceLines"])


def test_direct_invoice_has_type_8023_and_main_warehouse() -> None:
    payload = compiled("orders_to_exact_direct_invoice").map(r.order(), lookups=r.order_lookups()).payload
    assert payload is not None
    assert payload["Type"] == 8023
    assert payload["Warehouse"] == r.WAREHOUSES["main"]
    assert len(payload["SalesInvoiceLines"]) == 3


def test_direct_invoice_fails_without_warehouse_table() -> None:
    lookups = r.order_lookups()
    del lookups["warehouses_by_code"]
    with pytest.raises(mapping.MappingError, match="lookup table 'warehouses_by_code' was not provided") as caught:
        compiled("orders_to_exact_direct_invoice").map(r.order(), lookups=lookups)
    assert caught.value.target_field == "Warehouse"


def test_journal_entry_amounts_are_right_to_the_cent() -> None:
    payload = compiled("orders_to_exact_journal_entry").map(r.order(), lookups=r.order_lookups()).payload
    assert payload is not None
    assert payload["Type"] == 20
    assert payload["Customer"] == r.ACCOUNT_ID
    assert payload["EntryDate"] == "2026-11-20"
    assert payload["YourRef"] == "PO-77812"  # the customer's reference
    amounts = [line["AmountFC"] for line in payload["SalesEntryLines"]]
    # 3 x 12.345 x 0.9 = 33.3315; 2 x 19.99 x 0.85 = 33.983; 1 x 0.005 = 0.005 (half-up: 0.01)
    assert amounts == [Decimal("33.33"), Decimal("33.98"), Decimal("0.01")]
    assert all(str(a) == f"{a:.2f}" for a in amounts)
    assert {line["GLAccount"] for line in payload["SalesEntryLines"]} == {r.GL_IDS["8000"]}
    assert payload["SalesEntryLines"][2]["Description"] == "SALT-5"


def test_customer_eaccounting_to_exact_account() -> None:
    result = compiled("customers_eaccounting_to_exact").map(r.eaccounting_customer())
    assert result.payload == {
        "Name": "Bakkerij De Gouden Korst B.V.",
        "Code": "1042",
        "Status": "C",
        "IsSales": True,
        "Email": "inkoop@goudenkorst.nl",
        "Phone": "+31 6 12345678",
        "Website": "https://goudenkorst.nl",
        "VATNumber": "NL8123.45.678B01",
        "ChamberOfCommerce": "30123456",
        "AddressLine1": "Dorpsstraat 12",
        "Postcode": "3512 AB",
        "City": "Utrecht",
        "Country": "NL",
        "SalesCurrency": "EUR",
        "Blocked": False,
        "Remarks": "Prefers delivery before 7:00",
        "DiscountSales": Decimal("0.0"),  # the customer's discount, a fraction on both sides
    }


def test_customer_eaccounting_to_exact_update_keeps_code_and_status() -> None:
    payload = compiled("customers_eaccounting_to_exact").map(r.eaccounting_customer(IsActive=False), mode="update")
    assert payload.payload is not None
    assert payload.payload["Blocked"] is True
    assert not {"Code", "Status", "IsSales"} & payload.payload.keys()


def test_customer_exact_to_eaccounting() -> None:
    lookups = {"terms_of_payment_by_condition": {"30": "7e000000-0000-4000-8000-000000000030", "*": "7e-default"}}
    result = compiled("customers_exact_to_eaccounting").map(r.exact_account(), lookups=lookups)
    assert result.payload == {
        "Name": "Bakkerij De Gouden Korst B.V.",
        "CustomerNumber": "1042",
        "EmailAddress": "administratie@goudenkorst.nl",
        "Telephone": "030-1234567",
        "VatNumber": "NL812345678B01",
        "CorporateIdentityNumber": "30123456",
        "InvoiceAddress1": "Dorpsstraat 12",
        "InvoicePostalCode": "3512 AB",
        "InvoiceCity": "Utrecht",
        "InvoiceCountryCode": "NL",
        "CurrencyCode": "EUR",
        "IsPrivatePerson": False,
        "IsActive": True,
        "TermsOfPaymentId": "7e000000-0000-4000-8000-000000000030",
    }
    other = compiled("customers_exact_to_eaccounting").map(
        r.exact_account(PaymentConditionSales="", Postcode=None), lookups=lookups
    )
    assert other.payload is not None
    assert other.payload["TermsOfPaymentId"] == "7e-default"
    assert other.payload["InvoicePostalCode"] == ""


def test_customer_exact_to_eaccounting_skips_non_customers() -> None:
    result = compiled("customers_exact_to_eaccounting").map(r.exact_account(Status="P"), lookups={})
    assert result.payload is None
    assert result.skipped == "account is not a customer (Status is not 'C')"


def test_product_exact_to_eaccounting() -> None:
    lookups = {"codings_by_item_group": {"*": "c0d1-default"}, "units_by_code": {"pc": "u-pc", "*": "u-default"}}
    result = compiled("products_exact_to_eaccounting").map(r.exact_item(), lookups=lookups)
    assert result.payload == {
        "Number": "FLOUR-25",
        "Name": "Wheat flour type 550, 25 kg bag for professional b",
        "NetPrice": Decimal("25.00"),
        "IsActive": True,
        "CodingId": "c0d1-default",
        "UnitId": "u-pc",
    }
    ended = compiled("products_exact_to_eaccounting").map(
        r.exact_item(EndDate="/Date(1767225600000)/"), lookups=lookups
    )
    assert ended.payload is not None and ended.payload["IsActive"] is False


def test_product_filter_skips_non_sales_items() -> None:
    result = compiled("products_exact_to_eaccounting").map(r.exact_item(IsSalesItem=False), lookups={})
    assert result.payload is None and result.skipped == "not a sales item (IsSalesItem is false)"


def test_stock_is_on_hand() -> None:
    """eAccounting's StockBalance is its physical stock: it subtracts its own open orders and shipments itself
    (docs/flows/stock.md, "Stock in the headline setup"), so the default is Exact's CurrentStock."""
    mapped = compiled("stock_exact_to_eaccounting")
    assert mapped.map(r.exact_item_warehouse()).payload == {"StockBalance": Decimal("120.00")}
    counted = mapped.map(r.exact_item_warehouse(PlannedStockOut=None, CurrentStock="7")).payload
    assert counted == {"StockBalance": Decimal("7.00")}


def test_shipment_sets_shipped_status_date_in_amsterdam_and_quantities() -> None:
    result = compiled("shipments_exact_to_eaccounting").map(r.exact_goods_delivery(), mode="update")
    assert result.payload == {
        "Status": 3,
        "ShippedDateTime": "2026-11-21",
        "DeliveryMethodCode": "POSTNL",
        "Rows": [
            {"ArticleNumber": "FLOUR-25", "DeliveredQuantity": Decimal("3")},
            {"ArticleNumber": "YEAST-1", "DeliveredQuantity": Decimal("2")},
        ],
    }


@pytest.mark.parametrize(
    ("name", "tables"),
    [
        ("orders_to_exact_sales_order", {"accounts_by_customer_id", "items_by_code"}),
        (
            "orders_to_exact_direct_invoice",
            {"accounts_by_customer_id", "items_by_code", "gl_accounts_by_code", "warehouses_by_code"},
        ),
        ("products_exact_to_eaccounting", {"codings_by_item_group", "units_by_code"}),
        ("stock_exact_to_eaccounting", set()),
    ],
)
def test_compiled_mapping_lists_the_lookup_tables_it_needs(name: str, tables: set[str]) -> None:
    assert compiled(name).lookup_tables == tables
