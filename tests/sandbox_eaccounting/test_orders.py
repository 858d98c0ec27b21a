"""Orders: the seeded demo, shop-created orders, status changes, stock and invoicing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from sandbox.eaccounting import EAccountingSim


def _writable(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k not in ("Id", "CreatedUtc", "ModifiedUtc", "Number")}


async def _article(client: httpx.AsyncClient, auth: dict[str, str], number: str) -> dict[str, Any]:
    found = await client.get("/v2/articles", params={"$filter": f"Number eq '{number}'"}, headers=auth)
    [article] = found.json()["Data"]
    return dict(article)


async def test_seeded_orders_cover_statuses_currencies_and_the_orphan_sku(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    orders = (await client.get("/v2/orders", params={"$pagesize": 100}, headers=auth)).json()["Data"]
    assert len(orders) == 17
    assert {o["Status"] for o in orders} == {1, 2, 3, 4}
    assert {o["CurrencyCode"] for o in orders} == {"EUR", "NOK", "SEK", "USD"}
    assert all(1 <= len(o["Rows"]) <= 11 for o in orders)
    skus = {r["ArticleNumber"] for o in orders for r in o["Rows"]}
    assert "SKU-9999" in skus
    assert "SHIPPING" in skus
    orphan = next(o for o in orders if any(r["ArticleNumber"] == "SKU-9999" for r in o["Rows"]))
    assert orphan["Status"] == 2
    for order in orders:
        rows = [r for r in order["Rows"] if not r["IsTextRow"]]
        net = sum(
            (
                Decimal(str(r["Quantity"]))
                * Decimal(str(r["UnitPrice"]))
                * (1 - Decimal(str(r.get("DiscountPercentage") or 0)))
            ).quantize(Decimal("0.01"))
            for r in rows
        )
        assert Decimal(str(order["Amount"])) == net


async def test_shop_order_then_ship_moves_stock(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    before = await _article(client, auth, "SKU-0012")
    placed = await client.post(
        "/_sim/orders",
        json={
            "customer_number": "1002",
            "rows": [{"article_number": "SKU-0012", "quantity": 2}],
            "shipping_amount": "6.95",
            "your_reference": "WEB-777",
        },
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["Status"] == 2
    assert [r["ArticleNumber"] for r in order["Rows"]] == ["SKU-0012", "SHIPPING"]
    assert Decimal(str(order["Amount"])) == Decimal("9.95") * 2 + Decimal("6.95")  # cold brew and shipping
    assert Decimal(str(order["VatAmount"])) == Decimal("3.25")  # 19.90 at 9 % + 6.95 at 21 % = 1.791 + 1.4595
    reserved = await _article(client, auth, "SKU-0012")
    assert reserved["StockBalanceReserved"] == before["StockBalanceReserved"] + 2
    assert reserved["StockBalance"] == before["StockBalance"]

    sim.advance_clock(60)
    body = _writable(order) | {"Status": 3}
    shipped = await client.put(f"/v2/orders/{order['Id']}", json=body, headers=auth)
    assert shipped.status_code == 200, shipped.text
    # The answer is typed only `object` in the description: by default a few members, not the order.
    assert shipped.json() == {"Id": order["Id"], "Number": order["Number"], "Status": 3}
    stored = (await client.get(f"/v2/orders/{order['Id']}", headers=auth)).json()
    assert stored["ShippedDateTime"] == "2026-03-02T00:00:00"
    assert stored["ModifiedUtc"] == "2026-03-02T10:01:00.000Z"
    after = await _article(client, auth, "SKU-0012")
    assert after["StockBalance"] == before["StockBalance"] - 2
    assert after["StockBalanceReserved"] == before["StockBalanceReserved"]
    assert after["ChangedUtc"] == "2026-03-02T10:01:00.000Z"


async def test_invoiced_order_cannot_change_and_shipped_cannot_be_deleted(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    orders = (await client.get("/v2/orders", params={"$filter": "Status ge 3"}, headers=auth)).json()["Data"]
    invoiced = next(o for o in orders if o["Status"] == 4)
    refused = await client.put(f"/v2/orders/{invoiced['Id']}", json=_writable(invoiced), headers=auth)
    assert refused.status_code == 400
    assert refused.json()["ErrorCode"] == 4002
    shipped = next(o for o in orders if o["Status"] == 3)
    assert (await client.delete(f"/v2/orders/{shipped['Id']}", headers=auth)).json()["ErrorCode"] == 4001


async def test_new_order_must_be_draft_or_ongoing(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    order = (await client.get("/v2/orders", params={"$pagesize": 1}, headers=auth)).json()["Data"][0]
    body = _writable(order) | {"Status": 3}
    body["Rows"] = [{k: v for k, v in r.items() if k != "Id"} for r in body["Rows"]]
    response = await client.post("/v2/orders", json=body, headers=auth)
    assert response.status_code == 400
    created = await client.post("/v2/orders", json=body | {"Status": 1}, headers=auth)
    assert created.status_code == 200, created.text
    assert created.json()["Number"] == 1018
    deleted = await client.delete(f"/v2/orders/{created.json()['Id']}", headers=auth)
    assert deleted.status_code == 200
    assert deleted.content == b""


async def test_order_row_needs_a_known_article(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    order = (await client.get("/v2/orders", params={"$filter": "Status eq 2", "$pagesize": 1}, headers=auth)).json()
    body = _writable(order["Data"][0])
    body["Rows"][0]["ArticleId"] = "00000000-0000-0000-0000-00000000abcd"
    response = await client.put(f"/v2/orders/{order['Data'][0]['Id']}", json=body, headers=auth)
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 3000
    assert "Rows[0].ArticleId" in response.json()["DeveloperErrorMessage"]


async def test_shop_order_for_unknown_sku_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_sim/orders", json={"customer_number": "1001", "rows": [{"article_number": "SKU-4242", "quantity": 1}]}
    )
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 3000


async def test_invoice_draft_converts_to_invoice(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    customer = (await client.get("/v2/customers", params={"$filter": "CustomerNumber eq '1011'"}, headers=auth)).json()
    article = await _article(client, auth, "SKU-0001")
    draft_body = {
        "CustomerId": customer["Data"][0]["Id"],
        "RotReducedInvoicingType": 0,
        "InvoiceCustomerName": "Kaffeehaus Müller GmbH",
        "InvoicePostalCode": "20095",
        "InvoiceCity": "Hamburg",
        "InvoiceCountryCode": "DE",
        "EuThirdParty": False,
        "CustomerIsPrivatePerson": False,
        "Rows": [
            {
                "LineNumber": 1,
                "ArticleId": article["Id"],
                "IsTextRow": False,
                "Text": "Espresso beans 1kg",
                "ReversedConstructionServicesVatFree": False,
                "Quantity": 3,
                "UnitPrice": 25.10,
            }
        ],
    }
    draft = await client.post("/v2/customerinvoicedrafts", json=draft_body, headers=auth)
    assert draft.status_code == 200, draft.text
    assert draft.json()["TotalAmount"] == 75.3
    assert draft.json()["TotalVatAmount"] == 0  # EU company: reverse charge
    invoice = await client.post(f"/v2/customerinvoicedrafts/{draft.json()['Id']}/convert", headers=auth)
    assert invoice.status_code == 200, invoice.text
    assert invoice.json()["InvoiceNumber"] == 10001
    assert invoice.json()["DueDate"] == "2026-03-10T00:00:00"  # the customer's 8 days
    gone = await client.get(f"/v2/customerinvoicedrafts/{draft.json()['Id']}", headers=auth)
    assert gone.status_code == 404
    listed = await client.get("/v2/customerinvoices", params={"modifiedSinceUtc": "2026-03-02T09:00:00Z"}, headers=auth)
    assert [i["Id"] for i in listed.json()["Data"]] == [invoice.json()["Id"]]


async def test_voucher_must_balance_and_use_known_accounts(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    rows = [{"AccountNumber": 1100, "DebitAmount": 100.0}, {"AccountNumber": 8000, "CreditAmount": 80.0}]
    body = {"VoucherDate": "2026-03-02T00:00:00", "VoucherText": "Cash sale", "Rows": rows}
    assert (await client.post("/v2/vouchers", json=body, headers=auth)).status_code == 400
    rows[1]["CreditAmount"] = 100.0
    created = await client.post("/v2/vouchers", json=body, headers=auth)
    assert created.status_code == 200, created.text
    assert created.json()["NumberAndNumberSeries"] == "A1"
    year = next(y for y in sim.table("fiscalyears").values() if y["StartDate"].startswith("2026"))
    fetched = await client.get(f"/v2/vouchers/{year['Id']}/{created.json()['Id']}", headers=auth)
    assert fetched.json()["VoucherText"] == "Cash sale"
    rows[0]["AccountNumber"] = 9999
    missing = await client.post("/v2/vouchers", json=body, headers=auth)
    assert missing.json()["ErrorCode"] == 3002
    body["VoucherDate"] = "2019-01-01T00:00:00"
    assert (await client.post("/v2/vouchers", json=body, headers=auth)).json()["ErrorCode"] == 3001


async def test_a_bare_date_for_a_date_time_field_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """The description types VoucherDate `format: date-time` (its text says "Format: YYYY-MM-DD"): a bare date does
    not satisfy the format, a date with a midnight time satisfies both."""
    rows = [{"AccountNumber": 1100, "DebitAmount": 10}, {"AccountNumber": 8000, "CreditAmount": 10}]
    bare = await client.post(
        "/v2/vouchers", json={"VoucherDate": "2026-03-02", "VoucherText": "x", "Rows": rows}, headers=auth
    )
    assert bare.status_code == 400
    assert "VoucherDate" in bare.json()["DeveloperErrorMessage"]
    timed = {"VoucherDate": "2026-03-02T00:00:00", "VoucherText": "x", "Rows": rows}
    assert (await client.post("/v2/vouchers", json=timed, headers=auth)).status_code == 200
