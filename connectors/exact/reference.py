"""Pydantic models of Exact's reference data: VAT codes, payment conditions, shipping methods, cost centers and
units, GL accounts, journals (docs/exact-online-api.md §9.9). Documents name most of them by `Code`, not by GUID.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from connectors.exact.models import Audited
from connectors.exact.wire import ExactDateTime

__all__ = ["Costcenter", "Costunit", "GLAccount", "Journal", "PaymentCondition", "ShippingMethod", "VATCode"]


class VATCode(Audited):
    """`vat/VATCodes`: `Percentage` is a fraction (0.21 = 21 %); `Type` E excl., I incl., B 0 % (only the base),
    N no VAT; `EUSalesListing` L goods, S services, T triangulation, N not listed (the EU sales list, ICP);
    `Charged` marks reverse-charge codes; `OssCountry` a One Stop Shop code's country; `VATTransactionType` S sales,
    P purchase, B both."""

    __entity__: ClassVar[str] = "vat/VATCodes"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    percentage: Decimal | None = Field(None, alias="Percentage")
    type: str | None = Field(None, alias="Type")
    vat_transaction_type: str | None = Field(None, alias="VATTransactionType")
    eu_sales_listing: str | None = Field(None, alias="EUSalesListing")
    charged: bool | None = Field(None, alias="Charged")
    is_blocked: bool | None = Field(None, alias="IsBlocked")
    gl_to_pay: str | None = Field(None, alias="GLToPay")
    gl_to_claim: str | None = Field(None, alias="GLToClaim")
    legal_text: str | None = Field(None, alias="LegalText")
    oss_country: str | None = Field(None, alias="OssCountry")


class PaymentCondition(Audited):
    """`cashflow/PaymentConditions`: `PaymentDays` drives due dates; `PaymentMethod` B on credit, I collection, …"""

    __entity__: ClassVar[str] = "cashflow/PaymentConditions"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    payment_days: int | None = Field(None, alias="PaymentDays")
    payment_end_of_months: int | None = Field(None, alias="PaymentEndOfMonths")
    discount_percentage: Decimal | None = Field(None, alias="DiscountPercentage")
    discount_payment_days: int | None = Field(None, alias="DiscountPaymentDays")
    payment_method: str | None = Field(None, alias="PaymentMethod")


class ShippingMethod(Audited):
    """`sales/ShippingMethods`: orders and deliveries reference it by `ID`; `TrackingURL` may hold a template."""

    __entity__: ClassVar[str] = "sales/ShippingMethods"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    active: bool | None = Field(None, alias="Active")
    amount: Decimal | None = Field(None, alias="Amount")
    vat_code: str | None = Field(None, alias="VATCode")
    tracking_url: str | None = Field(None, alias="TrackingURL")
    notes: str | None = Field(None, alias="Notes")


class Costcenter(Audited):
    """`hrm/Costcenters`: lines name it by `Code` (§9.9 (?): documented as "reference", read as the code)."""

    __entity__: ClassVar[str] = "hrm/Costcenters"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    end_date: ExactDateTime | None = Field(None, alias="EndDate")


class Costunit(Audited):
    """`hrm/Costunits`: lines name it by `Code`."""

    __entity__: ClassVar[str] = "hrm/Costunits"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    end_date: ExactDateTime | None = Field(None, alias="EndDate")


class GLAccount(Audited):
    """`financial/GLAccounts` (read through `sync/Financial/GLAccounts`): lines reference it by `ID`."""

    __entity__: ClassVar[str] = "financial/GLAccounts"

    id: str = Field(alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    type: int | None = Field(None, alias="Type")
    balance_side: str | None = Field(None, alias="BalanceSide")
    balance_type: str | None = Field(None, alias="BalanceType")
    vat_code: str | None = Field(None, alias="VATCode")
    is_blocked: bool | None = Field(None, alias="IsBlocked")
    costcenter: str | None = Field(None, alias="Costcenter")
    costunit: str | None = Field(None, alias="Costunit")
    use_costcenter: int | None = Field(None, alias="UseCostcenter")
    use_costunit: int | None = Field(None, alias="UseCostunit")


class Journal(Audited):
    """`financial/Journals`: `Type` 20 is a sales journal (what invoices and sales entries need)."""

    __entity__: ClassVar[str] = "financial/Journals"

    id: str = Field(alias="ID")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    type: int | None = Field(None, alias="Type")
