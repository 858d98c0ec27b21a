"""Options of the orders flow (`OrdersOptions`; see the table in docs/flows/orders.md).

Every value these accept works with the default mappings, or is refused here (HTTP 422 naming the field): the
mappings select nothing by status (the flow does, by `statuses`), and a combination the flow cannot honour
(customer invoices as sales orders) is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from flows.base import MAX_REFRESH_SECONDS, FlowOptions
from flows.countries import CountryCode
from flows.limits import ARTICLE_NUMBER, EXACT_ACCOUNT_CODE, MAX_ENTRIES, UNSTATED, ExactCode, TermsOfPayment

Document = Literal["sales_order", "sales_invoice", "direct_invoice", "journal_entry"]
OrderStatus = Literal[1, 2, 3, 4]
Situation = Literal[
    "domestic",
    "domestic_reverse_charge",
    "eu_b2b_goods",
    "eu_b2b_services",
    "eu_triangulation",
    "eu_private",
    "eu_oss",
    "export",
    "rounding",
]


class OrdersOptions(FlowOptions):
    """What to transfer, as what, and how to find customers, items, VAT codes and payment conditions in Exact."""

    document: Document = Field("sales_order", description="Exact document; selects mapping orders_to_exact_<document>")
    source: Literal["orders", "customer_invoices"] = "orders"
    statuses: list[OrderStatus] = Field(
        default_factory=lambda: [2, 3],  # type: ignore[arg-type]  # a list of Literal values
        min_length=1,
        max_length=MAX_ENTRIES,
        description="eAccounting order statuses to transfer: 1 draft, 2 ongoing, 3 shipped, 4 invoiced",
    )
    start_date: date | None = Field(None, description="Ignore orders dated before this day")
    customer_match: Literal["email", "customer_number", "vat_number"] = "email"
    update_customers: bool = Field(
        False, description="Re-read a known customer per order (1 eAccounting call) and update Exact when it changed"
    )
    default_debtor_code: str | None = Field(
        None, max_length=EXACT_ACCOUNT_CODE, description="Exact account code all orders go to (no lookup)"
    )
    missing_sku: Literal["fail", "create_item"] = "fail"
    created_item_vat_code: str | None = Field(
        None,
        max_length=UNSTATED,
        description="Exact SalesVatCode of items the flow creates; None: the domestic Exact code of the rate the "
        "article's eAccounting coding charges",
    )
    shipping_article_number: str = Field(
        "SHIPPING", max_length=ARTICLE_NUMBER, description="eAccounting article web shops put freight on"
    )
    shipping_item_code: str = Field(
        "SHIPPING",
        min_length=1,
        max_length=UNSTATED,
        description="Exact item freight rows are sent with; created once when missing",
    )
    rounding_item_code: str = Field(
        "ROUNDING",
        min_length=1,
        max_length=UNSTATED,
        description="Exact item of the line that carries the document's rounding (RoundingsAmount), without VAT; "
        "created once when missing",
    )
    warehouse_code: str | None = Field(None, max_length=UNSTATED, description="Exact warehouse code (direct invoice)")
    journal_code: str | None = Field(
        None, max_length=UNSTATED, description="Exact sales journal code (invoice/entry); None: mapping's"
    )
    vat_code_by_situation: dict[Situation, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="VAT situation -> Exact VAT code, instead of matching Exact's codes (docs/vat.md); the code's "
        "percentage must be the rate eAccounting charged",
    )
    vat_code_by_country: dict[CountryCode, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="ISO 3166-1 alpha-2 country (NL; nl is read as NL) -> Exact VAT code, for the rows of that "
        "country whose charged rate is the code's percentage (other rows: matched)",
    )
    reverse_charge_vat_code: str | None = Field(
        None,
        max_length=UNSTATED,
        description="Exact VAT code for intra-community supplies to EU businesses (a 0 % code)",
    )
    eu_private_vat: Literal["auto", "home", "oss"] = Field(
        "auto",
        description="How eAccounting taxes EU private persons, where both readings give the same VAT: 'oss' the "
        "destination country's rates (One Stop Shop), 'home' the home rates; 'auto': eAccounting's UsesMoss setting",
    )
    home_country: CountryCode = Field(
        "NL", description="The country both administrations keep their books in (ISO 3166-1 alpha-2)"
    )
    payment_condition_by_terms: dict[TermsOfPayment, ExactCode] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="eAccounting TermsOfPaymentId, or its number of days ('30'), -> Exact payment condition code; "
        "otherwise matched by payment method and days (docs/flows/orders.md)",
    )
    write_back: bool = Field(
        False,
        description="Write 'Exact <document> <number>' into the eAccounting order's OurReference after the transfer "
        "(orders only; 2 eAccounting calls per order; replaces what OurReference held)",
    )
    create_contact_person: bool = Field(True, description="New company accounts get their contact person (1 call)")
    accounts_refresh_seconds: float = Field(
        60.0, ge=0, le=MAX_REFRESH_SECONDS, description="Accounts-by-e-mail sync at most this often (0 to 86,400)"
    )
    items_refresh_seconds: float = Field(
        300.0,
        ge=0,
        le=MAX_REFRESH_SECONDS,
        description="Incremental Exact items and eAccounting articles sync at most this often (0 to 86,400)",
    )

    @field_validator("statuses", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        # JSON true would pass as 1 (bool is an int in Python): a status is one of the numbers 1-4, nothing else.
        if isinstance(value, list) and any(isinstance(item, bool) for item in value):
            raise ValueError("statuses are eAccounting order status numbers: 1 draft, 2 ongoing, 3 shipped, 4 invoiced")
        return value

    @field_validator("statuses")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _source_fits_document(self) -> OrdersOptions:
        if self.source == "customer_invoices" and self.document == "sales_order":
            raise ValueError("source customer_invoices needs document sales_invoice, direct_invoice or journal_entry")
        return self
