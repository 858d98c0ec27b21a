"""Realistic source records for the mapping tests, spelled with the APIs' real field names.

eAccounting: Swagger definitions OrderApi / OrderRowApi / CustomerApi. Exact Online: crm/Accounts, logistics/Items,
inventory/ItemWarehouses and salesorder/GoodsDeliveries as the REST API returns them (dates as /Date(ms)/,
account codes padded with leading spaces, "" for unset text).
"""

from __future__ import annotations

import copy
from typing import Any

CUSTOMER_ID = "0c4e7d51-2b3a-4e0f-8a4b-5d6e7f8a9b0c"
ACCOUNT_ID = "e1e1e1e1-0000-4000-8000-000000000001"
ITEM_IDS = {
    "FLOUR-25": "b0000000-0000-4000-8000-000000000001",
    "YEAST-1": "b0000000-0000-4000-8000-000000000002",
    "SALT-5": "b0000000-0000-4000-8000-000000000003",
    "SHIPPING": "b0000000-0000-4000-8000-00000000005f",
}
GL_IDS = {"8000": "c0000000-0000-4000-8000-000000008000", "8100": "c0000000-0000-4000-8000-000000008100"}
WAREHOUSES = {"main": "d0000000-0000-4000-8000-000000000001", "2": "d0000000-0000-4000-8000-000000000002"}

_ORDER: dict[str, Any] = {
    "Id": "6f1a1b0e-3f2c-4c55-9d8e-0a1b2c3d4e5f",
    "Number": 10234,
    "CustomerId": CUSTOMER_ID,
    "CurrencyCode": "eur",
    "Amount": 79.33,
    "VatAmount": 16.66,
    "RoundingsAmount": 0.0,
    "Status": 2,
    "OrderDate": "2026-11-20T00:00:00",
    "DeliveryDate": "2026-11-25T00:00:00",
    "ShippedDateTime": None,
    "YourReference": " PO-77812 ",
    "OurReference": "Webshop",
    "InvoiceCustomerName": "Bakkerij De Gouden Korst B.V.",
    "InvoiceAddress1": "Dorpsstraat 12",
    "InvoicePostalCode": "3512 AB",
    "InvoiceCity": "Utrecht",
    "InvoiceCountryCode": "NL",
    "DeliveryCustomerName": "Bakkerij De Gouden Korst",
    "DeliveryAddress1": "Industrieweg 4",
    "DeliveryAddress2": "",
    "DeliveryPostalCode": "3542 CD",
    "DeliveryCity": "Utrecht",
    "DeliveryCountryCode": "NL",
    "DeliveryMethodCode": "POSTNL",
    "EuThirdParty": False,
    "CustomerIsPrivatePerson": False,
    "RotReducedInvoicingType": 0,
    "ReverseChargeOnConstructionServices": False,
    "ModifiedUtc": "2026-11-20T09:31:12.503Z",
    "Rows": [
        {
            "LineNumber": 0,
            "ArticleId": "a0000000-0000-4000-8000-000000000001",
            "ArticleNumber": "FLOUR-25",
            "IsTextRow": False,
            "Text": "Wheat flour type 550, 25 kg",
            "UnitPrice": 12.345,
            "DiscountPercentage": 0.1,
            "Quantity": 3.0,
            "WorkCostType": 0,
            "IsWorkCost": False,
            "EligibleForReverseChargeOnVat": False,
            "CostCenterItemId1": "f0000000-0000-4000-8000-0000000000cc",
        },
        {
            "LineNumber": 1,
            "IsTextRow": True,
            "Text": "Deliver at the back door",
            "IsWorkCost": False,
            "EligibleForReverseChargeOnVat": False,
        },
        {
            "LineNumber": 2,
            "ArticleId": "a0000000-0000-4000-8000-000000000002",
            "ArticleNumber": "YEAST-1",
            "IsTextRow": False,
            "Text": "Fresh yeast 1 kg " + "x" * 80,
            "UnitPrice": 19.99,
            "DiscountPercentage": 0.15,
            "Quantity": 2.0,
            "IsWorkCost": False,
            "EligibleForReverseChargeOnVat": False,
        },
        {
            "LineNumber": 3,
            "ArticleId": "a0000000-0000-4000-8000-000000000003",
            "ArticleNumber": "SALT-5",
            "IsTextRow": False,
            "Text": "",
            "UnitPrice": 0.005,
            "Quantity": 1.0,
            "IsWorkCost": False,
            "EligibleForReverseChargeOnVat": False,
        },
    ],
}


def order(**changes: Any) -> dict[str, Any]:
    """A fresh eAccounting order (OrderApi) with `changes` applied at the top level."""
    return {**copy.deepcopy(_ORDER), **changes}


