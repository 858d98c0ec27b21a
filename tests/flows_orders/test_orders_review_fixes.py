"""Defects a review found in the orders flow, each reproduced end to end against both simulators."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flows.exact_accounts import CUSTOMER_KIND
from flows.orders import ORDERS
from tests.flows_orders.conftest import World


def _records(world: World, entity: str) -> list[dict[str, Any]]:
    return list(world.exact_sim.division().store(entity).records.values())


def _lines(world: World, order_id: str) -> list[dict[str, Any]]:
    return [line for line in _records(world, "SalesOrderLines") if line["OrderID"] == order_id]


async def test_a_freight_row_becomes_exactly_one_shipping_line(world: World, make_order: Callable[..., str]) -> None:
    order_id = make_order("1001", [("SKU-0001", 1)], shipping_amount=Decimal("6.95"))  # a row on article SHIPPING
    outcome = await world.run(world.ctx(), order_id)
    assert outcome.action == "created"
    shipping = next(i for i in _records(world, "Items") if i["Code"] == "SHIPPING")
    lines = _lines(world, outcome.target_id or "")
    freight = [line for line in lines if line["Item"] == shipping["ID"]]
    assert len(freight) == 1 and freight[0]["UnitPrice"] == Decimal("6.95")
    assert len(lines) == 2  # the article and one shipping line, not two
    assert freight[0]["VATCode"] == "2" and shipping["SalesVatCode"] == "2"  # the freight article's 21 %


async def test_the_freight_row_uses_the_configured_shipping_item(world: World, make_order: Callable[..., str]) -> None:
    world.exact_sim.upsert_item("FREIGHT", {"Description": "Freight", "IsSalesItem": True, "SalesVatCode": "2"})
    order_id = make_order("1001", [("SKU-0001", 1)], shipping_amount=Decimal("12.50"))
    outcome = await world.run(world.ctx(shipping_item_code="FREIGHT"), order_id)
    freight = next(i for i in _records(world, "Items") if i["Code"] == "FREIGHT")
    lines = _lines(world, outcome.target_id or "")
    assert [line["UnitPrice"] for line in lines if line["Item"] == freight["ID"]] == [Decimal("12.50")]
    assert not any(i["Code"] == "SHIPPING" for i in _records(world, "Items"))


async def test_an_order_changed_while_the_poll_runs_is_not_skipped(
    world: World, make_order: Callable[..., str]
) -> None:
    """The status-2 listing is read; then X is created as ongoing and Y (ongoing) is shipped; the status-3
    listing returns Y. A cursor at Y's ModifiedUtc would skip X for good."""
    assert ORDERS.poll is not None
    y = make_order("1009", [("SKU-0001", 1)])
    world.ea_sim.advance_clock(60)
    pages = ORDERS.poll(world.ctx(), None).__aiter__()
    first = await pages.__anext__()
    assert y in first.record_ids  # the ongoing listing is read
    world.ea_sim.advance_clock(1)
    x = make_order("1010", [("SKU-0002", 1)])
    world.ea_sim.advance_clock(1)
    world.ea_sim.put("orders", {**world.ea_sim.get("orders", y), "Status": 3})
    cursor = None
    async for page in pages:
        cursor = page.cursor or cursor
    assert cursor is not None
    world.ea_sim.advance_clock(60)
    again = [i async for page in ORDERS.poll(world.ctx(), cursor) for i in page.record_ids]
    assert x in again


async def test_invoice_prices_including_vat_are_sent_excluding_it(world: World, make_order: Callable[..., str]) -> None:
    from sandbox.eaccounting.domain import _invoice_rules
    from sandbox.eaccounting.resources import RESOURCES

    order = world.ea_sim.get("orders", make_order("1010", [("SKU-0001", 2)]))
    invoice = world.ea_sim.blank(RESOURCES["customerinvoices"])
    for key in invoice:
        if key in order and key not in ("Id", "CreatedUtc", "ModifiedUtc", "Rows", "Status"):
            invoice[key] = order[key]
    invoice["Rows"] = [{**dict(row), "UnitPrice": Decimal("109.00")} for row in order["Rows"]]
    _invoice_rules(world.ea_sim, invoice, None)
    # As eAccounting states an invoice whose prices include VAT: per row the rate and the amount without VAT.
    invoice["Rows"] = [
        {**row, "PercentVat": Decimal("0.09"), "AmountNoVat": Decimal("200.00")} for row in invoice["Rows"]
    ]
    totals = {"TotalAmountInvoiceCurrency": Decimal("218.00"), "TotalVatAmountInvoiceCurrency": Decimal("18.00")}
    stored = world.ea_sim.put("customerinvoices", {**invoice, **totals, "IncludesVat": True})
    outcome = await world.run(world.ctx(source="customer_invoices", document="sales_invoice"), str(stored["Id"]))
    assert outcome.action == "created"
    lines = outcome.target_payload["SalesInvoiceLines"]
    assert [Decimal(str(line["UnitPrice"])) for line in lines] == [Decimal("100.0000")]
    assert outcome.mismatch is None  # 2 x 100.00 net and 18.00 VAT, as eAccounting states


async def test_a_customer_without_e_mail_created_by_a_lost_attempt_is_found_by_its_code(
    world: World, make_order: Callable[..., str]
) -> None:
    customer = world.ea_sim.by_unique("customers", "1010")
    world.ea_sim.put("customers", {**customer, "EmailAddress": None})
    # An earlier attempt created the account (Code = the customer number) and died before linking it.
    world.exact_sim.upsert_account({"Code": "1010", "Name": str(customer["Name"]), "Status": "C"})
    ctx = world.ctx()
    await ctx.xref.begin(CUSTOMER_KIND, str(customer["Id"]))
    outcome = await world.run(ctx, make_order("1010", [("SKU-0001", 1)]))
    assert outcome.action == "created"
    accounts = [a for a in _records(world, "Accounts") if str(a["Code"]).strip() == "1010"]
    assert len(accounts) == 1  # found, not created twice (Exact would refuse the second Code anyway)


async def test_changing_the_document_type_does_not_transfer_an_order_again(
    world: World, make_order: Callable[..., str]
) -> None:
    order_id = make_order("1001", [("SKU-0001", 1)])
    first = await world.run(world.ctx(), order_id)
    assert first.action == "created"
    again = await world.run(world.ctx(document="sales_invoice"), order_id)
    assert again.action == "unchanged" and again.target_id == first.target_id
    assert "salesorder" in (again.reason or "")
    number = str(world.ea_sim.get("orders", order_id)["Number"])
    assert not [i for i in _records(world, "SalesInvoices") if i.get("Description") == f"eAccounting order {number}"]
