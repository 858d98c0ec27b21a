"""Writes: deep insert of orders with lines, validation errors naming the property, PUT/DELETE, invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from sandbox.exact import ExactSim

from .conftest import url

REPRESENTATION = {"Prefer": "return=representation"}


def _message(response: httpx.Response) -> str:
    text: str = response.json()["error"]["message"]["value"]
    return text


def _account(sim: ExactSim, name: str = "Koffiebar De Boon") -> dict[str, Any]:
    return next(a for a in sim.division().store("Accounts").records.values() if a["Name"] == name)


async def test_sales_order_with_lines_in_one_post(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    account = _account(sim)
    espresso = sim.item_by_code("SKU-0001")
    kettle = sim.item_by_code("SKU-0025")
    before = sim.engine.item_warehouses(sim.division(), espresso["ID"])[0]["PlannedStockOut"]
    response = await client.post(
        url("salesorder/SalesOrders"),
        headers={**headers, **REPRESENTATION},
        json={
            "OrderedBy": account["ID"],
            "YourRef": "EA-10001",
            "Description": "Webshop order 10001",
            "SalesOrderLines": [
                {"Item": espresso["ID"], "Quantity": 3, "UnitPrice": 24.95},
                {"Item": kettle["ID"], "Quantity": 1, "Discount": 0.1},
            ],
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()["d"]
    assert order["OrderNumber"] == 4  # three demo orders exist
    assert order["YourRef"] == "EA-10001"
    assert order["Status"] == 12
    assert "__deferred" in order["SalesOrderLines"]
    # 3 x 24.95 at 9 % + 64.50 less 10 % = 58.05 at 21 %
    assert '"AmountFCExclVat":132.90' in response.text
    assert Decimal(str(order["AmountFC"])) == Decimal("74.85") + Decimal("6.74") + Decimal("58.05") + Decimal("12.19")
    lines = await client.get(
        url("salesorder/SalesOrderLines"),
        params={"$filter": f"OrderID eq guid'{order['OrderID']}'", "$select": "LineNumber,ItemCode,AmountFC,VATCode"},
        headers=headers,
    )
    assert sorted((r["LineNumber"], r["ItemCode"], r["VATCode"]) for r in lines.json()["d"]["results"]) == [
        (1, "SKU-0001", "1"),
        (2, "SKU-0025", "2"),
    ]
    after = sim.engine.item_warehouses(sim.division(), espresso["ID"])[0]["PlannedStockOut"]
    assert after - before == 3


async def test_post_without_prefer_returns_mostly_nulls(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    response = await client.post(url("crm/Accounts"), headers=headers, json={"Name": "Quiet Café"})
    assert response.status_code == 201
    d = response.json()["d"]
    assert d["ID"] and d["Name"] is None
    assert sim.division().store("Accounts").records[d["ID"]]["Name"] == "Quiet Café"


async def test_unknown_property_is_400(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    response = await client.post(url("crm/Accounts"), headers=headers, json={"Name": "X", "Nmae": "typo"})
    assert response.status_code == 400
    assert "'Nmae' does not exist" in _message(response)
    line = await client.post(
        url("salesorder/SalesOrders"),
        headers=headers,
        json={
            "OrderedBy": _account(sim)["ID"],
            "SalesOrderLines": [{"Item": sim.item_by_code("SKU-0001")["ID"], "Quantity": 1, "Qty": 2}],
        },
    )
    assert line.status_code == 400
    assert _message(line).startswith("SalesOrderLines[0].")
    assert "'Qty'" in _message(line)


async def test_missing_mandatory_fields(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    item = sim.item_by_code("SKU-0001")["ID"]
    no_customer = await client.post(
        url("salesorder/SalesOrders"), headers=headers, json={"SalesOrderLines": [{"Item": item, "Quantity": 1}]}
    )
    assert no_customer.status_code == 400
    assert "OrderedBy" in _message(no_customer)
    no_lines = await client.post(
        url("salesorder/SalesOrders"), headers=headers, json={"OrderedBy": _account(sim)["ID"]}
    )
    assert no_lines.status_code == 400
    assert "SalesOrderLines" in _message(no_lines)
    empty_lines = await client.post(
        url("salesorder/SalesOrders"), headers=headers, json={"OrderedBy": _account(sim)["ID"], "SalesOrderLines": []}
    )
    assert empty_lines.status_code == 400
    no_name = await client.post(url("crm/Accounts"), headers=headers, json={"City": "Utrecht"})
    assert no_name.status_code == 400
    assert "Name" in _message(no_name)


async def test_bad_and_unknown_guids(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    account = _account(sim)["ID"]
    malformed = await client.post(
        url("salesorder/SalesOrders"),
        headers=headers,
        json={"OrderedBy": "not-a-guid", "SalesOrderLines": [{"Item": sim.item_by_code("SKU-0001")["ID"]}]},
    )
    assert malformed.status_code == 400
    assert "OrderedBy" in _message(malformed)
    ghost_item = await client.post(
        url("salesorder/SalesOrders"),
        headers=headers,
        json={
            "OrderedBy": account,
            "SalesOrderLines": [{"Item": "00000000-0000-4000-8000-000000000000", "Quantity": 1}],
        },
    )
    assert ghost_item.status_code == 400
    assert "SalesOrderLines[0].Item" in _message(ghost_item)
    ghost_vat = await client.post(
        url("salesorder/SalesOrders"),
        headers=headers,
        json={
            "OrderedBy": account,
            "SalesOrderLines": [{"Item": sim.item_by_code("SKU-0001")["ID"], "Quantity": 1, "VATCode": "77"}],
        },
    )
    assert ghost_vat.status_code == 400
    assert "VATCode" in _message(ghost_vat)


async def test_type_errors(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    response = await client.post(url("crm/Accounts"), headers=headers, json={"Name": "X", "IsSales": "yes"})
    assert response.status_code == 400
    assert "IsSales" in _message(response)
    fraction = await client.post(
        url("salesorder/SalesOrders"),
        headers=headers,
        json={"OrderedBy": _account(sim)["ID"], "SalesOrderLines": [{"Item": sim.item_by_code("SKU-0001")["ID"],
                                                                      "Quantity": 1.5}]},
    )  # fmt: skip
    assert fraction.status_code == 400
    assert "Quantity" in _message(fraction)
    not_json = await client.post(
        url("crm/Accounts"), headers={**headers, "Content-Type": "application/json"}, content=b"{"
    )
    assert not_json.status_code == 400


async def test_put_and_delete(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    order = next(iter(sim.division().store("SalesOrders").records.values()))
    key = f"salesorder/SalesOrders(guid'{order['OrderID']}')"
    put = await client.put(url(key), headers=headers, json={"Description": "Changed", "YourRef": "NEW-REF"})
    assert put.status_code == 204
    assert put.content == b""
    stored = sim.division().store("SalesOrders").records[order["OrderID"]]
    assert (stored["Description"], stored["YourRef"]) == ("Changed", "NEW-REF")
    assert stored["Timestamp"] > order["Timestamp"]
    immutable = await client.put(
        url(key), headers=headers, json={"OrderedBy": _account(sim, "Hotel Amstel Zuid")["ID"]}
    )
    assert immutable.status_code == 400
    assert "OrderedBy" in _message(immutable)
    assert (await client.delete(url(key), headers=headers)).status_code == 204
    assert (await client.get(url(key), headers=headers)).status_code == 404


async def test_account_code_is_padded_and_unique(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    first = await client.post(
        url("crm/Accounts"), headers={**headers, **REPRESENTATION}, json={"Name": "A", "Code": "C100"}
    )
    assert first.json()["d"]["Code"] == "C100".rjust(18)
    again = await client.post(url("crm/Accounts"), headers=headers, json={"Name": "B", "Code": "C100"})
    assert again.status_code == 400
    assert "Code" in _message(again)


async def test_item_create_and_duplicate_code(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    ok = await client.post(
        url("logistics/Items"),
        headers={**headers, **REPRESENTATION},
        json={"Code": "SKU-5000", "Description": "Oat milk 1l", "IsSalesItem": True, "StandardSalesPrice": "2.49"},
    )
    assert ok.status_code == 201
    assert ok.json()["d"]["ItemGroupCode"] == "COFFEE"  # the default item group
    duplicate = await client.post(
        url("logistics/Items"), headers=headers, json={"Code": "SKU-5000", "Description": "x"}
    )
    assert duplicate.status_code == 400
    too_long = await client.post(url("logistics/Items"), headers=headers, json={"Code": "L", "Description": "x" * 61})
    assert too_long.status_code == 400
    assert "Description" in _message(too_long)


async def test_direct_invoice_needs_a_warehouse_and_moves_stock(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    item = sim.item_by_code("SKU-0002")
    sim.set_stock("SKU-0002", 50)
    body: dict[str, Any] = {
        "Journal": "70",
        "Type": 8023,
        "OrderedBy": _account(sim)["ID"],
        "YourRef": "EA-INV-1",
        "SalesInvoiceLines": [{"Item": item["ID"], "Quantity": 4}],
    }
    missing = await client.post(url("salesinvoice/SalesInvoices"), headers=headers, json=body)
    assert missing.status_code == 400
    assert "Warehouse" in _message(missing)
    warehouse = sim.division().store("Warehouses").by_code_get("1")
    assert warehouse is not None
    created = await client.post(
        url("salesinvoice/SalesInvoices"),
        headers={**headers, **REPRESENTATION},
        json={**body, "Warehouse": warehouse["ID"]},
    )
    assert created.status_code == 201, created.text
    invoice = created.json()["d"]
    assert invoice["Type"] == 8023 and invoice["Status"] == 20
    assert invoice["InvoiceNumber"] == 26000001
    assert sim.item_by_code("SKU-0002")["Stock"] == 46
    line = next(iter(sim.division().store("SalesInvoiceLines").records.values()))
    assert line["GLAccount"] == sim.division().store("GLAccounts").by_code["8000"]  # from the item group


async def test_invoice_needs_a_sales_journal(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    response = await client.post(
        url("salesinvoice/SalesInvoices"),
        headers=headers,
        json={"Journal": "90", "OrderedBy": _account(sim)["ID"],
              "SalesInvoiceLines": [{"Item": sim.item_by_code("SKU-0002")["ID"], "Quantity": 1}]},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Journal" in _message(response)


async def test_sales_entry(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    gl = sim.division().store("GLAccounts").by_code["8100"]
    response = await client.post(
        url("salesentry/SalesEntries"),
        headers={**headers, **REPRESENTATION},
        json={"Customer": _account(sim)["ID"], "Journal": "70", "YourRef": "EA-FIN-1",
              "SalesEntryLines": [{"GLAccount": gl, "AmountFC": "100.00", "VATCode": "2"}]},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert '"AmountFC":121.00' in response.text


async def test_goods_delivery_post_completes_the_order(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    order = next(iter(sim.division().store("SalesOrders").records.values()))
    lines = sim.engine.order_lines(sim.division(), order["OrderID"])
    dhl = sim.division().store("ShippingMethods").by_code["DHL"]
    stock_before = sim.item_by_code(lines[0]["ItemCode"])["Stock"]
    too_much = await client.post(
        url("salesorder/GoodsDeliveries"),
        headers=headers,
        json={"DeliveryDate": "2026-05-04T12:00:00",
              "GoodsDeliveryLines": [{"SalesOrderLineID": lines[0]["ID"], "QuantityDelivered": 99}]},
    )  # fmt: skip
    assert too_much.status_code == 400
    assert "QuantityDelivered" in _message(too_much)
    response = await client.post(
        url("salesorder/GoodsDeliveries"),
        headers={**headers, **REPRESENTATION},
        json={
            "DeliveryDate": "2026-05-04T12:00:00",
            "TrackingNumber": "3SABC123",
            "ShippingMethod": dhl,
            "GoodsDeliveryLines": [
                {"SalesOrderLineID": line["ID"], "QuantityDelivered": int(line["Quantity"])} for line in lines
            ],
        },
    )
    assert response.status_code == 201, response.text
    delivery = response.json()["d"]
    assert (delivery["TrackingNumber"], delivery["ShippingMethodCode"]) == ("3SABC123", "DHL")
    stored = sim.division().store("SalesOrders").records[order["OrderID"]]
    assert (stored["DeliveryStatus"], stored["Status"]) == (21, 21)
    assert sim.item_by_code(lines[0]["ItemCode"])["Stock"] == stock_before - lines[0]["Quantity"]
    completed = await client.put(
        url(f"salesorder/SalesOrders(guid'{order['OrderID']}')"), headers=headers, json={"Description": "late"}
    )
    assert completed.status_code == 400


async def test_content_type_is_required(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(url("crm/Accounts"), headers=headers, content=b'{"Name": "X"}')
    assert response.status_code == 415


async def test_order_lines_endpoint(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    order = next(iter(sim.division().store("SalesOrders").records.values()))
    item = sim.item_by_code("SKU-0030")
    added = await client.post(
        url("salesorder/SalesOrderLines"),
        headers={**headers, **REPRESENTATION},
        json={"OrderID": order["OrderID"], "Item": item["ID"], "Quantity": 2},
    )
    assert added.status_code == 201, added.text
    line = added.json()["d"]
    assert line["LineNumber"] == 3
    total = sim.division().store("SalesOrders").records[order["OrderID"]]["AmountFCExclVat"]
    assert total == order["AmountFCExclVat"] + 2 * item["StandardSalesPrice"]
    key = url(f"salesorder/SalesOrderLines(guid'{line['ID']}')")
    assert (await client.put(key, headers=headers, json={"Quantity": 1})).status_code == 204
    total = sim.division().store("SalesOrders").records[order["OrderID"]]["AmountFCExclVat"]
    assert total == order["AmountFCExclVat"] + item["StandardSalesPrice"]
    assert (await client.delete(key, headers=headers)).status_code == 204
    assert sim.division().store("SalesOrders").records[order["OrderID"]]["AmountFCExclVat"] == order["AmountFCExclVat"]


async def test_item_warehouses_by_item(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    item = sim.item_by_code("SKU-0004")
    sim.set_stock("SKU-0004", 5, warehouse_code="2")
    response = await client.get(
        url("inventory/ItemWarehouses"),
        params={"$filter": f"Item eq guid'{item['ID']}'", "$select": "WarehouseCode,CurrentStock"},
        headers=headers,
    )
    rows = sorted((r["WarehouseCode"], r["CurrentStock"]) for r in response.json()["d"]["results"])
    assert rows[1] == ("2", 5)
    assert sim.item_by_code("SKU-0004")["Stock"] == rows[0][1] + 5


async def test_sim_accounts_control(client: httpx.AsyncClient, sim: ExactSim) -> None:
    created = await client.post("/_sim/accounts", json={"Name": "UI Customer", "Email": "ui@example.com"})
    assert created.status_code == 200, created.text
    key = created.json()["ID"]
    changed = await client.post("/_sim/accounts", json={"id": key, "Email": "new@example.com"})
    assert changed.json()["Email"] == "new@example.com"
    assert sim.division().store("Accounts").records[key]["Email"] == "new@example.com"
