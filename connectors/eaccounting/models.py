"""Pydantic models of the eAccounting v2 master and reference data, field for field as the vendor's Swagger names
them (sales documents and vouchers: `documents.py`).

Attributes are snake_case; each carries the wire name as its alias (`customer_number` <-> `CustomerNumber`), and
`tests/connectors_eaccounting/test_models.py` checks every alias against the definition named in `__definition__`.
Read models keep unknown members (`extra="allow"`): the live API has grown since the 2018 description, and a PUT
replaces the whole object, so fields we do not know yet must survive a read-modify-write. Every field is optional
except the `Id` of an entity: the API answers nulls freely, and what a write requires is the API's call (the
contract test validates our bodies against the description's `required` lists).

Amounts are `Decimal`, UTC timestamps aware `datetime`s, "YYYY-MM-DD" fields `date`s (see `wire.py`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from connectors.eaccounting.wire import ApiDate, UtcDatetime, body_of

__all__ = [
    "Account",
    "Article",
    "ArticleAccountCoding",
    "ArticleLabel",
    "CompanySettings",
    "CompanyTexts",
    "CostCenter",
    "CostCenterItem",
    "Customer",
    "CustomerLabel",
    "DeliveryMethod",
    "DeliveryTerm",
    "FiscalYear",
    "Meta",
    "Page",
    "Project",
    "ReadModel",
    "RelatedAccounts",
    "TermsOfPayment",
    "Unit",
    "VatCode",
]


class ReadModel(BaseModel):
    """Base of every resource model: wire aliases, unknown members kept, construction by either name."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    __definition__: ClassVar[str] = ""

    def to_payload(self) -> dict[str, Any]:
        """The body to send back (wire names, unknown members included, nulls left out)."""
        return body_of(self)


