"""Pydantic models of eAccounting's sales documents (orders, invoice drafts, invoices) and vouchers.

Field for field as the vendor's Swagger names them, like `models.py`: snake_case attributes, the wire name as alias,
unknown members kept. Orders, drafts and invoices share most of their fields; the shared ones live in
`SalesDocument`/`InvoiceDocument` (and `SalesRow`/`InvoiceRowBase` for rows), and
`tests/connectors_eaccounting/test_models.py` checks every alias of each class, inherited ones included, against
the definition named in its `__definition__`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field

from connectors.eaccounting.models import ReadModel
from connectors.eaccounting.wire import ApiDate, UtcDatetime

__all__ = [
    "AttachmentLink",
    "CustomerInvoice",
    "CustomerInvoiceDraft",
    "CustomerInvoiceDraftRow",
    "CustomerInvoiceRow",
    "InvoiceDocument",
    "InvoiceRowBase",
    "InvoiceUrl",
    "Order",
    "OrderRow",
    "OrderStatus",
    "RotRutPerson",
    "SalesDocument",
    "SalesRow",
    "Voucher",
    "VoucherRow",
]


class OrderStatus:
    """`OrderApi.Status` values (the description documents them in the field's text, not as an enum)."""

    DRAFT = 1
    ONGOING = 2
    SHIPPED = 3
    INVOICED = 4


class RotRutPerson(ReadModel):
    """A person of a ROT/RUT tax reduction (Sweden)."""

    __definition__: ClassVar[str] = "SalesDocumentRotRutReductionPersonApi"

    ssn: str | None = Field(None, alias="Ssn")
    amount: Decimal | None = Field(None, alias="Amount")


class SalesRow(ReadModel):
    """What the rows of orders, invoice drafts and invoices have in common."""

    line_number: int | None = Field(None, alias="LineNumber")
    article_id: str | None = Field(None, alias="ArticleId")
    article_number: str | None = Field(None, alias="ArticleNumber")
    is_text_row: bool | None = Field(None, alias="IsTextRow")
    text: str | None = Field(None, alias="Text")
    unit_price: Decimal | None = Field(None, alias="UnitPrice")
    discount_percentage: Decimal | None = Field(None, alias="DiscountPercentage")
    quantity: Decimal | None = Field(None, alias="Quantity")
    work_cost_type: int | None = Field(None, alias="WorkCostType")
    is_work_cost: bool | None = Field(None, alias="IsWorkCost")
    cost_center_item_id1: str | None = Field(None, alias="CostCenterItemId1")
    cost_center_item_id2: str | None = Field(None, alias="CostCenterItemId2")
    cost_center_item_id3: str | None = Field(None, alias="CostCenterItemId3")
    project_id: str | None = Field(None, alias="ProjectId")


class InvoiceRowBase(SalesRow):
    """What the rows of invoice drafts and invoices add to `SalesRow`."""

    work_hours: Decimal | None = Field(None, alias="WorkHours")
    material_costs: Decimal | None = Field(None, alias="MaterialCosts")
    unit_abbreviation: str | None = Field(None, alias="UnitAbbreviation")


class SalesDocument(ReadModel):
    """What orders, invoice drafts and invoices have in common: customer, addresses, delivery."""

    id: str = Field(alias="Id")
    customer_id: str | None = Field(None, alias="CustomerId")
    created_utc: UtcDatetime | None = Field(None, alias="CreatedUtc")
    delivery_customer_name: str | None = Field(None, alias="DeliveryCustomerName")
    delivery_address1: str | None = Field(None, alias="DeliveryAddress1")
    delivery_address2: str | None = Field(None, alias="DeliveryAddress2")
    delivery_postal_code: str | None = Field(None, alias="DeliveryPostalCode")
    delivery_city: str | None = Field(None, alias="DeliveryCity")
    delivery_country_code: str | None = Field(None, alias="DeliveryCountryCode")
    your_reference: str | None = Field(None, alias="YourReference")
    our_reference: str | None = Field(None, alias="OurReference")
    invoice_address1: str | None = Field(None, alias="InvoiceAddress1")
    invoice_address2: str | None = Field(None, alias="InvoiceAddress2")
    invoice_city: str | None = Field(None, alias="InvoiceCity")
    invoice_country_code: str | None = Field(None, alias="InvoiceCountryCode")
    invoice_customer_name: str | None = Field(None, alias="InvoiceCustomerName")
    invoice_postal_code: str | None = Field(None, alias="InvoicePostalCode")
    delivery_method_name: str | None = Field(None, alias="DeliveryMethodName")
    delivery_method_code: str | None = Field(None, alias="DeliveryMethodCode")
    delivery_term_name: str | None = Field(None, alias="DeliveryTermName")
    delivery_term_code: str | None = Field(None, alias="DeliveryTermCode")
    eu_third_party: bool | None = Field(None, alias="EuThirdParty")
    customer_is_private_person: bool | None = Field(None, alias="CustomerIsPrivatePerson")
    delivery_date: ApiDate | None = Field(None, alias="DeliveryDate")
    rot_reduced_invoicing_type: int | None = Field(None, alias="RotReducedInvoicingType")
    rot_property_type: int | None = Field(None, alias="RotPropertyType")
    persons: list[RotRutPerson] | None = Field(None, alias="Persons")
    reverse_charge_on_construction_services: bool | None = Field(None, alias="ReverseChargeOnConstructionServices")


class InvoiceDocument(SalesDocument):
    """What invoice drafts and invoices add to `SalesDocument`."""

    is_credit_invoice: bool | None = Field(None, alias="IsCreditInvoice")
    rot_reduced_invoicing_property_name: str | None = Field(None, alias="RotReducedInvoicingPropertyName")
    rot_reduced_invoicing_org_number: str | None = Field(None, alias="RotReducedInvoicingOrgNumber")
    rot_reduced_invoicing_amount: Decimal | None = Field(None, alias="RotReducedInvoicingAmount")
    rot_reduced_invoicing_automatic_distribution: bool | None = Field(
        None, alias="RotReducedInvoicingAutomaticDistribution"
    )
    sales_document_attachments: list[str] | None = Field(None, alias="SalesDocumentAttachments")
    invoice_date: ApiDate | None = Field(None, alias="InvoiceDate")
    total_amount: Decimal | None = Field(None, alias="TotalAmount")
    total_vat_amount: Decimal | None = Field(None, alias="TotalVatAmount")
    total_roundings: Decimal | None = Field(None, alias="TotalRoundings")
    customer_number: str | None = Field(None, alias="CustomerNumber")
    includes_vat: bool | None = Field(None, alias="IncludesVat")


class OrderRow(SalesRow):
    """One row of an order; `IsTextRow` rows carry only `Text`."""

    __definition__: ClassVar[str] = "OrderRowApi"
    delivered_quantity: Decimal | None = Field(None, alias="DeliveredQuantity")
    eligible_for_reverse_charge_on_vat: bool | None = Field(None, alias="EligibleForReverseChargeOnVat")
    id: str | None = Field(None, alias="Id")


class Order(SalesDocument):
    """A sales order (`/v2/orders`) with its `Rows`.

    `Status`: 1 Draft, 2 Ongoing, 3 Shipped, 4 Invoiced (`OrderStatus`). A shipment write-back is a PUT of the whole
    order with `Status` 3 and `ShippedDateTime` (a date; writable in the description, no "Read-only" mark) and, per
    row, `DeliveredQuantity` (max 2 decimals, while `Quantity` allows 4). The description has no tracking-number or
    carrier field on orders (`TrackingNumber` does not exist); `DeliveryMethodCode/Name` is the only shipping
    information it knows, and there is no shipping-amount field either (freight is a row on a service article).
    Newer API versions add `POST /v2/orders/{id}/completed`, which also sets `ShippedDateTime`; it is not in the
    2018 description, so the connector does not use it. An Invoiced order cannot be changed.
    """

    __definition__: ClassVar[str] = "OrderApi"
    amount: Decimal | None = Field(None, alias="Amount")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    vat_amount: Decimal | None = Field(None, alias="VatAmount")
    roundings_amount: Decimal | None = Field(None, alias="RoundingsAmount")
    delivered_amount: Decimal | None = Field(None, alias="DeliveredAmount")
    delivered_vat_amount: Decimal | None = Field(None, alias="DeliveredVatAmount")
    delivered_roundings_amount: Decimal | None = Field(None, alias="DeliveredRoundingsAmount")
    order_date: ApiDate | None = Field(None, alias="OrderDate")
    status: int | None = Field(None, alias="Status")
    number: int | None = Field(None, alias="Number")
    modified_utc: UtcDatetime | None = Field(None, alias="ModifiedUtc")
    house_work_amount: Decimal | None = Field(None, alias="HouseWorkAmount")
    house_work_automatic_distribution: bool | None = Field(None, alias="HouseWorkAutomaticDistribution")
    house_work_corporate_identity_number: str | None = Field(None, alias="HouseWorkCorporateIdentityNumber")
    house_work_property_name: str | None = Field(None, alias="HouseWorkPropertyName")
    rows: list[OrderRow] | None = Field(None, alias="Rows")
    shipped_date_time: ApiDate | None = Field(None, alias="ShippedDateTime")


class CustomerInvoiceDraftRow(InvoiceRowBase):
    """One row of an invoice draft."""

    __definition__: ClassVar[str] = "CustomerInvoiceDraftRowApi"
    reversed_construction_services_vat_free: bool | None = Field(None, alias="ReversedConstructionServicesVatFree")
    vat_rate_id: str | None = Field(None, alias="VatRateId")
    unit_name: str | None = Field(None, alias="UnitName")
    id: str | None = Field(None, alias="Id")


class CustomerInvoiceDraft(InvoiceDocument):
    """A customer invoice draft (`/v2/customerinvoicedrafts`): editable until converted."""

    __definition__: ClassVar[str] = "CustomerInvoiceDraftApi"
    house_work_other_costs: Decimal | None = Field(None, alias="HouseWorkOtherCosts")
    rows: list[CustomerInvoiceDraftRow] | None = Field(None, alias="Rows")
    invoice_currency_code: str | None = Field(None, alias="InvoiceCurrencyCode")
    total_amount_base_currency: Decimal | None = Field(None, alias="TotalAmountBaseCurrency")
    total_vat_amount_base_currency: Decimal | None = Field(None, alias="TotalVatAmountBaseCurrency")
    buyers_order_reference: str | None = Field(None, alias="BuyersOrderReference")


class CustomerInvoiceRow(InvoiceRowBase):
    """One row of a booked customer invoice."""

    __definition__: ClassVar[str] = "CustomerInvoiceRowApi"
    id: str | None = Field(None, alias="Id")
    amount_no_vat: Decimal | None = Field(None, alias="AmountNoVat")
    percent_vat: Decimal | None = Field(None, alias="PercentVat")
    unit_abbreviation_english: str | None = Field(None, alias="UnitAbbreviationEnglish")
    is_vat_free: bool | None = Field(None, alias="IsVatFree")
    unit_id: str | None = Field(None, alias="UnitId")


class CustomerInvoice(InvoiceDocument):
    """A booked customer invoice (`/v2/customerinvoices`)."""

    __definition__: ClassVar[str] = "CustomerInvoiceApi"
    currency_code: str | None = Field(None, alias="CurrencyCode")
    currency_rate: Decimal | None = Field(None, alias="CurrencyRate")
    created_by_user_id: str | None = Field(None, alias="CreatedByUserId")
    total_amount_invoice_currency: Decimal | None = Field(None, alias="TotalAmountInvoiceCurrency")
    total_vat_amount_invoice_currency: Decimal | None = Field(None, alias="TotalVatAmountInvoiceCurrency")
    rows: list[CustomerInvoiceRow] | None = Field(None, alias="Rows")
    due_date: ApiDate | None = Field(None, alias="DueDate")
    rot_reduced_invoicing_percent: Decimal | None = Field(None, alias="RotReducedInvoicingPercent")
    electronic_reference: str | None = Field(None, alias="ElectronicReference")
    electronic_address: str | None = Field(None, alias="ElectronicAddress")
    edi_service_deliverer_id: str | None = Field(None, alias="EdiServiceDelivererId")
    terms_of_payment_id: str | None = Field(None, alias="TermsOfPaymentId")
    customer_email: str | None = Field(None, alias="CustomerEmail")
    invoice_number: int | None = Field(None, alias="InvoiceNumber")
    payment_reference_number: str | None = Field(None, alias="PaymentReferenceNumber")
    has_auto_invoice_error: bool | None = Field(None, alias="HasAutoInvoiceError")
    is_not_delivered: bool | None = Field(None, alias="IsNotDelivered")
    work_house_other_costs: Decimal | None = Field(None, alias="WorkHouseOtherCosts")
    remaining_amount: Decimal | None = Field(None, alias="RemainingAmount")
    remaining_amount_invoice_currency: Decimal | None = Field(None, alias="RemainingAmountInvoiceCurrency")
    referring_invoice_id: str | None = Field(None, alias="ReferringInvoiceId")
    voucher_number: str | None = Field(None, alias="VoucherNumber")
    voucher_id: str | None = Field(None, alias="VoucherId")
    modified_utc: UtcDatetime | None = Field(None, alias="ModifiedUtc")
    reversed_construction_vat_invoicing: bool | None = Field(None, alias="ReversedConstructionVatInvoicing")
    send_type: int | None = Field(None, alias="SendType")
    # Since 2020.
    buyers_order_reference: str | None = Field(None, alias="BuyersOrderReference")
    created_from_draft_id: str | None = Field(None, alias="CreatedFromDraftId")
    created_from_order_id: str | None = Field(None, alias="CreatedFromOrderId")
    payment_reminder_issued: bool | None = Field(None, alias="PaymentReminderIssued")
    set_off_amount_invoice_currency: Decimal | None = Field(None, alias="SetOffAmountInvoiceCurrency")
    vat_specification: list[dict[str, Any]] | None = Field(None, alias="VatSpecification")


class InvoiceUrl(ReadModel):
    """What `POST /v2/customerinvoices` answers: the URL of the new invoice."""

    __definition__: ClassVar[str] = "InvoiceUrlApi"

    url: str | None = Field(None, alias="Url")


class AttachmentLink(ReadModel):
    """Documents attached to a voucher."""

    __definition__: ClassVar[str] = "AttachmentLinkApi"

    document_id: str | None = Field(None, alias="DocumentId")
    document_type: int | None = Field(None, alias="DocumentType")
    attachment_ids: list[str] | None = Field(None, alias="AttachmentIds")


class VoucherRow(ReadModel):
    """One row of a voucher: an account and a debit or credit amount."""

    __definition__: ClassVar[str] = "VoucherRowApi"

    account_number: int | None = Field(None, alias="AccountNumber")
    account_description: str | None = Field(None, alias="AccountDescription")
    debit_amount: Decimal | None = Field(None, alias="DebitAmount")
    credit_amount: Decimal | None = Field(None, alias="CreditAmount")
    transaction_text: str | None = Field(None, alias="TransactionText")
    cost_center_item_id1: str | None = Field(None, alias="CostCenterItemId1")
    cost_center_item_id2: str | None = Field(None, alias="CostCenterItemId2")
    cost_center_item_id3: str | None = Field(None, alias="CostCenterItemId3")
    vat_code_id: str | None = Field(None, alias="VatCodeId")
    vat_code_and_percent: str | None = Field(None, alias="VatCodeAndPercent")
    quantity: Decimal | None = Field(None, alias="Quantity")
    weight: Decimal | None = Field(None, alias="Weight")
    delivery_date: ApiDate | None = Field(None, alias="DeliveryDate")
    harvest_year: int | None = Field(None, alias="HarvestYear")
    project_id: str | None = Field(None, alias="ProjectId")


class Voucher(ReadModel):
    """A manual voucher (`/v2/vouchers`); its rows must balance."""

    __definition__: ClassVar[str] = "VoucherApi"

    id: str = Field(alias="Id")
    voucher_date: ApiDate | None = Field(None, alias="VoucherDate")
    voucher_text: str | None = Field(None, alias="VoucherText")
    rows: list[VoucherRow] | None = Field(None, alias="Rows")
    number_and_number_series: str | None = Field(None, alias="NumberAndNumberSeries")
    number_series: str | None = Field(None, alias="NumberSeries")
    attachments: AttachmentLink | None = Field(None, alias="Attachments")
    modified_utc: UtcDatetime | None = Field(None, alias="ModifiedUtc")
    voucher_type: int | None = Field(None, alias="VoucherType")
    source_id: str | None = Field(None, alias="SourceId")
    created_utc: UtcDatetime | None = Field(None, alias="CreatedUtc")
