"""Models against the description: wire names exact and complete, exact decimals, aware timestamps, extras kept."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.eaccounting import documents, models
from connectors.eaccounting.documents import Order
from connectors.eaccounting.models import Article, Customer, Page, ReadModel
from connectors.eaccounting.wire import body_of, odata_datetime, odata_string, to_wire
from tests.contract.eaccounting import load_swagger

DEFINITIONS: dict[str, Any] = load_swagger()["definitions"]
# Every resource model of both modules; the shared bases (no `__definition__` of their own) are checked through
# the classes built on them.
MODELS = [
    m
    for module in (models, documents)
    for _, m in inspect.getmembers(module, inspect.isclass)
    if issubclass(m, ReadModel)
    and m is not ReadModel
    and m.__module__ == module.__name__
    and "__definition__" in vars(m)
]


def test_every_resource_of_the_brief_has_a_model() -> None:
    names = {m.__name__ for m in MODELS}
    assert {
        "Customer",
        "Article",
        "Order",
        "OrderRow",
        "CustomerInvoice",
        "CustomerInvoiceDraft",
        "Voucher",
        "VoucherRow",
        "VatCode",
        "TermsOfPayment",
        "DeliveryMethod",
        "DeliveryTerm",
        "CostCenter",
        "CostCenterItem",
        "Project",
        "Account",
        "Unit",
        "ArticleLabel",
        "CompanySettings",
    } <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_aliases_are_exactly_the_definitions_properties(model: type[ReadModel]) -> None:
    definition = DEFINITIONS[model.__definition__]
    aliases = {f.alias for f in model.model_fields.values()}
    assert aliases == set(definition["properties"])


def test_amounts_are_exact_decimals_and_timestamps_aware() -> None:
    order = Order.model_validate(
        {
            "Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "Amount": Decimal("1234.57"),
            "ModifiedUtc": "2026-03-02T10:00:00.1234567Z",
            "CreatedUtc": "2026-03-02T09:00:00",
            "OrderDate": "2026-03-02T00:00:00",
            "Rows": [{"LineNumber": 1, "Quantity": 0.1, "UnitPrice": "19.99"}],
        }
    )
    assert order.amount == Decimal("1234.57")
    assert order.modified_utc == datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
    assert order.created_utc is not None and order.created_utc.tzinfo is not None  # naive on the wire = UTC
    assert order.order_date == date(2026, 3, 2)
    rows = order.rows or []
    assert rows[0].quantity == Decimal("0.1") and rows[0].unit_price == Decimal("19.99")


def test_unknown_live_fields_survive_a_read_modify_write() -> None:
    article = Article.model_validate(
        {"Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "Number": "A1", "IsStock": True, "StockBalance": 3}
    )
    body = article.to_payload()
    assert body["IsStock"] is True and body["Number"] == "A1" and body["StockBalance"] == 3
    assert "Name" not in body  # nulls are left out


def test_construction_by_python_names_serialises_by_wire_names() -> None:
    customer = Customer.model_construct(name="Lisa Ek", is_private_person=True, invoice_city="Lund")
    assert body_of(customer) == {"Name": "Lisa Ek", "IsPrivatePerson": True, "InvoiceCity": "Lund"}


def test_page_envelope() -> None:
    page = Page[Customer].model_validate(
        {
            "Meta": {
                "CurrentPage": 2,
                "PageSize": 1,
                "TotalNumberOfPages": 3,
                "TotalNumberOfResults": 3,
                "ServerTimeUtc": "2026-03-02T10:00:00Z",
            },
            "Data": [{"Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "Name": "X"}],
        }
    )
    assert page.meta.current_page == 2 and page.meta.server_time_utc == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert page.data[0].name == "X"


def test_decimals_go_out_as_exact_numbers_or_not_at_all() -> None:
    assert to_wire({"a": Decimal("19.99"), "b": Decimal("2"), "c": Decimal("0.0001")}) == {
        "a": 19.99,
        "b": 2,
        "c": 0.0001,
    }
    assert repr(to_wire(Decimal("1234567.89"))) == "1234567.89"
    with pytest.raises(ValueError, match="without rounding"):
        to_wire(Decimal("0.12345678901234567890"))
    with pytest.raises(ValueError):
        to_wire(Decimal("NaN"))
    # A date goes out with a midnight time: the description types date fields `format: date-time`.
    assert to_wire({"d": date(2026, 3, 2), "t": datetime(2026, 3, 2, 11, 0, tzinfo=UTC)}) == {
        "d": "2026-03-02T00:00:00",
        "t": "2026-03-02T11:00:00.000Z",
    }


def test_odata_literals() -> None:
    assert odata_string("O'Brien") == "'O''Brien'"
    assert odata_datetime(datetime(2026, 3, 2, 10, 0, 0, 987654, tzinfo=UTC)) == "2026-03-02T10:00:00.987Z"
    with pytest.raises(ValueError):
        odata_datetime(datetime(2026, 3, 2))  # noqa: DTZ001 - the point: naive is refused


def test_date_time_fields_are_the_descriptions() -> None:
    from connectors.eaccounting.wire import DATE_TIME_FIELDS

    described = {
        name
        for definition in DEFINITIONS.values()
        for name, prop in (definition.get("properties") or {}).items()
        if prop.get("format") == "date-time"
    }
    assert described == DATE_TIME_FIELDS


def test_a_bare_date_a_mapping_produced_goes_out_with_a_time() -> None:
    body = body_of(
        {"ShippedDateTime": "2026-03-02", "YourReference": "2026-03-02", "Rows": [{"DeliveryDate": "2026-03-03"}]}
    )
    assert body == {
        "ShippedDateTime": "2026-03-02T00:00:00",
        "YourReference": "2026-03-02",  # text, not a date-time property: left alone
        "Rows": [{"DeliveryDate": "2026-03-03T00:00:00"}],
    }