class Meta(BaseModel):
    """The paging envelope's `Meta` (`PaginationMetadata`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    current_page: int = Field(alias="CurrentPage")
    page_size: int = Field(alias="PageSize")
    total_number_of_pages: int = Field(alias="TotalNumberOfPages")
    total_number_of_results: int = Field(alias="TotalNumberOfResults")
    server_time_utc: UtcDatetime | None = Field(None, alias="ServerTimeUtc")


T = TypeVar("T", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    """One page of a list endpoint: `{"Meta": {...}, "Data": [...]}` (`PaginatedResponse[...]`)."""

    model_config = ConfigDict(populate_by_name=True)

    meta: Meta = Field(alias="Meta")
    data: list[T] = Field(alias="Data")


class TermsOfPayment(ReadModel):
    """Terms of payment (`/v2/termsofpayments`); `NumberOfDays` drives the due date."""

    __definition__: ClassVar[str] = "TermsOfPaymentApi"

    id: str = Field(alias="Id")
    name: str | None = Field(None, alias="Name")
    name_english: str | None = Field(None, alias="NameEnglish")
    number_of_days: int | None = Field(None, alias="NumberOfDays")
    terms_of_payment_type_id: int | None = Field(None, alias="TermsOfPaymentTypeId")
    terms_of_payment_type_text: str | None = Field(None, alias="TermsOfPaymentTypeText")
    available_for_sales: bool | None = Field(None, alias="AvailableForSales")
    available_for_purchase: bool | None = Field(None, alias="AvailableForPurchase")


class CustomerLabel(ReadModel):
    """A label on a customer."""

    __definition__: ClassVar[str] = "CustomerLabelApi"

    id: str | None = Field(None, alias="Id")
    name: str | None = Field(None, alias="Name")
    description: str | None = Field(None, alias="Description")


class Customer(ReadModel):
    """A customer (`/v2/customers`).

    Company or private person is `IsPrivatePerson`: companies carry `CorporateIdentityNumber` and `VatNumber`,
    private persons neither (VAT on orders follows from it). `CustomerNumber` is unique and assigned when left out.
    E-mail is `EmailAddress`. The change timestamp is `ChangedUtc` (customers have no `ModifiedUtc`).
    """

    __definition__: ClassVar[str] = "CustomerApi"

    id: str = Field(alias="Id")
    customer_number: str | None = Field(None, alias="CustomerNumber")
    corporate_identity_number: str | None = Field(None, alias="CorporateIdentityNumber")
    contact_person_email: str | None = Field(None, alias="ContactPersonEmail")
    contact_person_mobile: str | None = Field(None, alias="ContactPersonMobile")
    contact_person_name: str | None = Field(None, alias="ContactPersonName")
    contact_person_phone: str | None = Field(None, alias="ContactPersonPhone")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    gln: str | None = Field(None, alias="GLN")
    email_address: str | None = Field(None, alias="EmailAddress")
    invoice_address1: str | None = Field(None, alias="InvoiceAddress1")
    invoice_address2: str | None = Field(None, alias="InvoiceAddress2")
    invoice_city: str | None = Field(None, alias="InvoiceCity")
    invoice_country_code: str | None = Field(None, alias="InvoiceCountryCode")
    invoice_postal_code: str | None = Field(None, alias="InvoicePostalCode")
    delivery_customer_name: str | None = Field(None, alias="DeliveryCustomerName")
    delivery_address1: str | None = Field(None, alias="DeliveryAddress1")
    delivery_address2: str | None = Field(None, alias="DeliveryAddress2")
    delivery_city: str | None = Field(None, alias="DeliveryCity")
    delivery_country_code: str | None = Field(None, alias="DeliveryCountryCode")
    delivery_postal_code: str | None = Field(None, alias="DeliveryPostalCode")
    delivery_method_id: str | None = Field(None, alias="DeliveryMethodId")
    delivery_term_id: str | None = Field(None, alias="DeliveryTermId")
    pay_to_account_id: str | None = Field(None, alias="PayToAccountId")
    name: str | None = Field(None, alias="Name")
    note: str | None = Field(None, alias="Note")
    reverse_charge_on_construction_services: bool | None = Field(None, alias="ReverseChargeOnConstructionServices")
    webshop_customer_number: int | None = Field(None, alias="WebshopCustomerNumber")
    mobile_phone: str | None = Field(None, alias="MobilePhone")
    telephone: str | None = Field(None, alias="Telephone")
    terms_of_payment_id: str | None = Field(None, alias="TermsOfPaymentId")
    terms_of_payment: TermsOfPayment | None = Field(None, alias="TermsOfPayment")
    vat_number: str | None = Field(None, alias="VatNumber")
    www_address: str | None = Field(None, alias="WwwAddress")
    last_invoice_date: ApiDate | None = Field(None, alias="LastInvoiceDate")
    is_private_person: bool | None = Field(None, alias="IsPrivatePerson")
    discount_percentage: Decimal | None = Field(None, alias="DiscountPercentage")
    changed_utc: UtcDatetime | None = Field(None, alias="ChangedUtc")
    is_active: bool | None = Field(None, alias="IsActive")
    force_bookkeep_vat: bool | None = Field(None, alias="ForceBookkeepVat")
    edi_gln_number: str | None = Field(None, alias="EdiGlnNumber")
    sales_document_language: str | None = Field(None, alias="SalesDocumentLanguage")
    electronic_address: str | None = Field(None, alias="ElectronicAddress")
    electronic_reference: str | None = Field(None, alias="ElectronicReference")
    edi_service_deliverer_id: str | None = Field(None, alias="EdiServiceDelivererId")
    auto_invoice_activation_email_sent_date: ApiDate | None = Field(None, alias="AutoInvoiceActivationEmailSentDate")
    auto_invoice_registration_request_sent_date: ApiDate | None = Field(
        None, alias="AutoInvoiceRegistrationRequestSentDate"
    )
    email_addresses: list[str] | None = Field(None, alias="EmailAddresses")
    customer_labels: list[CustomerLabel] | None = Field(None, alias="CustomerLabels")
    is_future_invoice_date_allowed: bool | None = Field(None, alias="IsFutureInvoiceDateAllowed")


class ArticleLabel(ReadModel):
    """A label on articles (`/v2/articlelabels`)."""

    __definition__: ClassVar[str] = "ArticleLabelApi"

    id: str = Field(alias="Id")
    name: str | None = Field(None, alias="Name")
    description: str | None = Field(None, alias="Description")


class Article(ReadModel):
    """An article (`/v2/articles`); `Number` is our SKU.

    Stock: `StockBalance` is writable ("Sets the stock balance for this article"): a stock write is a PUT of the
    article with a new `StockBalance`. `StockBalanceReserved` (on Draft/Ongoing orders) and `StockBalanceAvailable`
    are read-only. The change timestamp is `ChangedUtc` (no `ModifiedUtc`). `CodingId` (from
    `/v2/articleaccountcodings`) decides the VAT; `UnitId` comes from `/v2/units`.
    """

    __definition__: ClassVar[str] = "ArticleApi"

    id: str = Field(alias="Id")
    is_active: bool | None = Field(None, alias="IsActive")
    number: str | None = Field(None, alias="Number")
    name: str | None = Field(None, alias="Name")
    name_english: str | None = Field(None, alias="NameEnglish")
    net_price: Decimal | None = Field(None, alias="NetPrice")
    gross_price: Decimal | None = Field(None, alias="GrossPrice")
    coding_id: str | None = Field(None, alias="CodingId")
    coding_name: str | None = Field(None, alias="CodingName")
    unit_id: str | None = Field(None, alias="UnitId")
    unit_name: str | None = Field(None, alias="UnitName")
    unit_abbreviation: str | None = Field(None, alias="UnitAbbreviation")
    stock_balance: Decimal | None = Field(None, alias="StockBalance")
    stock_balance_manually_changed_utc: UtcDatetime | None = Field(None, alias="StockBalanceManuallyChangedUtc")
    stock_balance_reserved: Decimal | None = Field(None, alias="StockBalanceReserved")
    stock_balance_available: Decimal | None = Field(None, alias="StockBalanceAvailable")
    changed_utc: UtcDatetime | None = Field(None, alias="ChangedUtc")
    house_work_type: int | None = Field(None, alias="HouseWorkType")
    purchase_price: Decimal | None = Field(None, alias="PurchasePrice")
    purchase_price_manually_changed_utc: UtcDatetime | None = Field(None, alias="PurchasePriceManuallyChangedUtc")
    send_to_webshop: bool | None = Field(None, alias="SendToWebshop")
    article_labels: list[ArticleLabel] | None = Field(None, alias="ArticleLabels")
    # Since 2020 (docs/eaccounting-api.md §6): kept so a read-modify-write PUT sends them back unchanged.
    created_utc: UtcDatetime | None = Field(None, alias="CreatedUtc")
    is_stock: bool | None = Field(None, alias="IsStock")
    stock_value: Decimal | None = Field(None, alias="StockValue")
    stock_location_reference: str | None = Field(None, alias="StockLocationReference")
    update_stock_prices: bool | None = Field(None, alias="UpdateStockPrices")
    freight_costs: Decimal | None = Field(None, alias="FreightCosts")
    freight_costs_manually_changed_utc: UtcDatetime | None = Field(None, alias="FreightCostsManuallyChangedUtc")
    uses_moss: bool | None = Field(None, alias="UsesMoss")
    barcodes: list[dict[str, Any]] | None = Field(None, alias="Barcodes")


class RelatedAccounts(ReadModel):
    """The accounts a VAT code books to."""

    __definition__: ClassVar[str] = "RelatedAccounts"

    account_number1: int | None = Field(None, alias="AccountNumber1")
    account_number2: int | None = Field(None, alias="AccountNumber2")
    account_number3: int | None = Field(None, alias="AccountNumber3")


class VatCode(ReadModel):
    """A VAT code (`/v2/vatcodes`, a plain list in the description, not paged)."""

    __definition__: ClassVar[str] = "VatCode"

    id: str = Field(alias="Id")
    code: str | None = Field(None, alias="Code")
    description: str | None = Field(None, alias="Description")
    vat_rate: Decimal | None = Field(None, alias="VatRate")
    related_accounts: RelatedAccounts | None = Field(None, alias="RelatedAccounts")


class DeliveryMethod(ReadModel):
    """A delivery method (`/v2/deliverymethods`)."""

    __definition__: ClassVar[str] = "DeliveryMethodApi"

    name: str | None = Field(None, alias="Name")
    code: str | None = Field(None, alias="Code")
    id: str = Field(alias="Id")


class DeliveryTerm(ReadModel):
    """A delivery term (`/v2/deliveryterms`)."""

    __definition__: ClassVar[str] = "DeliveryTermApi"

    name: str | None = Field(None, alias="Name")
    code: str | None = Field(None, alias="Code")
    id: str = Field(alias="Id")


class CostCenterItem(ReadModel):
    """One item of a cost center (what rows reference in `CostCenterItemId1..3`)."""

    __definition__: ClassVar[str] = "CostCenterItemApi"

    cost_center_id: str | None = Field(None, alias="CostCenterId")
    id: str = Field(alias="Id")
    name: str | None = Field(None, alias="Name")
    short_name: str | None = Field(None, alias="ShortName")
    is_active: bool | None = Field(None, alias="IsActive")
    created_utc: UtcDatetime | None = Field(None, alias="CreatedUtc")


class CostCenter(ReadModel):
    """A cost center (dimension) with its items (`/v2/costcenters`)."""

    __definition__: ClassVar[str] = "CostCenterApi"

    name: str | None = Field(None, alias="Name")
    number: int | None = Field(None, alias="Number")
    is_active: bool | None = Field(None, alias="IsActive")
    items: list[CostCenterItem] | None = Field(None, alias="Items")
    id: str = Field(alias="Id")


class Project(ReadModel):
    """A project (`/v2/projects`); `Status` 1 = Ongoing, 2 = Finished."""

    __definition__: ClassVar[str] = "ProjectApi"

    id: str = Field(alias="Id")
    number: str | None = Field(None, alias="Number")
    name: str | None = Field(None, alias="Name")
    start_date: ApiDate | None = Field(None, alias="StartDate")
    end_date: ApiDate | None = Field(None, alias="EndDate")
    customer_id: str | None = Field(None, alias="CustomerId")
    customer_name: str | None = Field(None, alias="CustomerName")
    notes: str | None = Field(None, alias="Notes")
    status: int | None = Field(None, alias="Status")
    modified_utc: UtcDatetime | None = Field(None, alias="ModifiedUtc")


class Account(ReadModel):
    """An account of the chart of accounts of one fiscal year (`/v2/accounts`)."""

    __definition__: ClassVar[str] = "AccountApi"

    name: str | None = Field(None, alias="Name")
    number: str | None = Field(None, alias="Number")
    vat_code_id: str | None = Field(None, alias="VatCodeId")
    vat_code_description: str | None = Field(None, alias="VatCodeDescription")
    fiscal_year_id: str | None = Field(None, alias="FiscalYearId")
    reference_code: str | None = Field(None, alias="ReferenceCode")
    type: int | None = Field(None, alias="Type")
    type_description: str | None = Field(None, alias="TypeDescription")
    modified_utc: UtcDatetime | None = Field(None, alias="ModifiedUtc")
    is_active: bool | None = Field(None, alias="IsActive")
    is_project_allowed: bool | None = Field(None, alias="IsProjectAllowed")
    is_cost_center_allowed: bool | None = Field(None, alias="IsCostCenterAllowed")
    is_blocked_for_manual_booking: bool | None = Field(None, alias="IsBlockedForManualBooking")


class Unit(ReadModel):
    """A unit (`/v2/units`); articles reference it by `UnitId`."""

    __definition__: ClassVar[str] = "UnitApi"

    id: str = Field(alias="Id")
    name: str | None = Field(None, alias="Name")
    code: str | None = Field(None, alias="Code")
    abbreviation: str | None = Field(None, alias="Abbreviation")


class ArticleAccountCoding(ReadModel):
    """An article account coding (`/v2/articleaccountcodings`): decides an article's VAT and sales accounts."""

    __definition__: ClassVar[str] = "ArticleAccountCodingAPI"

    id: str = Field(alias="Id")
    name: str | None = Field(None, alias="Name")
    name_english: str | None = Field(None, alias="NameEnglish")
    type: str | None = Field(None, alias="Type")
    vat_rate: str | None = Field(None, alias="VatRate")
    is_active: bool | None = Field(None, alias="IsActive")
    vat_rate_percent: Decimal | None = Field(None, alias="VatRatePercent")
    domestic_sales_subject_to_reversed_construction_vat_account_number: int | None = Field(
        None, alias="DomesticSalesSubjectToReversedConstructionVatAccountNumber"
    )
    domestic_sales_subject_to_vat_account_number: int | None = Field(
        None, alias="DomesticSalesSubjectToVatAccountNumber"
    )
    domestic_sales_vat_exempt_account_number: int | None = Field(None, alias="DomesticSalesVatExemptAccountNumber")
    foreign_sales_subject_to_moss_account_number: int | None = Field(
        None, alias="ForeignSalesSubjectToMossAccountNumber"
    )
    foreign_sales_subject_to_third_party_sales_account_number: int | None = Field(
        None, alias="ForeignSalesSubjectToThirdPartySalesAccountNumber"
    )
    foreign_sales_subject_to_vat_within_eu_account_number: int | None = Field(
        None, alias="ForeignSalesSubjectToVatWithinEuAccountNumber"
    )
    foreign_sales_vat_exempt_outside_eu_account_number: int | None = Field(
        None, alias="ForeignSalesVatExemptOutsideEuAccountNumber"
    )
    foreign_sales_vat_exempt_within_eu_account_number: int | None = Field(
        None, alias="ForeignSalesVatExemptWithinEuAccountNumber"
    )
    domestic_sales_vat_code_exempt_account_number: int | None = Field(
        None, alias="DomesticSalesVatCodeExemptAccountNumber"
    )
    changed_utc: UtcDatetime | None = Field(None, alias="ChangedUtc")


