"""The connector's operations against the simulator: paging, cursors, customers, articles, orders, accounting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.eaccounting import Article, Customer, EAccountingClient, OrderStatus
from connectors.errors import NotFound, Rejected

from .conftest import START, Harness

CUTOFF = datetime(2026, 2, 27, tzinfo=UTC)


async def _terms_id(ea: EAccountingClient) -> str:
    return (await ea.terms_of_payments())[0].id


async def test_orders_page_through_many_pages_with_a_modified_cursor(harness: Harness) -> None:
    ea = harness.client(page_size=3)
    await harness.connect(ea)
    every = [o async for o in ea.list_orders()]
    assert len(every) == 17 and len({o.id for o in every}) == 17
    harness.recorder.requests.clear()

    changed = ea.list_orders(modified_since=CUTOFF)
    orders = [o async for o in changed]
    expected = {o.number for o in every if o.modified_utc is not None and o.modified_utc > CUTOFF}
    assert {o.number for o in orders} == expected and len(orders) == len(expected) == 12
    assert changed.pages_fetched == 4 and changed.total == 12
    assert changed.server_time_utc == START
    sent = harness.recorder.api()
    assert [r.url.params["$page"] for r in sent] == ["1", "2", "3", "4"]
    assert {r.url.params["$filter"] for r in sent} == {"ModifiedUtc gt 2026-02-27T00:00:00.000Z"}
    assert all(o.rows for o in orders)
    assert all(isinstance(r.unit_price, Decimal) for o in orders for r in o.rows or [])
    assert all(o.modified_utc is not None and o.modified_utc.tzinfo is not None for o in orders)

    # The next run, from the server's time: nothing new until something changes.
    assert [o async for o in ea.list_orders(modified_since=changed.server_time_utc)] == []
    harness.sim.advance_clock(60)
    placed = harness.sim.create_order("1002", [("SKU-0003", 2)])
    new = [o async for o in ea.list_orders(modified_since=changed.server_time_utc)]
    assert [o.id for o in new] == [placed["Id"]]


async def test_orders_by_status_and_cursor(ea: EAccountingClient, harness: Harness) -> None:
    ongoing = [o async for o in ea.list_orders(status=OrderStatus.ONGOING, modified_since=CUTOFF)]
    assert sorted(o.number or 0 for o in ongoing) == [1001, 1002, 1003, 1005, 1007, 1010, 1012, 1016, 1017]
    assert harness.recorder.api()[-1].url.params["$filter"] == (
        "Status eq 2 and ModifiedUtc gt 2026-02-27T00:00:00.000Z"
    )


async def test_one_call_per_page_of_a_thousand(ea: EAccountingClient, harness: Harness) -> None:
    harness.recorder.requests.clear()
    articles = [a async for a in ea.iter_articles()]
    assert len(articles) == 42
    assert len(harness.recorder.api()) == 1
    assert harness.recorder.api()[0].url.params["$pagesize"] == "1000"


async def test_find_create_update_customer(ea: EAccountingClient) -> None:
    found = await ea.find_customer_by_email("Lisa.Bakker@Example.nl")
    assert found is not None and found.customer_number == "1002" and found.is_private_person is True
    assert (await ea.find_customer_by_number("1001")) is not None
    assert (await ea.find_customer_by_email("nobody@example.com")) is None
    assert (await ea.find_customer_by_number("99999")) is None

    created = await ea.create_customer(
        {
            "Name": "Rösteriet i Umeå AB",
            "IsPrivatePerson": False,
            "IsActive": True,
            "InvoiceCity": "Umeå",
            "InvoicePostalCode": "903 26",
            "InvoiceCountryCode": "SE",
            "TermsOfPaymentId": await _terms_id(ea),
            "EmailAddress": "inkop@rosteriet.se",
            "CorporateIdentityNumber": "556677-8899",
            "VatNumber": "SE556677889901",
        }
    )
    assert isinstance(created, Customer) and created.customer_number
    assert created.is_private_person is False and created.changed_utc == START

    changed = created.to_payload()
    changed["Telephone"] = "+46 90 123 45"
    updated = await ea.update_customer(created.id, changed)
    assert updated.telephone == "+46 90 123 45"
    assert updated.corporate_identity_number == "556677-8899"  # the read-modify-write kept the rest
    assert (await ea.get_customer(created.id)).email_address == "inkop@rosteriet.se"
    since = [c async for c in ea.iter_customers(START - timedelta(seconds=1))]
    assert created.id in {c.id for c in since}


async def test_private_person_customer(ea: EAccountingClient) -> None:
    person = await ea.create_customer(
        Customer.model_construct(
            name="Lisa Ek",
            is_private_person=True,
            is_active=True,
            invoice_city="Lund",
            invoice_postal_code="222 22",
            terms_of_payment_id=await _terms_id(ea),
        )
    )
    assert person.is_private_person is True and person.vat_number is None


@pytest.mark.wire_unchecked("a body missing required members, on purpose: the API's message must surface")
async def test_validation_error_surfaces_the_api_message(ea: EAccountingClient) -> None:
    with pytest.raises(Rejected) as caught:
        await ea.create_customer({"IsPrivatePerson": True, "IsActive": True, "InvoiceCity": "Lund"})
    error = caught.value
    assert "The Name field is required." in error.message
    assert error.status == 400 and error.details["error_code"] == 2000 and error.details["error_id"]
    assert error.endpoint == "customers"


async def test_missing_ids_are_not_found(ea: EAccountingClient) -> None:
    with pytest.raises(NotFound) as caught:
        await ea.get_customer("00000000-0000-4000-8000-000000000000")
    assert "does not exist" in caught.value.message


async def test_find_create_update_article_and_stock(ea: EAccountingClient, harness: Harness) -> None:
    known = await ea.find_article_by_number("SKU-0001")
    assert known is not None and known.stock_balance == Decimal("107")
    assert await ea.find_article_by_number("NOPE-1") is None
    unit = (await ea.units())[0]
    coding = (await ea.article_account_codings())[0]
    created = await ea.create_article(
        {
            "Number": "SKU-7777",
            "Name": "Pour-over kettle",
            "IsActive": True,
            "CodingId": coding.id,
            "UnitId": unit.id,
            "NetPrice": Decimal("449.50"),
            "StockBalance": Decimal("12"),
        }
    )
    assert isinstance(created, Article) and created.net_price == Decimal("449.50")
    payload = created.to_payload()
    payload["Name"] = "Pour-over kettle 1 l"
    renamed = await ea.update_article(created.id, payload)
    assert renamed.name == "Pour-over kettle 1 l" and renamed.stock_balance == Decimal("12")
    stocked = await ea.set_article_stock(created.id, Decimal("30"))
    assert stocked.stock_balance == Decimal("30")
    assert (await ea.get_article(created.id)).net_price == Decimal("449.50")
    assert created.id in {a.id async for a in ea.iter_articles(modified_since=START - timedelta(seconds=1))}


async def test_articles_by_numbers_in_few_calls(ea: EAccountingClient, harness: Harness) -> None:
    numbers = [f"SKU-{i:04d}" for i in range(1, 41)] + ["SKU-9999", "MISSING-1", "O'Brien"]
    harness.recorder.requests.clear()
    found = await ea.articles_by_numbers(numbers)
    assert set(found) == {f"SKU-{i:04d}" for i in range(1, 41)} | {"SKU-9999"}
    assert len(harness.recorder.api()) == 1  # 43 numbers fit one filter
    many = [f"SKU-{i:05d}" for i in range(300)]
    harness.recorder.requests.clear()
    assert await ea.articles_by_numbers(many) == {}
    calls = len(harness.recorder.api())
    assert 1 < calls <= 5
    assert all(len(str(r.url)) < 4000 for r in harness.recorder.api())


async def test_shipment_write_back(ea: EAccountingClient, harness: Harness) -> None:
    placed = harness.sim.create_order("1001", [("SKU-0002", 3), ("SKU-0005", 1)])
    article = await ea.find_article_by_number("SKU-0002")
    assert article is not None and article.stock_balance is not None
    before = article.stock_balance
    shipped = await ea.mark_order_shipped(placed["Id"], date(2026, 3, 3), {1: Decimal(2)})
    assert shipped.status == OrderStatus.SHIPPED
    assert shipped.shipped_date_time == date(2026, 3, 3)
    rows = {r.line_number: r for r in shipped.rows or []}
    assert rows[1].delivered_quantity == Decimal(2)
    assert rows[2].delivered_quantity == Decimal(1)
    after = await ea.get_article(article.id)
    assert after.stock_balance == before - 2  # the delivered quantity left the stock
    again = await ea.mark_order_shipped(placed["Id"], date(2026, 3, 4))
    assert again.shipped_date_time == date(2026, 3, 3)  # already shipped: untouched


async def test_invoice_draft_convert_and_invoices(ea: EAccountingClient, harness: Harness) -> None:
    customer = await ea.find_customer_by_number("1001")
    article = await ea.find_article_by_number("SKU-0001")
    assert customer is not None and article is not None
    draft = await ea.create_customer_invoice_draft(
        {
            "CustomerId": customer.id,
            "RotReducedInvoicingType": 0,
            "InvoiceCustomerName": customer.name,
            "InvoicePostalCode": customer.invoice_postal_code,
            "InvoiceCity": customer.invoice_city,
            "InvoiceCountryCode": customer.invoice_country_code,
            "EuThirdParty": False,
            "CustomerIsPrivatePerson": False,
            "Rows": [
                {
                    "LineNumber": 1,
                    "ArticleId": article.id,
                    "IsTextRow": False,
                    "Text": "Espresso beans 1kg",
                    "Quantity": Decimal("2"),
                    "UnitPrice": Decimal("289.00"),
                    "ReversedConstructionServicesVatFree": False,
                }
            ],
        }
    )
    assert draft.customer_id == customer.id
    assert (await ea.get_customer_invoice_draft(draft.id)).id == draft.id
    invoice = await ea.convert_customer_invoice_draft(draft.id)
    assert invoice.total_amount == Decimal("578.00")
    assert (await ea.get_customer_invoice(invoice.id)).invoice_number == invoice.invoice_number
    recent = [i async for i in ea.list_customer_invoices(modified_since=START - timedelta(minutes=1))]
    assert invoice.id in {i.id for i in recent}


async def test_voucher_and_accounts(ea: EAccountingClient) -> None:
    years = await ea.fiscal_years()
    current = next(y for y in years if y.start_date == date(2026, 1, 1))
    accounts = await ea.accounts(current.id)
    numbers = {a.number for a in accounts}
    assert {"1100", "8000"} <= numbers
    voucher = await ea.create_voucher(
        {
            "VoucherDate": date(2026, 3, 2),
            "VoucherText": "Payment order 1001",
            "Rows": [
                {"AccountNumber": 1100, "DebitAmount": Decimal("1250.00")},
                {"AccountNumber": 8000, "CreditAmount": Decimal("1250.00")},
            ],
        },
        use_default_voucher_series=True,
    )
    assert voucher.voucher_date == date(2026, 3, 2)
    assert sum((r.debit_amount or Decimal(0)) for r in voucher.rows or []) == Decimal("1250.00")


async def test_reference_data(ea: EAccountingClient) -> None:
    vat = await ea.vat_codes()
    assert {"1A", "1B", "1E"} <= {v.code for v in vat}
    assert next(v for v in vat if v.code == "1A").vat_rate == Decimal("0.21")
    assert await ea.terms_of_payments() and await ea.delivery_methods() and await ea.delivery_terms()
    centers = await ea.cost_centers()
    active = [c for c in centers if c.is_active]
    assert active and all(c.items for c in active)
    assert await ea.units() and await ea.article_labels()
    assert isinstance(await ea.projects(), list)
    company = await ea.company_settings()
    assert company.currency_code == "EUR"


async def test_orders_and_invoices_dated_within_a_period(ea: EAccountingClient, harness: Harness) -> None:
    every = [o async for o in ea.list_orders()]
    first, last = date(2026, 2, 27), date(2026, 3, 1)
    dated = [o async for o in ea.list_orders(dated=(first, last))]
    expected = {o.number for o in every if o.order_date is not None and first <= o.order_date <= last}
    assert expected and {o.number for o in dated} == expected
    assert harness.recorder.api()[-1].url.params["$filter"] == (
        "OrderDate ge 2026-02-27T00:00:00.000Z and OrderDate lt 2026-03-02T00:00:00.000Z"
    )
    ongoing = [o async for o in ea.list_orders(status=OrderStatus.ONGOING, dated=(first, last))]
    assert {o.number for o in ongoing} == {o.number for o in dated if o.status == OrderStatus.ONGOING}
    assert [i async for i in ea.list_customer_invoices(dated=(date(2020, 1, 1), date(2020, 1, 31)))] == []


async def test_uses_one_stop_shop_reads_the_2020_company_setting(ea: EAccountingClient, harness: Harness) -> None:
    assert await ea.uses_one_stop_shop() is True  # the demo company reports EU private sales under the OSS
    harness.sim.company["UsesMoss"] = None
    assert await ea.uses_one_stop_shop() is None
