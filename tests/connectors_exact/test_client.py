"""The connector's operations against the simulator: accounts, items, stock, orders, invoices, deliveries."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from connectors.errors import NotFound, PermanentError, Rejected, TransientError
from connectors.exact import ExactClient, SalesOrder, SalesOrderLine, build_exact_client
from sandbox.exact.entities import ENTITIES

from .conftest import DIVISION, START, Harness, exact_settings


async def _ids(exact: ExactClient) -> tuple[str, str, str]:
    account = await exact.find_account_by_code("1")
    first, second = await exact.find_item_by_code("SKU-0001"), await exact.find_item_by_code("SKU-0013")
    assert account is not None and first is not None and second is not None
    return account.id, first.id, second.id


async def test_division_comes_from_current_me_once_when_not_configured(harness: Harness) -> None:
    client = harness.client(division=None)
    await harness.connect(client)
    assert await client.division() == DIVISION
    assert await client.units() and await client.warehouses()
    assert harness.calls("GET current/Me") == 1
    assert harness.recorder.to("logistics/Units")  # the explicit division is in the URL
    assert all(r.headers["accept"] == "application/json" for r in harness.recorder.requests if "/v1/" in r.url.path)
    assert (await client.auth_status())["division"] == DIVISION
    # The rate budget is kept per division, fed by Exact's headers.
    budget = await harness.redis.hgetall(f"{harness.settings.redis.key_prefix}:ratelimit:exact:{DIVISION}")
    assert int(budget[b"m_limit"]) == 60 and int(budget[b"d_limit"]) == 5000


async def test_division_details_name_the_division(exact: ExactClient, harness: Harness) -> None:
    details = await exact.division_details()
    assert details is not None
    assert (details.code, details.description, details.current, details.status) == (DIVISION, "Demo BV", True, 1)
    (request,) = harness.recorder.to("system/Divisions")
    assert request.url.params["$filter"] == f"Code eq {DIVISION}"


async def test_account_code_is_padded_in_filters_and_bodies(exact: ExactClient, harness: Harness) -> None:
    created = await exact.create_account({"Name": "Koffie & Co", "Code": "4711", "Status": "C", "IsSales": True})
    assert created.code == "4711"  # read without the padding
    assert harness.sim.division().store("Accounts").records[created.id]["Code"] == " " * 14 + "4711"
    found = await exact.find_account_by_code("4711")
    assert found is not None and found.id == created.id
    sent = harness.recorder.to("crm/Accounts")[-1]
    assert sent.url.params["$filter"] == "Code eq '              4711'"
    assert await exact.find_account_by_code("4712") is None
    assert json.loads(harness.recorder.to("crm/Accounts", "POST")[0].content)["Code"] == " " * 14 + "4711"


async def test_accounts_and_contacts(exact: ExactClient, harness: Harness) -> None:
    created = await exact.create_account({"Name": "Rösterei Nord", "Email": "info@nord.de", "VATNumber": "DE123"})
    post = harness.recorder.to("crm/Accounts", "POST")[0]
    assert post.headers["prefer"] == "return=representation"
    assert created.name == "Rösterei Nord" and created.code  # Exact assigned the next code
    assert (await exact.find_account_by_email("info@nord.de")).id == created.id  # type: ignore[union-attr]
    assert (await exact.find_account_by_vat("DE123")).id == created.id  # type: ignore[union-attr]
    assert await exact.find_account_by_email("nobody@example.com") is None
    await exact.update_account(created.id, {"City": "Hamburg"})
    assert (await exact.get_account(created.id)).city == "Hamburg"
    contact = await exact.create_contact({"Account": created.id, "FirstName": "Jan", "Email": "jan@nord.de"})
    await exact.update_contact(contact.id, {"LastName": "Meier"})
    assert (await exact.get_contact(contact.id)).full_name == "Jan Meier"
    assert [c.id for c in await exact.contacts_of(created.id)] == [contact.id]
    rows = [a for page in [p async for p in exact.sync_accounts(1)] for a in page.rows]
    assert created.id in {a.id for a in rows} and next(a for a in rows if a.id == created.id).city == "Hamburg"


async def test_order_with_lines_is_one_post_and_found_by_yourref(exact: ExactClient, harness: Harness) -> None:
    account, first, second = await _ids(exact)
    delivery = datetime(2026, 5, 8, 7, 0, tzinfo=UTC)
    order = await exact.create_sales_order(
        SalesOrder(
            ordered_by=account,
            your_ref="WEB-1001",
            description="Webshop order 1001",
            delivery_date=delivery,
            sales_order_lines=[
                SalesOrderLine(item=first, quantity=Decimal("2"), unit_price=Decimal("24.95")),
                SalesOrderLine(item=second, quantity=Decimal("1"), unit_price=Decimal("7.50"), discount=Decimal("0.1")),
            ],
        )
    )
    assert harness.calls("POST salesorder/SalesOrders") == 1
    assert harness.calls("POST salesorder/SalesOrderLines") == 0
    assert order.order_id and order.order_number and order.your_ref == "WEB-1001"
    assert order.amount_fc_excl_vat == Decimal("56.65")  # 2 x 24.95 + 7.50 x 0.9, computed by Exact
    assert order.delivery_date == delivery

    found = await exact.find_sales_order_by_yourref("WEB-1001")
    assert found is not None and found.order_id == order.order_id
    assert (await exact.find_sales_order_by_yourref("WEB-1001", ordered_by=account)) is not None
    assert await exact.find_sales_order_by_yourref("WEB-9999") is None
    full = await exact.get_sales_order(order.order_id)
    assert [line.quantity for line in full.sales_order_lines or []] == [Decimal("2"), Decimal("1")]
    assert (await exact.get_sales_order(order.order_id, lines=False)).sales_order_lines is None

    await exact.update_sales_order(order.order_id, {"Remarks": "leave at the back door"})
    assert (await exact.get_sales_order(order.order_id, lines=False)).remarks == "leave at the back door"
    pages = [p async for p in exact.sync_sales_orders(1)]
    assert order.order_id in {o.order_id for p in pages for o in p.rows}


async def test_documents_without_lines_are_refused_before_any_call(exact: ExactClient, harness: Harness) -> None:
    account, _, _ = await _ids(exact)
    calls = harness.sim.counters()["total"]
    with pytest.raises(Rejected, match="SalesOrderLines"):
        await exact.create_sales_order({"OrderedBy": account, "SalesOrderLines": []})
    with pytest.raises(Rejected, match="SalesInvoiceLines"):
        await exact.create_sales_invoice({"OrderedBy": account, "Journal": "70"})
    assert harness.sim.counters()["total"] == calls


async def test_sales_invoices_plain_and_direct(exact: ExactClient, harness: Harness) -> None:
    account, first, _ = await _ids(exact)
    lines = [{"Item": first, "Quantity": 3, "UnitPrice": Decimal("24.95")}]
    invoice = await exact.create_sales_invoice(
        {"OrderedBy": account, "Journal": "70", "YourRef": "INV-1", "SalesInvoiceLines": lines}
    )
    assert invoice.type == 8020 and invoice.amount_fc_excl_vat == Decimal("74.85")
    assert invoice.status == 20 and invoice.invoice_date == START
    found = await exact.find_sales_invoice_by_yourref("INV-1")
    assert found is not None and found.invoice_id == invoice.invoice_id
    full = await exact.get_sales_invoice(invoice.invoice_id or "")
    assert full.sales_invoice_lines and full.sales_invoice_lines[0].gl_account  # defaulted from the item group

    calls = harness.calls("POST salesinvoice/SalesInvoices")
    with pytest.raises(Rejected, match="Warehouse"):
        await exact.create_sales_invoice(
            {"OrderedBy": account, "Journal": "70", "Type": 8023, "SalesInvoiceLines": lines}
        )
    assert harness.calls("POST salesinvoice/SalesInvoices") == calls  # refused before sending
    main = next(w for w in await exact.warehouses() if w.main)
    before = (await exact.stock_position(first)).in_stock or Decimal(0)
    direct = await exact.create_sales_invoice(
        {"OrderedBy": account, "Journal": "70", "Type": 8023, "Warehouse": main.id, "SalesInvoiceLines": lines}
    )
    assert direct.type == 8023
    assert (await exact.stock_position(first)).in_stock == before - 3  # a direct invoice moves stock


async def test_sales_entry_is_a_financial_booking(exact: ExactClient) -> None:
    account, _, _ = await _ids(exact)
    gl = {g.code: g.id for g in await exact.gl_accounts()}
    entry = await exact.create_sales_entry(
        {
            "Customer": account,
            "Journal": "70",
            "YourRef": "ENTRY-1",
            "SalesEntryLines": [{"GLAccount": gl["8000"], "AmountFC": Decimal("100.00"), "Description": "Coffee"}],
        }
    )
    assert entry.entry_id and entry.vat_amount_fc == Decimal("21.00")  # VAT code from the GL account
    found = await exact.find_sales_entry_by_yourref("ENTRY-1")
    assert found is not None and found.entry_id == entry.entry_id
    assert await exact.find_sales_entry_by_yourref("ENTRY-2") is None


async def test_goods_deliveries_of_an_order_with_tracking(exact: ExactClient, harness: Harness) -> None:
    account, first, second = await _ids(exact)
    lines = [{"Item": first, "Quantity": 5}, {"Item": second, "Quantity": 2}]
    order = await exact.create_sales_order({"OrderedBy": account, "YourRef": "WEB-2", "SalesOrderLines": lines})
    assert order.order_id and order.order_number
    assert await exact.goods_deliveries_of_order(order.order_id) == []
    cursor = [p async for p in exact.sync_goods_deliveries(1)][-1].timestamp
    harness.sim.clock.advance(3600)
    harness.sim.deliver_order(
        order.order_number, quantities={"SKU-0001": 2}, tracking_number="3SABC1", shipping_method="DHL"
    )
    harness.sim.deliver_order(order.order_number, tracking_number="3SABC2")

    deliveries = await exact.goods_deliveries_of_order(order.order_id)
    assert [d.tracking_number for d in deliveries] == ["3SABC1", "3SABC2"]
    assert deliveries[0].shipping_method_code == "DHL" and deliveries[1].shipping_method is None
    shipped = {(line.item_code, line.quantity_delivered) for d in deliveries for line in d.goods_delivery_lines or []}
    assert shipped == {("SKU-0001", Decimal("2")), ("SKU-0001", Decimal("3")), ("SKU-0013", Decimal("2"))}
    assert all(
        line.sales_order_number == order.order_number for d in deliveries for line in d.goods_delivery_lines or []
    )
    assert deliveries[0].created == START.replace(hour=11)  # an hour after the start, in UTC
    # $select is sent on every GoodsDeliveries read, the GET by key included (the real API demands it).
    assert all("$select" in r.url.params for r in harness.recorder.requests if "GoodsDeliver" in r.url.path)

    one = await exact.get_goods_delivery(deliveries[0].entry_id or "")
    assert one.tracking_number == "3SABC1" and len(one.goods_delivery_lines or []) == 1
    assert (await exact.get_sales_order(order.order_id)).status == 21
    assert [d.entry_id for p in [p async for p in exact.sync_goods_deliveries(cursor)] for d in p.rows] == [
        d.entry_id for d in deliveries
    ]
    again = await exact.goods_deliveries_of_order(order.order_id, order_number=order.order_number)
    assert [d.entry_id for d in again] == [d.entry_id for d in deliveries]


async def test_stock_per_warehouse_and_over_all(exact: ExactClient, harness: Harness) -> None:
    _, first, _ = await _ids(exact)
    harness.sim.set_stock("SKU-0001", 12, "2")
    rows = await exact.item_warehouses(first)
    assert sorted((r.warehouse_code, r.current_stock) for r in rows)[1] == ("2", Decimal("12"))
    one = await exact.find_item_warehouse(rows[0].id)
    assert one is not None and one.item == first
    total = await exact.stock_position(first)
    assert total.in_stock == sum((r.current_stock or Decimal(0)) for r in rows)
    # The incremental read with quantities: sync/Inventory/StockPositions (sync/Inventory/ItemWarehouses has none).
    positions = [s for p in [p async for p in exact.sync_stock_positions(1)] for s in p.rows if s.item_id == first]
    assert {s.warehouse_code: s.current_stock for s in positions}["2"] == Decimal("12")
    assert {s.warehouse_code: s.planning_out for s in positions} == {
        r.warehouse_code: r.planned_stock_out for r in rows
    }
    with pytest.raises(NotFound):
        await exact.stock_position(str(uuid.uuid4()))  # `d` is an empty array for an unknown item
    assert await exact.find_item_warehouse(str(uuid.uuid4())) is None


async def test_deletions_come_from_sync_deleted(exact: ExactClient, harness: Harness) -> None:
    item = await exact.create_item({"Code": "TMP-1", "Description": "Temporary"})
    cursor = [p async for p in exact.sync_deleted(1)][-1].timestamp
    harness.sim.engine.delete(harness.sim.division(), ENTITIES["Items"], item.id)  # deleted in Exact's UI
    pages = [p async for p in exact.sync_deleted(cursor)]
    rows = [d for p in pages for d in p.rows]
    assert [(d.entity_key, d.entity_type) for d in rows] == [(item.id, 9)]
    assert rows[0].deleted_date == START and pages[-1].timestamp == rows[0].timestamp


async def test_find_by_key_answers_none_for_a_deleted_record_without_a_404(
    exact: ExactClient, harness: Harness
) -> None:
    account_id, item_id, _ = await _ids(exact)
    item = await exact.find_item(item_id)
    assert item is not None and item.code == "SKU-0001"
    assert (await exact.find_account(account_id)) is not None
    gone = str(uuid.uuid4())
    before = harness.sim.counters()["by_status"]
    assert await exact.find_item(gone) is None
    assert await exact.find_account(gone) is None
    assert await exact.find_item_warehouse(gone) is None
    assert await exact.find_goods_delivery(gone) is None
    # No 404 was spent: Exact blocks an app for an hour after 10 errors an hour on one endpoint.
    assert harness.sim.counters()["by_status"].get("404", 0) == before.get("404", 0)
    with pytest.raises(NotFound):  # where a GET by key would have spent one
        await exact.get_item(gone)
    assert harness.sim.counters()["by_status"]["404"] == before.get("404", 0) + 1


async def test_item_free_fields_are_read(exact: ExactClient, harness: Harness) -> None:
    harness.sim.upsert_item("SKU-0001", {"FreeTextField_01": "organic", "FreeBoolField_02": True})
    item = await exact.find_item_by_code("SKU-0001")
    assert item is not None and item.free_text_field_01 == "organic" and item.free_bool_field_02 is True


class _Garbled(httpx.AsyncBaseTransport):
    """Answers one resource with something Exact's reference does not allow (not JSON, or the wrong shape)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, resource: str, content: bytes) -> None:
        self.inner, self.resource, self.content = inner, resource, content

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self.resource):
            return httpx.Response(200, content=self.content, request=request)
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"<html>proxy error</html>", TransientError),
        (b'{"value": []}', PermanentError),  # not an OData answer
        (b'{"d": {"results": [{"ID": {"nested": 1}}]}}', PermanentError),  # a row the model cannot hold
    ],
)
async def test_an_answer_the_model_cannot_hold_is_a_connector_error(
    harness: Harness, content: bytes, error: type[Exception]
) -> None:
    async with httpx.AsyncClient(transport=_Garbled(harness.recorder, "/logistics/Units", content)) as http:
        client = build_exact_client(
            exact_settings(harness.settings), http, harness.redis, clock=harness.clock, sleep=harness.sleep
        )
        response = await http.get(client.authorize_url("s"))
        await client.exchange_code(httpx.URL(response.headers["location"]).params["code"])
        with pytest.raises(error):
            await client.units()