class FiscalYear(ReadModel):
    """A fiscal year (`/v2/fiscalyears`)."""

    __definition__: ClassVar[str] = "FiscalYearApi"

    id: str = Field(alias="Id")
    start_date: ApiDate | None = Field(None, alias="StartDate")
    end_date: ApiDate | None = Field(None, alias="EndDate")
    is_locked_for_accounting: bool | None = Field(None, alias="IsLockedForAccounting")
    bookkeeping_method: int | None = Field(None, alias="BookkeepingMethod")


class CompanyTexts(ReadModel):
    """Texts printed on sales documents."""

    __definition__: ClassVar[str] = "CompanyTextsApi"

    customer_invoice_text_domestic: str | None = Field(None, alias="CustomerInvoiceTextDomestic")
    customer_invoice_text_foreign: str | None = Field(None, alias="CustomerInvoiceTextForeign")
    order_text_domestic: str | None = Field(None, alias="OrderTextDomestic")
    order_text_foreign: str | None = Field(None, alias="OrderTextForeign")
    over_due_text_domestic: str | None = Field(None, alias="OverDueTextDomestic")
    over_due_text_foreign: str | None = Field(None, alias="OverDueTextForeign")


class CompanySettings(ReadModel):
    """The company's settings (`/v2/companysettings`, one object)."""

    __definition__: ClassVar[str] = "CompanySettingsApi"

    name: str | None = Field(None, alias="Name")
    email: str | None = Field(None, alias="Email")
    phone: str | None = Field(None, alias="Phone")
    mobile_phone: str | None = Field(None, alias="MobilePhone")
    address1: str | None = Field(None, alias="Address1")
    address2: str | None = Field(None, alias="Address2")
    country_code: str | None = Field(None, alias="CountryCode")
    postal_code: str | None = Field(None, alias="PostalCode")
    city: str | None = Field(None, alias="City")
    website: str | None = Field(None, alias="Website")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    terms_of_payment_id: str | None = Field(None, alias="TermsOfPaymentId")
    corporate_identity_number: str | None = Field(None, alias="CorporateIdentityNumber")
    vat_code: str | None = Field(None, alias="VatCode")
    bank_giro: str | None = Field(None, alias="BankGiro")
    plus_giro: str | None = Field(None, alias="PlusGiro")
    bank_account: str | None = Field(None, alias="BankAccount")
    iban: str | None = Field(None, alias="Iban")
    accounting_locked_to: ApiDate | None = Field(None, alias="AccountingLockedTo")
    gln: str | None = Field(None, alias="Gln")
    product_variant: int | None = Field(None, alias="ProductVariant")
    type_of_business: int | None = Field(None, alias="TypeOfBusiness")
    vat_period: int | None = Field(None, alias="VatPeriod")
    activated_modules: list[str] | None = Field(None, alias="ActivatedModules")
    company_text: CompanyTexts | None = Field(None, alias="CompanyText")
    next_customer_number: int | None = Field(None, alias="NextCustomerNumber")
    next_supplier_number: int | None = Field(None, alias="NextSupplierNumber")
    next_customer_invoice_number: int | None = Field(None, alias="NextCustomerInvoiceNumber")
    next_quote_number: int | None = Field(None, alias="NextQuoteNumber")
    show_prices_excl_vat_pc: bool | None = Field(None, alias="ShowPricesExclVatPC")
    # Since 2020.
    accounting_lock_interval: int | None = Field(None, alias="AccountingLockInterval")
    approval_settings: dict[str, Any] | None = Field(None, alias="ApprovalSettings")
    auto_invoice: dict[str, Any] | None = Field(None, alias="AutoInvoice")
    bankgiro_number_print: str | None = Field(None, alias="BankgiroNumberPrint")
    company_identifier: str | None = Field(None, alias="CompanyIdentifier")
    company_rot_rut_settings: dict[str, Any] | None = Field(None, alias="CompanyRotRutSettings")
    company_status: int | None = Field(None, alias="CompanyStatus")
    domestic_currency_rounding: int | None = Field(None, alias="DomesticCurrencyRounding")
    is_payslip_activated: bool | None = Field(None, alias="IsPayslipActivated")
    keep_original_draft_date: bool | None = Field(None, alias="KeepOriginalDraftDate")
    tax_declaration_date: dict[str, Any] | None = Field(None, alias="TaxDeclarationDate")
    uses_moss: bool | None = Field(None, alias="UsesMoss")
    uses_payment_reference_number: bool | None = Field(None, alias="UsesPaymentReferenceNumber")
    uses_reverse_construction_vat: bool | None = Field(None, alias="UsesReverseConstructionVat")
    uses_rot_reduced_invoicing: bool | None = Field(None, alias="UsesRotReducedInvoicing")
