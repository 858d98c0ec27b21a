"""`EAccountingClient`: typed async access to the eAccounting API v2 over the shared `ApiClient`.

Reads page with `$page`/`$pagesize` (1000 per page, the documented maximum, so a sync makes as few calls as the
data allows) and follow `Meta.TotalNumberOfPages`. Incremental reads filter on the entity's own change timestamp:
`ModifiedUtc` on orders, `ChangedUtc` on customers and articles (they have no `ModifiedUtc`), the declared
`modifiedSinceUtc` parameter on customer invoices. The next cursor should be `Paged.server_time_utc` (the server's
clock when the first page was answered), never the local clock.

Writes: POST creates; PUT *replaces* the whole object (fields left out become null), so every update helper here
reads, changes and sends back the complete object, unknown newer fields included.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel

from connectors.eaccounting.documents import (
    CustomerInvoice,
    CustomerInvoiceDraft,
    InvoiceUrl,
    Order,
    OrderStatus,
    Voucher,
)
from connectors.eaccounting.models import (
    Account,
    Article,
    ArticleAccountCoding,
    ArticleLabel,
    CompanySettings,
    CostCenter,
    Customer,
    DeliveryMethod,
    DeliveryTerm,
    FiscalYear,
    Page,
    Project,
    TermsOfPayment,
    Unit,
    VatCode,
)
from connectors.eaccounting.paging import PAGE_GUARD, Paged, and_, or_chunks
from connectors.eaccounting.wire import Payload, body_of, odata_datetime, odata_string, parse_json
from connectors.errors import NotFound
from connectors.http import ApiClient
from connectors.oauth import TokenManager
from connectors.wire import validated

__all__ = ["MAX_PAGE_SIZE", "EAccountingClient", "Paged"]

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

MAX_PAGE_SIZE = 1000  # documented maximum of `$pagesize` (default 50)
# What an order answer must carry to be taken for the order: the description types `PUT /v2/orders/{id}`'s answer
# only as `object`, so anything less is read back with a GET (the write is never repeated).
_ORDER_MEMBERS = frozenset({"Id", "CustomerId", "Status", "OrderDate", "CurrencyCode", "Rows"})


class EAccountingClient:
    """Typed operations on one eAccounting company. Build it with `build_eaccounting_client`.

    Every method raises only `connectors.errors.ConnectorError` subclasses: `Rejected` carries the API's
    `DeveloperErrorMessage`, `NotFound` a 404, `RateLimited` a wait longer than the client's patience, `AuthError`/
    `ReauthorizationRequired` a connection that needs a human.
    """

    system = "eaccounting"

    def __init__(self, api: ApiClient, tokens: TokenManager, *, page_size: int = MAX_PAGE_SIZE) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.api = api
        self.tokens = tokens
        self.page_size = page_size

    # -- connection ----------------------------------------------------------------------------------------------

    def authorize_url(self, state: str) -> str:
        """The Visma Connect consent page to send the admin to; `state` comes back on the redirect."""
        return self.tokens.authorize_url(state)

    async def exchange_code(self, code: str) -> None:
        """Redeem the authorization code from the redirect; the tokens are stored encrypted, never returned."""
        await self.tokens.exchange_code(code)

    async def auth_status(self) -> dict[str, Any]:
        """Connected or not, when the access token expires, whether a human must re-authorize (no secrets)."""
        return await self.tokens.status()

    # -- plumbing ------------------------------------------------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return parse_json(await self.api.request("GET", path, params=params), system=self.system)

    async def _send(self, method: str, path: str, payload: Payload, params: Mapping[str, Any] | None = None) -> Any:
        return parse_json(
            await self.api.request(method, path, json=body_of(payload), params=params), system=self.system
        )

    def _valid(self, model: type[M], data: Any, path: str) -> M:
        """`model` from an answer; one the model cannot hold is a `PermanentError`, never a pydantic error."""
        return validated(model, data, system=self.system, endpoint=path)

    def _paged(
        self,
        path: str,
        model: type[M],
        *,
        filter: str | None = None,
        orderby: str | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> Paged[M]:
        size = page_size or self.page_size
        page_model = Page[model]  # type: ignore[valid-type]

        async def fetch(number: int) -> Page[M]:
            query: dict[str, Any] = {**(params or {}), "$page": number, "$pagesize": size}
            if filter:
                query["$filter"] = filter
            if orderby:
                query["$orderby"] = orderby
            found: Page[M] = self._valid(page_model, await self._get(path, query), path)
            return found

        return Paged(fetch)

    async def _first(self, path: str, model: type[M], filter: str) -> list[M]:
        page = self._paged(path, model, filter=filter, page_size=50)
        return [item async for item in page]

    # -- company -------------------------------------------------------------------------------------------------

    async def company_settings(self) -> CompanySettings:
        """`GET /v2/companysettings`: country, base currency, activated modules."""
        return self._valid(CompanySettings, await self._get("companysettings"), "companysettings")

    async def uses_one_stop_shop(self) -> bool | None:
        """The company's `UsesMoss` (`GET /v2/companysettings`, in the 2020 description only): whether EU private
        persons pay their own country's VAT (the One Stop Shop; the API kept the name of its predecessor MOSS).
        None when the answer does not say."""
        raw = await self._get("companysettings")
        value = raw.get("UsesMoss") if isinstance(raw, dict) else None
        return None if value is None else bool(value)

    # -- customers -----------------------------------------------------------------------------------------------

    async def find_customer_by_email(self, email: str) -> Customer | None:
        """The customer whose `EmailAddress` is `email` (case-insensitive), or None.

        The filter asks for the address as given and lower-cased (OData `tolower` is not in Visma's list of
        supported functions), then compares case-insensitively here.
        """
        wanted = email.strip()
        variants = sorted({wanted, wanted.lower()})
        clause = " or ".join(f"EmailAddress eq {odata_string(v)}" for v in variants)
        found = [
            c
            for c in await self._first("customers", Customer, clause)
            if (c.email_address or "").strip().lower() == wanted.lower()
        ]
        if len(found) > 1:
            log.warning("eaccounting.customer_email_ambiguous", matches=len(found))
        return found[0] if found else None

    async def find_customer_by_number(self, number: str) -> Customer | None:
        """The customer with this `CustomerNumber` (unique per company), or None."""
        found = await self._first("customers", Customer, f"CustomerNumber eq {odata_string(number)}")
        return found[0] if found else None

    async def get_customer(self, customer_id: str) -> Customer:
        """One customer. `GET /v2/customers/{id}` is typed only `object` in the description (an answer may be partial
        or `{}`), so the customer is read through the typed list instead: `$filter=Id eq …` (one call)."""
        try:
            wanted = str(uuid.UUID(customer_id))
        except ValueError:
            raise NotFound(
                f"customer {customer_id!r} is not a customer id", system=self.system, endpoint="customers"
            ) from None
        found = await self._first("customers", Customer, f"Id eq {wanted}")
        if not found:
            raise NotFound(f"customer {customer_id} does not exist", system=self.system, endpoint="customers/{id}")
        return found[0]

    async def create_customer(self, payload: Payload) -> Customer:
        """`POST /v2/customers`. Required: Name, InvoiceCity, InvoicePostalCode, TermsOfPaymentId, IsPrivatePerson,
        IsActive. A company sets `IsPrivatePerson=false` and may carry `CorporateIdentityNumber`/`VatNumber`."""
        return self._valid(Customer, await self._send("POST", "customers", payload), "customers")

    async def update_customer(self, customer_id: str, payload: Payload) -> Customer:
        """`PUT /v2/customers/{id}`: replaces the customer; send the complete object (e.g. `customer.to_payload()`).
        An answer that is not the customer is read back (never written again)."""
        answer = await self._send("PUT", f"customers/{customer_id}", payload)
        if isinstance(answer, dict) and answer.get("Id") and answer.get("Name"):
            return self._valid(Customer, answer, "customers/{id}")
        return await self.get_customer(customer_id)

    def iter_customers(self, modified_since: datetime | None = None) -> Paged[Customer]:
        """All customers, or those changed after `modified_since` (`ChangedUtc gt ...`)."""
        clause = f"ChangedUtc gt {odata_datetime(modified_since)}" if modified_since else None
        return self._paged("customers", Customer, filter=clause, orderby="CustomerNumber")

    # -- articles ------------------------------------------------------------------------------------------------

    async def find_article_by_number(self, number: str) -> Article | None:
        """The article whose `Number` (our SKU) is `number`, or None."""
        found = await self._first("articles", Article, f"Number eq {odata_string(number)}")
        return found[0] if found else None

    async def articles_by_numbers(self, numbers: Iterable[str]) -> dict[str, Article]:
        """Articles by `Number` for many SKUs in as few calls as the URL length allows (`or`ed `eq` clauses,
        1000 per page); SKUs that do not exist are simply absent from the answer."""
        wanted = sorted(set(numbers))
        found: dict[str, Article] = {}
        for clause in or_chunks("Number", wanted):
            async for article in self._paged("articles", Article, filter=clause):
                if article.number is not None and article.number in wanted:
                    found[article.number] = article
        return found

    async def get_article(self, article_id: str) -> Article:
        return self._valid(Article, await self._get(f"articles/{article_id}"), "articles/{id}")

    async def create_article(self, payload: Payload) -> Article:
        """`POST /v2/articles`. Required: IsActive, Number, Name, CodingId, UnitId. `StockBalance` sets the
        opening stock (ignored when the company's stock module is active)."""
        return self._valid(Article, await self._send("POST", "articles", payload), "articles")

    async def update_article(self, article_id: str, payload: Payload) -> Article:
        """`PUT /v2/articles/{id}`: replaces the article; send the complete object (e.g. `article.to_payload()`).
        An answer that is not the article is read back (never written again)."""
        answer = await self._send("PUT", f"articles/{article_id}", payload)
        if isinstance(answer, dict) and answer.get("Id") and answer.get("Number"):
            return self._valid(Article, answer, "articles/{id}")
        return await self.get_article(article_id)

    async def set_article_stock(self, article_id: str, stock_balance: Decimal) -> Article:
        """Set an article's stock: read it, change `StockBalance`, PUT it back whole. `StockBalanceReserved`/
        `StockBalanceAvailable` are read-only and derived from open orders, so the balance to write is the physical
        stock. "When stock module is active, this is read only" (2020): the answer then keeps the old balance, which
        the caller must check (the stock flow does, flows/stock_target.py)."""
        article = await self.get_article(article_id)
        payload = article.to_payload()
        payload["StockBalance"] = stock_balance
        return await self.update_article(article_id, payload)

    def iter_articles(self, modified_since: datetime | None = None) -> Paged[Article]:
        """All articles, or those changed after `modified_since` (`ChangedUtc gt ...`)."""
        clause = f"ChangedUtc gt {odata_datetime(modified_since)}" if modified_since else None
        return self._paged("articles", Article, filter=clause, orderby="Number")

    # -- orders --------------------------------------------------------------------------------------------------

    def list_orders(
        self,
        status: int | None = None,
        modified_since: datetime | None = None,
        *,
        dated: tuple[date, date] | None = None,
    ) -> Paged[Order]:
        """Orders, optionally with one `Status` (`OrderStatus`), changed after `modified_since` (`ModifiedUtc gt
        ...`) and dated (`OrderDate`) within `dated` (both days included), oldest created first so new orders
        append at the end while we page."""
        clause = and_(
            f"Status eq {int(status)}" if status is not None else None,
            f"ModifiedUtc gt {odata_datetime(modified_since)}" if modified_since else None,
            _dated("OrderDate", dated),
        )
        return self._paged("orders", Order, filter=clause, orderby="CreatedUtc")

    async def get_order(self, order_id: str) -> Order:
        """One order with its `Rows`."""
        return self._valid(Order, await self._get(f"orders/{order_id}"), "orders/{id}")

    async def create_order(self, payload: Payload) -> Order:
        """`POST /v2/orders` (a new order must be Draft or Ongoing)."""
        return self._valid(Order, await self._send("POST", "orders", payload), "orders")

    async def update_order(self, order_id: str, payload: Payload) -> Order:
        """`PUT /v2/orders/{id}`: replaces the order, rows included; send the complete object.

        Shipment fields the description knows: `Status` (3 = Shipped), `ShippedDateTime` (a date), and per row
        `DeliveredQuantity`; there is no tracking-number field. An Invoiced order (4) cannot be changed. The answer is
        typed only `object`: unless it carries the order, the order is read back with a GET (the PUT is not sent
        again)."""
        answer = await self._send("PUT", f"orders/{order_id}", payload)
        if isinstance(answer, dict) and answer.keys() >= _ORDER_MEMBERS:
            return self._valid(Order, answer, "orders/{id}")
        return await self.get_order(order_id)

    async def mark_order_shipped(
        self,
        order_id: str,
        shipped_on: date,
        delivered: Mapping[int, Decimal] | None = None,
    ) -> Order:
        """Write a shipment back: `Status` 3, `ShippedDateTime`, and `DeliveredQuantity` per row (by `LineNumber`;
        rows not named in `delivered` are delivered in full). Already shipped orders are left alone."""
        order = await self.get_order(order_id)
        if order.status is not None and order.status >= OrderStatus.SHIPPED:
            return order
        payload = order.to_payload()
        rows: list[dict[str, Any]] = []
        for row in order.rows or []:
            out = row.to_payload()
            if not row.is_text_row:
                quantity = (delivered or {}).get(row.line_number or 0, row.quantity)
                out["DeliveredQuantity"] = quantity
            rows.append(out)
        payload["Rows"] = rows
        payload["Status"] = OrderStatus.SHIPPED
        payload["ShippedDateTime"] = shipped_on
        return await self.update_order(order_id, payload)

    # -- invoices ------------------------------------------------------------------------------------------------

    def list_customer_invoices(
        self, modified_since: datetime | None = None, *, dated: tuple[date, date] | None = None
    ) -> Paged[CustomerInvoice]:
        """Booked customer invoices, optionally modified since a moment (the declared `modifiedSinceUtc`) and dated
        (`InvoiceDate`) within `dated` (both days included)."""
        params = {"modifiedSinceUtc": odata_datetime(modified_since)} if modified_since else None
        return self._paged("customerinvoices", CustomerInvoice, params=params, filter=_dated("InvoiceDate", dated))

    async def get_customer_invoice(self, invoice_id: str) -> CustomerInvoice:
        return self._valid(CustomerInvoice, await self._get(f"customerinvoices/{invoice_id}"), "customerinvoices/{id}")

    async def create_customer_invoice(self, payload: Payload) -> InvoiceUrl:
        """`POST /v2/customerinvoices` books an invoice at once; the description's answer is only its URL."""
        return self._valid(InvoiceUrl, await self._send("POST", "customerinvoices", payload), "customerinvoices")

    async def create_customer_invoice_draft(self, payload: Payload) -> CustomerInvoiceDraft:
        """`POST /v2/customerinvoicedrafts`: a draft a human can review before it is booked."""
        answer = await self._send("POST", "customerinvoicedrafts", payload)
        return self._valid(CustomerInvoiceDraft, answer, "customerinvoicedrafts")

    async def get_customer_invoice_draft(self, draft_id: str) -> CustomerInvoiceDraft:
        answer = await self._get(f"customerinvoicedrafts/{draft_id}")
        return self._valid(CustomerInvoiceDraft, answer, "customerinvoicedrafts/{id}")

    async def convert_customer_invoice_draft(self, draft_id: str, validation: Payload | None = None) -> CustomerInvoice:
        """`POST /v2/customerinvoicedrafts/{id}/convert`: book the draft as an invoice.

        The description requires a body (`CustomerInvoiceDraftValidationApi`): the totals, and per `LineNumber` the
        row totals, the caller expects; the API refuses the conversion when the draft disagrees. Every member is
        optional, so without `validation` an empty object is sent (no checks)."""
        answer = await self._send("POST", f"customerinvoicedrafts/{draft_id}/convert", validation or {})
        return self._valid(CustomerInvoice, answer, "customerinvoicedrafts/{id}/convert")

    # -- accounting ----------------------------------------------------------------------------------------------

    async def create_voucher(
        self,
        payload: Payload,
        *,
        use_automatic_vat_calculation: bool | None = None,
        use_default_vat_codes: bool | None = None,
        use_default_voucher_series: bool | None = None,
    ) -> Voucher:
        """`POST /v2/vouchers`. Required: VoucherDate, VoucherText, Rows (AccountNumber with DebitAmount or
        CreditAmount); the rows must balance and the date fall in a fiscal year."""
        flags = {
            "useAutomaticVatCalculation": use_automatic_vat_calculation,
            "useDefaultVatCodes": use_default_vat_codes,
            "useDefaultVoucherSeries": use_default_voucher_series,
        }
        params = {k: str(v).lower() for k, v in flags.items() if v is not None}
        return self._valid(Voucher, await self._send("POST", "vouchers", payload, params=params or None), "vouchers")

    async def accounts(self, fiscal_year_id: str | None = None) -> list[Account]:
        """The chart of accounts: of one fiscal year, or (without an id) as the API's default answers it."""
        path = f"accounts/{fiscal_year_id}" if fiscal_year_id else "accounts"
        return await self._paged(path, Account).all()

    async def fiscal_years(self) -> list[FiscalYear]:
        return await self._paged("fiscalyears", FiscalYear).all()

    # -- reference data ------------------------------------------------------------------------------------------

    async def vat_codes(self) -> list[VatCode]:
        """`GET /v2/vatcodes`, every page. A plain array in the 2018 and 2020 descriptions, a paged envelope in the
        2024 one (eaccounting-facts.md): the first request carries no paging options; when the answer is paged, the
        following pages are read with the page size the server chose."""
        data = await self._get("vatcodes")
        if isinstance(data, list):
            return [self._valid(VatCode, item, "vatcodes") for item in data]
        first = self._valid(Page[VatCode], data, "vatcodes")
        codes = list(first.data)
        for number in range(2, min(first.meta.total_number_of_pages, PAGE_GUARD) + 1):
            params = {"$page": number, "$pagesize": first.meta.page_size}
            page = self._valid(Page[VatCode], await self._get("vatcodes", params), "vatcodes")
            if not page.data:
                break
            codes += page.data
        return codes

    async def terms_of_payments(self) -> list[TermsOfPayment]:
        return await self._paged("termsofpayments", TermsOfPayment).all()

    async def delivery_methods(self) -> list[DeliveryMethod]:
        return await self._paged("deliverymethods", DeliveryMethod).all()

    async def delivery_terms(self) -> list[DeliveryTerm]:
        return await self._paged("deliveryterms", DeliveryTerm).all()

    async def cost_centers(self) -> list[CostCenter]:
        """Cost centers with their `Items` (what rows reference in `CostCenterItemId1..3`)."""
        return await self._paged("costcenters", CostCenter).all()

    async def projects(self) -> list[Project]:
        return await self._paged("projects", Project).all()

    async def units(self) -> list[Unit]:
        return await self._paged("units", Unit).all()

    async def article_labels(self) -> list[ArticleLabel]:
        return await self._paged("articlelabels", ArticleLabel).all()

    async def article_account_codings(self) -> list[ArticleAccountCoding]:
        """Codings (VAT rate and sales accounts) an article's `CodingId` must name."""
        return await self._paged("articleaccountcodings", ArticleAccountCoding).all()


def _dated(field: str, dated: tuple[date, date] | None) -> str | None:
    """`field ge <first day> and field lt <the day after the last>` (a date-only field holds midnight)."""
    if dated is None:
        return None
    first, last = dated
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return f"{field} ge {odata_datetime(start)} and {field} lt {odata_datetime(end)}"
