"""Options of the orders flow (`OrdersOptions`; see the table in docs/flows/orders.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from flows.base import FlowOptions

Document = Literal["sales_order", "sales_invoice", "direct_invoice", "journal_entry"]


class OrdersOptions(FlowOptions):
    """What to transfer, as what, and how to find customers and items in Exact."""

    document: Document = Field("sales_order", description="Exact document; selects mapping orders_to_exact_<document>")
    source: Literal["orders", "customer_invoices"] = "orders"
    statuses: list[int] = Field(default_factory=lambda: [2, 3], description="eAccounting order statuses to transfer")
    start_date: date | None = Field(None, description="Ignore orders dated before this day")
    customer_match: Literal["email", "customer_number", "vat_number"] = "email"
    update_customers: bool = Field(
        False, description="Re-read a known customer per order (1 eAccounting call) and update Exact when it changed"
    )
    default_debtor_code: str | None = Field(None, description="Exact account code all orders go to (no lookup)")
    missing_sku: Literal["fail", "create_item"] = "fail"
    created_item_vat_code: str | None = Field(
        "2", description="Exact SalesVatCode of items the flow creates (2 = 21 % sales VAT in a Dutch administration)"
    )
    shipping_article_number: str = Field("SHIPPING", description="eAccounting article web shops put freight on")
    shipping_item_code: str = Field(
        "SHIPPING",
        min_length=1,
        description="Exact item for freight rows and the ShippingAmount line; created once when missing",
    )
    discount_item_code: str | None = Field(None, description="Exact item code for an order-level discount line")
    warehouse_code: str | None = Field(None, description="Exact warehouse code (direct invoice)")
    journal_code: str | None = Field(None, description="Exact sales journal code (invoice/entry); None: mapping's")
    vat_code_by_country: dict[str, str] = Field(default_factory=dict, description="ISO country -> Exact VAT code")
    payment_condition_by_terms: dict[str, str] = Field(
        default_factory=dict,
        description="eAccounting TermsOfPaymentId, or its number of days ('30'), -> Exact payment condition code",
    )
    reverse_charge_vat_code: str | None = Field(None, description="VAT code for EU business customers abroad")
    home_country: str = Field("NL", description="The Exact administration's country (reverse charge test)")
    write_back: bool = Field(
        False,
        description="Write 'Exact <document> <number>' into the eAccounting order's OurReference after the transfer "
        "(orders only; 2 eAccounting calls per order; replaces what OurReference held)",
    )
    create_contact_person: bool = Field(True, description="New company accounts get their contact person (1 call)")
    accounts_refresh_seconds: float = Field(60.0, ge=0, description="Accounts-by-e-mail sync at most this often")
    items_refresh_seconds: float = Field(300.0, ge=0, description="Incremental items sync at most this often")
