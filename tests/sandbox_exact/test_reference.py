"""The simulator is held to the vendor reference (`exact-entities.json`, picqer's entity list), endpoint by endpoint:
its tables are subsets of the reference, it refuses what the reference does not list for THAT endpoint (HTTP 400 in
Exact's error shape), serves no endpoint the reference lacks, and drops read-only fields from writes."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.exact import ExactSim
from sandbox.exact.entities import BULK_VIEWS, ENTITIES, SYNC_VIEWS
from sandbox.exact.reference import reference

from .conftest import url

# sha256 of ../shared/reference/exact-entities.json (picqer/exact-php-client 8b350573, docs/exact-online-api.md §0)
VENDOR_SHA256 = "6016b90f885eb9ac515ee5ae46552d5a99c9d72adeea2d613bec1835bbae0d7d"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "exact-entities.json"
REPRESENTATION = {"Prefer": "return=representation"}


def _vendor() -> dict[str, Any]:
    """The reference as the vendor file has it (the shared copy when this machine has one, else the packaged one,
    whose hash is pinned below)."""
    path = SHARED if SHARED.exists() else None
    text = (
        path.read_text("utf-8")
        if path
        else resources.files("sandbox.exact").joinpath("exact-entities.json").read_text("utf-8")
    )
    entities: dict[str, Any] = json.loads(text)["entities"]
    return {str(e["url"]).lower(): e for e in entities.values()}


def test_packaged_reference_is_the_vendor_file_unchanged() -> None:
    packaged = resources.files("sandbox.exact").joinpath("exact-entities.json").read_bytes()
    assert hashlib.sha256(packaged).hexdigest() == VENDOR_SHA256


def test_every_entity_table_is_a_subset_of_the_reference_endpoint_by_endpoint() -> None:
    vendor = _vendor()
    for spec in ENTITIES.values():
        listed = vendor.get(spec.path.lower())
        assert listed is not None, f"{spec.path} is not an endpoint of the reference"
        fields = set(listed["fields"])
        assert set(spec.kinds) <= fields, (spec.path, sorted(set(spec.kinds) - fields))
        assert spec.modeled <= fields, (spec.path, sorted(spec.modeled - fields))
        if spec.lines is not None:
            assert listed["fields"][spec.lines.nav].endswith("[]")
    for view in [*SYNC_VIEWS.values(), *BULK_VIEWS.values()]:
        listed = vendor.get(view.path.lower())
        assert listed is not None, f"{view.path} is not an endpoint of the reference"
        assert set(view.kinds) == set(listed["fields"]) - {f for f, t in listed["fields"].items() if t.endswith("[]")}


def test_sync_and_regular_endpoints_have_their_own_fields() -> None:
    stock_rows = SYNC_VIEWS["sync/inventory/itemwarehouses"].kinds
    assert "CurrentStock" not in stock_rows and "PlannedStockOut" not in stock_rows
    assert {"CurrentStock", "PlannedStockOut", "ReservedStock"} <= set(ENTITIES["ItemWarehouses"].kinds)
    assert {"CurrentStock", "PlanningOut", "FreeStock"} <= set(SYNC_VIEWS["sync/inventory/stockpositions"].kinds)
    assert "StandardSalesPrice" in ENTITIES["Items"].kinds
    assert "StandardSalesPrice" not in SYNC_VIEWS["sync/logistics/items"].kinds
    assert (
        reference().has("sync/SalesOrder/GoodsDeliveries")
        and "ID" not in SYNC_VIEWS["sync/salesorder/goodsdeliveries"].kinds
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("sync/Inventory/ItemWarehouses", {"$select": "ID,CurrentStock", "$filter": "Timestamp gt 1"}),
        ("logistics/Units", {"$select": "ID,Created,Creator,Modified,Modifier"}),
        ("crm/Contacts", {"$select": "ID,AddressLine1", "$filter": "FirstName eq 'x'"}),
        ("sync/Logistics/Items", {"$select": "ID,StandardSalesPrice", "$filter": "Timestamp gt 1"}),
        ("sync/SalesOrder/GoodsDeliveries", {"$select": "ID,EntryID", "$filter": "Timestamp gt 1"}),
        ("crm/Accounts", {"$select": "ID,IsPurchase", "$filter": "Name eq 'x'"}),
        ("crm/Accounts", {"$select": "ID", "$filter": "Costcenter eq '100'"}),
        ("crm/Accounts", {"$select": "ID", "$filter": "Name eq 'x'", "$orderby": "IsPurchase desc"}),
        (
            "read/logistics/StockPosition",
            {"itemId": "guid'00000000-0000-0000-0000-000000000000'", "$select": "ItemCode"},
        ),
    ],
)
async def test_a_field_the_endpoint_lacks_is_a_400_in_exacts_shape(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, params: dict[str, str]
) -> None:
    response = await client.get(url(path), params=params, headers=headers)
    assert response.status_code == 400, response.text
    assert "No property" in response.json()["error"]["message"]["value"]


async def test_what_the_reference_lists_but_the_simulator_does_not_model_is_served_and_kept(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    created = await client.post(
        url("crm/Accounts"),
        headers={**headers, **REPRESENTATION},
        json={"Name": "Brandpunt BV", "Fax": "+31 20 555 0101", "TradeName": "Brandpunt"},
    )
    assert created.status_code == 201, created.text
    key = created.json()["d"]["ID"]
    read = await client.get(
        url(f"crm/Accounts(guid'{key}')"), params={"$select": "Fax,TradeName,Logo"}, headers=headers
    )
    assert read.json()["d"] == {
        "__metadata": read.json()["d"]["__metadata"],
        "Fax": "+31 20 555 0101",
        "TradeName": "Brandpunt",
        "Logo": None,
    }


async def test_a_body_field_the_endpoint_lacks_is_refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for body in ({"Name": "Kostenplaats BV", "Costcenter": "100"}, {"Name": "Inkoop BV", "IsPurchase": True}):
        response = await client.post(url("crm/Accounts"), headers=headers, json=body)
        assert response.status_code == 400
        assert "does not exist on type" in response.json()["error"]["message"]["value"]


async def test_read_only_fields_are_dropped_from_writes(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    account = next(a for a in sim.division().store("Accounts").records.values() if a["Name"] == "Koffiebar De Boon")
    item = sim.item_by_code("SKU-0001")
    response = await client.post(
        url("salesorder/SalesOrders"),
        headers={**headers, **REPRESENTATION},
        json={
            "OrderedBy": account["ID"],
            "OrderedByName": "Someone else",  # Exact fills in the account's name
            "AmountFC": 1,  # computed from the lines
            "Created": "/Date(0)/",  # audit: Exact's clock
            "PaymentConditionDescription": "made up",
            "SalesOrderLines": [{"Item": item["ID"], "Quantity": 1, "ItemDescription": "made up"}],
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()["d"]
    assert order["OrderedByName"] == "Koffiebar De Boon"
    assert order["AmountFC"] != 1 and order["Created"] != "/Date(0)/"
    assert order["PaymentConditionDescription"] != "made up"
    lines = await client.get(
        url("salesorder/SalesOrderLines"),
        params={"$filter": f"OrderID eq guid'{order['OrderID']}'", "$select": "ItemDescription"},
        headers=headers,
    )
    assert lines.json()["d"]["results"][0]["ItemDescription"] == item["Description"]
    put = await client.put(
        url(f"logistics/Items(guid'{item['ID']}')"),
        headers=headers,
        json={"ItemGroupCode": "TEA", "UnitDescription": "made up", "Notes": "kept"},
    )
    assert put.status_code == 204
    stored = sim.item_by_code("SKU-0001")
    assert (stored["ItemGroupCode"], stored["UnitDescription"], stored["Notes"]) == (
        item["ItemGroupCode"],
        item["UnitDescription"],
        "kept",
    )


async def test_no_endpoint_outside_the_reference(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for path in ("bulk/Logistics/Items", "bulk/CRM/Accounts", "inventory/StockPositions"):
        response = await client.get(url(path), params={"$select": "ID", "$filter": "ID ne null"}, headers=headers)
        assert response.status_code == 404, (path, response.text)