def order_lookups() -> dict[str, dict[str, Any]]:
    return {
        "accounts_by_customer_id": {CUSTOMER_ID: ACCOUNT_ID},
        "items_by_code": dict(ITEM_IDS),
        "gl_accounts_by_code": dict(GL_IDS),
        "warehouses_by_code": dict(WAREHOUSES),
    }


def eaccounting_customer(**changes: Any) -> dict[str, Any]:
    """An eAccounting customer (CustomerApi)."""
    base: dict[str, Any] = {
        "Id": CUSTOMER_ID,
        "CustomerNumber": "1042",
        "CorporateIdentityNumber": "30123456",
        "ContactPersonEmail": "inkoop@goudenkorst.nl",
        "ContactPersonName": "Anna de Vries",
        "CurrencyCode": "EUR",
        "EmailAddress": "",
        "InvoiceAddress1": "Dorpsstraat 12",
        "InvoiceAddress2": None,
        "InvoiceCity": "Utrecht",
        "InvoiceCountryCode": "nl",
        "InvoicePostalCode": "3512 AB",
        "Name": "  Bakkerij De Gouden Korst B.V.  ",
        "Note": "Prefers delivery before 7:00",
        "MobilePhone": "+31 6 12345678",
        "Telephone": None,
        "TermsOfPaymentId": "8f2a0000-0000-4000-8000-000000000030",
        "VatNumber": "nl 8123.45.678 b01",
        "WwwAddress": "https://goudenkorst.nl",
        "IsPrivatePerson": False,
        "IsActive": True,
        "DiscountPercentage": 0.0,
        "ChangedUtc": "2026-11-19T15:02:00Z",
    }
    return {**base, **changes}


def exact_account(**changes: Any) -> dict[str, Any]:
    """An Exact Online account (crm/Accounts) that is a customer."""
    base: dict[str, Any] = {
        "ID": ACCOUNT_ID,
        "Code": "              1042",
        "Name": "Bakkerij De Gouden Korst B.V.",
        "Email": "administratie@goudenkorst.nl",
        "Phone": "030-1234567",
        "Website": "",
        "VATNumber": "NL812345678B01",
        "ChamberOfCommerce": "30123456",
        "AddressLine1": "Dorpsstraat 12",
        "AddressLine2": "",
        "Postcode": "3512 AB",
        "City": "Utrecht",
        "Country": "NL ",
        "Status": "C",
        "IsSales": True,
        "Blocked": False,
        "SalesCurrency": "EUR",
        "PaymentConditionSales": "30",
        "Remarks": "",
        "Modified": "/Date(1763631720000)/",
    }
    return {**base, **changes}


def exact_item(**changes: Any) -> dict[str, Any]:
    """An Exact Online item (logistics/Items)."""
    base: dict[str, Any] = {
        "ID": ITEM_IDS["FLOUR-25"],
        "Code": "FLOUR-25",
        "Description": "Wheat flour type 550, 25 kg bag for professional bakeries and pastry",
        "ExtraDescription": "",
        "IsSalesItem": True,
        "IsStockItem": True,
        "ItemGroupCode": "RAW",
        "Unit": "pc",
        "StandardSalesPrice": 24.995,
        "StartDate": "/Date(1704067200000)/",
        "EndDate": None,
        "Barcode": "8712345678906",
    }
    return {**base, **changes}


def exact_item_warehouse(**changes: Any) -> dict[str, Any]:
    """Stock of one item (inventory/ItemWarehouses, as summed by the stock flow)."""
    base: dict[str, Any] = {
        "Item": ITEM_IDS["FLOUR-25"],
        "ItemCode": "FLOUR-25",
        "CurrentStock": 120.0,
        "PlannedStockOut": 17.5,
        "PlannedStockIn": 40.0,
        "ReservedStock": 0.0,
    }
    return {**base, **changes}


def exact_goods_delivery(**changes: Any) -> dict[str, Any]:
    """An Exact Online goods delivery (salesorder/GoodsDeliveries with its GoodsDeliveryLines)."""
    base: dict[str, Any] = {
        "EntryID": "9d000000-0000-4000-8000-000000000001",
        "DeliveryNumber": 5501,
        # 2026-11-21 00:30 Amsterdam wall-clock = 2026-11-20T23:30Z: the date must stay the 21st.
        "DeliveryDate": "/Date(1795221000000)/",
        "DeliveryAccount": ACCOUNT_ID,
        "TrackingNumber": "3SABCD1234567",
        "ShippingMethodCode": "POSTNL ",
        "GoodsDeliveryLines": [
            {"ItemCode": "FLOUR-25", "QuantityDelivered": 3.0, "SalesOrderLineID": "1"},
            {"ItemCode": "YEAST-1", "QuantityDelivered": 2.0, "SalesOrderLineID": "2"},
        ],
    }
    return {**base, **changes}
