"""Pydantic models of Exact's documents: sales orders, sales invoices, sales entries, general journal entries and
goods deliveries, each with its lines (docs/exact-online-api.md §9.1, §9.6-§9.8).

Header and lines are created in one POST: the line collection (`SalesOrderLines`, ...) is a list in the body. In an
answer the lines are a list only when `$expand`ed; otherwise Exact sends `{"__deferred": {...}}` and the attribute
is None. Status codes: orders 12 open, 20 partial, 21 complete, 45 cancelled; invoices 10 draft, 20 open,
50 processed; invoice `Type` 8020 invoice, 8021 credit note, 8023/8024 direct (with stock movement).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from connectors.exact.models import Audited, InDivision
from connectors.exact.wire import AccountCode, ExactDateTime

__all__ = [
    "GeneralJournalEntry",
    "GeneralJournalEntryLine",
    "GoodsDelivery",
    "GoodsDeliveryLine",
    "SalesEntry",
    "SalesEntryLine",
    "SalesInvoice",
    "SalesInvoiceLine",
    "SalesOrder",
    "SalesOrderLine",
]

_KEYED_BY_OTHER = frozenset({"Timestamp", "ID"})  # sync rows carry `ID` besides `OrderID`/`EntryID`


def _expanded(value: Any) -> Any:
    """`{"results": [...]}` (expanded) -> the list; `{"__deferred": ...}` (not expanded) -> None."""
    if isinstance(value, dict):
        if isinstance(value.get("results"), list):
            return value["results"]
        if "__deferred" in value:
            return None
    return value


class SalesOrderLine(InDivision):
    """`salesorder/SalesOrderLines`: `Quantity` in the item's unit; `Discount` a fraction; amounts excl. VAT."""

    __entity__: ClassVar[str] = "salesorder/SalesOrderLines"

    id: str | None = Field(None, alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    order_id: str | None = Field(None, alias="OrderID")
    order_number: int | None = Field(None, alias="OrderNumber")
    line_number: int | None = Field(None, alias="LineNumber")
    item: str | None = Field(None, alias="Item")
    item_code: str | None = Field(None, alias="ItemCode")
    item_description: str | None = Field(None, alias="ItemDescription")
    description: str | None = Field(None, alias="Description")
    quantity: Decimal | None = Field(None, alias="Quantity")
    unit_price: Decimal | None = Field(None, alias="UnitPrice")
    net_price: Decimal | None = Field(None, alias="NetPrice")
    discount: Decimal | None = Field(None, alias="Discount")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    amount_dc: Decimal | None = Field(None, alias="AmountDC")
    vat_code: str | None = Field(None, alias="VATCode")
    vat_percentage: Decimal | None = Field(None, alias="VATPercentage")
    vat_amount: Decimal | None = Field(None, alias="VATAmount")
    unit_code: str | None = Field(None, alias="UnitCode")
    delivery_date: ExactDateTime | None = Field(None, alias="DeliveryDate")
    cost_center: str | None = Field(None, alias="CostCenter")
    cost_unit: str | None = Field(None, alias="CostUnit")
    notes: str | None = Field(None, alias="Notes")
    quantity_delivered: Decimal | None = Field(None, alias="QuantityDelivered")
    quantity_invoiced: Decimal | None = Field(None, alias="QuantityInvoiced")
    delivery_status: int | None = Field(None, alias="DeliveryStatus")
    invoice_status: int | None = Field(None, alias="InvoiceStatus")
    order_status: int | None = Field(None, alias="OrderStatus")


class SalesOrder(Audited):
    """`salesorder/SalesOrders` (sync: `SalesOrderHeaders`). `OrderedBy`, `DeliverTo`, `InvoiceTo` are account GUIDs
    that cannot change after creation; `YourRef` holds the external order number; complete orders refuse PUT."""

    __entity__: ClassVar[str] = "salesorder/SalesOrders"
    __lines__: ClassVar[str | None] = "SalesOrderLines"
    __sync_only__: ClassVar[frozenset[str]] = _KEYED_BY_OTHER

    order_id: str | None = Field(None, alias="OrderID")
    id: str | None = Field(None, alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    order_number: int | None = Field(None, alias="OrderNumber")
    order_date: ExactDateTime | None = Field(None, alias="OrderDate")
    delivery_date: ExactDateTime | None = Field(None, alias="DeliveryDate")
    description: str | None = Field(None, alias="Description")
    your_ref: str | None = Field(None, alias="YourRef")
    remarks: str | None = Field(None, alias="Remarks")
    ordered_by: str | None = Field(None, alias="OrderedBy")
    ordered_by_name: str | None = Field(None, alias="OrderedByName")
    ordered_by_contact_person: str | None = Field(None, alias="OrderedByContactPerson")
    deliver_to: str | None = Field(None, alias="DeliverTo")
    deliver_to_name: str | None = Field(None, alias="DeliverToName")
    deliver_to_contact_person: str | None = Field(None, alias="DeliverToContactPerson")
    invoice_to: str | None = Field(None, alias="InvoiceTo")
    invoice_to_name: str | None = Field(None, alias="InvoiceToName")
    delivery_address: str | None = Field(None, alias="DeliveryAddress")
    payment_condition: str | None = Field(None, alias="PaymentCondition")
    payment_condition_description: str | None = Field(None, alias="PaymentConditionDescription")
    payment_reference: str | None = Field(None, alias="PaymentReference")
    shipping_method: str | None = Field(None, alias="ShippingMethod")
    shipping_method_description: str | None = Field(None, alias="ShippingMethodDescription")
    warehouse_id: str | None = Field(None, alias="WarehouseID")
    warehouse_code: str | None = Field(None, alias="WarehouseCode")
    currency: str | None = Field(None, alias="Currency")
    salesperson: str | None = Field(None, alias="Salesperson")
    status: int | None = Field(None, alias="Status")
    status_description: str | None = Field(None, alias="StatusDescription")
    delivery_status: int | None = Field(None, alias="DeliveryStatus")
    delivery_status_description: str | None = Field(None, alias="DeliveryStatusDescription")
    invoice_status: int | None = Field(None, alias="InvoiceStatus")
    invoice_status_description: str | None = Field(None, alias="InvoiceStatusDescription")
    approval_status: int | None = Field(None, alias="ApprovalStatus")
    approval_status_description: str | None = Field(None, alias="ApprovalStatusDescription")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    amount_dc: Decimal | None = Field(None, alias="AmountDC")
    amount_fc_excl_vat: Decimal | None = Field(None, alias="AmountFCExclVat")
    amount_discount: Decimal | None = Field(None, alias="AmountDiscount")
    discount: Decimal | None = Field(None, alias="Discount")
    sales_order_lines: Annotated[list[SalesOrderLine] | None, BeforeValidator(_expanded)] = Field(
        None, alias="SalesOrderLines"
    )


class SalesInvoiceLine(InDivision):
    """`salesinvoice/SalesInvoiceLines`: `GLAccount` defaults from the item or its item group."""

    __entity__: ClassVar[str] = "salesinvoice/SalesInvoiceLines"

    id: str | None = Field(None, alias="ID")
    invoice_id: str | None = Field(None, alias="InvoiceID")
    line_number: int | None = Field(None, alias="LineNumber")
    item: str | None = Field(None, alias="Item")
    item_code: str | None = Field(None, alias="ItemCode")
    description: str | None = Field(None, alias="Description")
    quantity: Decimal | None = Field(None, alias="Quantity")
    unit_price: Decimal | None = Field(None, alias="UnitPrice")
    net_price: Decimal | None = Field(None, alias="NetPrice")
    discount: Decimal | None = Field(None, alias="Discount")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    vat_code: str | None = Field(None, alias="VATCode")
    vat_percentage: Decimal | None = Field(None, alias="VATPercentage")
    vat_amount_fc: Decimal | None = Field(None, alias="VATAmountFC")
    gl_account: str | None = Field(None, alias="GLAccount")
    cost_center: str | None = Field(None, alias="CostCenter")
    cost_unit: str | None = Field(None, alias="CostUnit")
    unit_code: str | None = Field(None, alias="UnitCode")
    delivery_date: ExactDateTime | None = Field(None, alias="DeliveryDate")
    sales_order: str | None = Field(None, alias="SalesOrder")
    sales_order_line: str | None = Field(None, alias="SalesOrderLine")
    notes: str | None = Field(None, alias="Notes")


class SalesInvoice(Audited):
    """`salesinvoice/SalesInvoices`: `Journal` (a sales journal code) and `OrderedBy` are mandatory; a direct
    invoice (`Type` 8023/8024) also needs `Warehouse` and moves stock."""

    __entity__: ClassVar[str] = "salesinvoice/SalesInvoices"
    __lines__: ClassVar[str | None] = "SalesInvoiceLines"
    __sync_only__: ClassVar[frozenset[str]] = _KEYED_BY_OTHER

    invoice_id: str | None = Field(None, alias="InvoiceID")
    id: str | None = Field(None, alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    invoice_number: int | None = Field(None, alias="InvoiceNumber")
    journal: str | None = Field(None, alias="Journal")
    type: int | None = Field(None, alias="Type")
    ordered_by: str | None = Field(None, alias="OrderedBy")
    ordered_by_name: str | None = Field(None, alias="OrderedByName")
    invoice_to: str | None = Field(None, alias="InvoiceTo")
    deliver_to: str | None = Field(None, alias="DeliverTo")
    invoice_date: ExactDateTime | None = Field(None, alias="InvoiceDate")
    order_number: int | None = Field(None, alias="OrderNumber")
    order_date: ExactDateTime | None = Field(None, alias="OrderDate")
    due_date: ExactDateTime | None = Field(None, alias="DueDate")
    payment_condition: str | None = Field(None, alias="PaymentCondition")
    payment_reference: str | None = Field(None, alias="PaymentReference")
    your_ref: str | None = Field(None, alias="YourRef")
    description: str | None = Field(None, alias="Description")
    remarks: str | None = Field(None, alias="Remarks")
    currency: str | None = Field(None, alias="Currency")
    discount: Decimal | None = Field(None, alias="Discount")
    shipping_method: str | None = Field(None, alias="ShippingMethod")
    salesperson: str | None = Field(None, alias="Salesperson")
    warehouse: str | None = Field(None, alias="Warehouse")
    status: int | None = Field(None, alias="Status")
    status_description: str | None = Field(None, alias="StatusDescription")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    amount_fc_excl_vat: Decimal | None = Field(None, alias="AmountFCExclVat")
    vat_amount_fc: Decimal | None = Field(None, alias="VATAmountFC")
    amount_dc: Decimal | None = Field(None, alias="AmountDC")
    sales_invoice_lines: Annotated[list[SalesInvoiceLine] | None, BeforeValidator(_expanded)] = Field(
        None, alias="SalesInvoiceLines"
    )


class SalesEntryLine(InDivision):
    """`salesentry/SalesEntryLines`: a GL account and an amount excl. VAT; the VAT code defaults from the account."""

    __entity__: ClassVar[str] = "salesentry/SalesEntryLines"

    id: str | None = Field(None, alias="ID")
    entry_id: str | None = Field(None, alias="EntryID")
    line_number: int | None = Field(None, alias="LineNumber")
    gl_account: str | None = Field(None, alias="GLAccount")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    vat_code: str | None = Field(None, alias="VATCode")
    vat_amount_fc: Decimal | None = Field(None, alias="VATAmountFC")
    vat_percentage: Decimal | None = Field(None, alias="VATPercentage")
    cost_center: str | None = Field(None, alias="CostCenter")
    cost_unit: str | None = Field(None, alias="CostUnit")
    description: str | None = Field(None, alias="Description")
    quantity: Decimal | None = Field(None, alias="Quantity")
    from_: ExactDateTime | None = Field(None, alias="From")
    to: ExactDateTime | None = Field(None, alias="To")


class SalesEntry(Audited):
    """`salesentry/SalesEntries`: a purely financial sales booking (no items, no stock); `Type` 20 or 21."""

    __entity__: ClassVar[str] = "salesentry/SalesEntries"
    __lines__: ClassVar[str | None] = "SalesEntryLines"

    entry_id: str | None = Field(None, alias="EntryID")
    entry_number: int | None = Field(None, alias="EntryNumber")
    customer: str | None = Field(None, alias="Customer")
    customer_name: str | None = Field(None, alias="CustomerName")
    journal: str | None = Field(None, alias="Journal")
    entry_date: ExactDateTime | None = Field(None, alias="EntryDate")
    invoice_number: int | None = Field(None, alias="InvoiceNumber")
    your_ref: str | None = Field(None, alias="YourRef")
    description: str | None = Field(None, alias="Description")
    payment_condition: str | None = Field(None, alias="PaymentCondition")
    payment_reference: str | None = Field(None, alias="PaymentReference")
    currency: str | None = Field(None, alias="Currency")
    rate: Decimal | None = Field(None, alias="Rate")
    reporting_year: int | None = Field(None, alias="ReportingYear")
    reporting_period: int | None = Field(None, alias="ReportingPeriod")
    due_date: ExactDateTime | None = Field(None, alias="DueDate")
    type: int | None = Field(None, alias="Type")
    status: int | None = Field(None, alias="Status")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    amount_dc: Decimal | None = Field(None, alias="AmountDC")
    vat_amount_fc: Decimal | None = Field(None, alias="VATAmountFC")
    sales_entry_lines: Annotated[list[SalesEntryLine] | None, BeforeValidator(_expanded)] = Field(
        None, alias="SalesEntryLines"
    )


class GeneralJournalEntryLine(Audited):
    """`generaljournalentry/GeneralJournalEntryLines`: `AmountVATFC` needs a `VATCode`."""

    __entity__: ClassVar[str] = "generaljournalentry/GeneralJournalEntryLines"

    id: str | None = Field(None, alias="ID")
    entry_id: str | None = Field(None, alias="EntryID")
    line_number: int | None = Field(None, alias="LineNumber")
    gl_account: str | None = Field(None, alias="GLAccount")
    amount_fc: Decimal | None = Field(None, alias="AmountFC")
    amount_vat_fc: Decimal | None = Field(None, alias="AmountVATFC")
    vat_code: str | None = Field(None, alias="VATCode")
    date: ExactDateTime | None = Field(None, alias="Date")
    description: str | None = Field(None, alias="Description")
    account: str | None = Field(None, alias="Account")
    cost_center: str | None = Field(None, alias="CostCenter")
    cost_unit: str | None = Field(None, alias="CostUnit")
    quantity: Decimal | None = Field(None, alias="Quantity")
    our_ref: int | None = Field(None, alias="OurRef")


class GeneralJournalEntry(InDivision):
    """`generaljournalentry/GeneralJournalEntries` (a "financial mutation"): `JournalCode` and lines; reads need
    `$select`. `Type` 10 opening balance, 90 other; `Status` 20 open, 50 processed. The reference lists `Created`
    and `Modified` here, not `Creator`/`Modifier`."""

    __entity__: ClassVar[str] = "generaljournalentry/GeneralJournalEntries"
    __lines__: ClassVar[str | None] = "GeneralJournalEntryLines"

    created: ExactDateTime | None = Field(None, alias="Created")
    modified: ExactDateTime | None = Field(None, alias="Modified")

    entry_id: str | None = Field(None, alias="EntryID")
    entry_number: int | None = Field(None, alias="EntryNumber")
    journal_code: str | None = Field(None, alias="JournalCode")
    journal_description: str | None = Field(None, alias="JournalDescription")
    financial_year: int | None = Field(None, alias="FinancialYear")
    financial_period: int | None = Field(None, alias="FinancialPeriod")
    currency: str | None = Field(None, alias="Currency")
    exchange_rate: Decimal | None = Field(None, alias="ExchangeRate")
    reversal: bool | None = Field(None, alias="Reversal")
    type: int | None = Field(None, alias="Type")
    status: int | None = Field(None, alias="Status")
    general_journal_entry_lines: Annotated[list[GeneralJournalEntryLine] | None, BeforeValidator(_expanded)] = Field(
        None, alias="GeneralJournalEntryLines"
    )


class GoodsDeliveryLine(Audited):
    """`salesorder/GoodsDeliveryLines`: what one delivery shipped of one sales order line."""

    __entity__: ClassVar[str] = "salesorder/GoodsDeliveryLines"

    id: str | None = Field(None, alias="ID")
    timestamp: int | None = Field(None, alias="Timestamp")
    entry_id: str | None = Field(None, alias="EntryID")
    line_number: int | None = Field(None, alias="LineNumber")
    sales_order_line_id: str | None = Field(None, alias="SalesOrderLineID")
    sales_order_number: int | None = Field(None, alias="SalesOrderNumber")
    sales_order_line_number: int | None = Field(None, alias="SalesOrderLineNumber")
    item: str | None = Field(None, alias="Item")
    item_code: str | None = Field(None, alias="ItemCode")
    item_description: str | None = Field(None, alias="ItemDescription")
    quantity_ordered: Decimal | None = Field(None, alias="QuantityOrdered")
    quantity_delivered: Decimal | None = Field(None, alias="QuantityDelivered")
    tracking_number: str | None = Field(None, alias="TrackingNumber")
    storage_location: str | None = Field(None, alias="StorageLocation")
    notes: str | None = Field(None, alias="Notes")
    delivery_date: ExactDateTime | None = Field(None, alias="DeliveryDate")


class GoodsDelivery(Audited):
    """`salesorder/GoodsDeliveries`: a shipment. `TrackingNumber` and `ShippingMethod` (a GUID; not copied from
    the order) are on the header; reads need `$select`."""

    __entity__: ClassVar[str] = "salesorder/GoodsDeliveries"
    __lines__: ClassVar[str | None] = "GoodsDeliveryLines"  # sync rows: keyed by EntryID, no ID

    entry_id: str | None = Field(None, alias="EntryID")
    timestamp: int | None = Field(None, alias="Timestamp")
    delivery_number: int | None = Field(None, alias="DeliveryNumber")
    entry_number: int | None = Field(None, alias="EntryNumber")
    delivery_date: ExactDateTime | None = Field(None, alias="DeliveryDate")
    delivery_account: str | None = Field(None, alias="DeliveryAccount")
    delivery_account_code: AccountCode | None = Field(None, alias="DeliveryAccountCode")
    delivery_account_name: str | None = Field(None, alias="DeliveryAccountName")
    delivery_address: str | None = Field(None, alias="DeliveryAddress")
    delivery_contact: str | None = Field(None, alias="DeliveryContact")
    description: str | None = Field(None, alias="Description")
    remarks: str | None = Field(None, alias="Remarks")
    tracking_number: str | None = Field(None, alias="TrackingNumber")
    shipping_method: str | None = Field(None, alias="ShippingMethod")
    shipping_method_code: str | None = Field(None, alias="ShippingMethodCode")
    shipping_method_description: str | None = Field(None, alias="ShippingMethodDescription")
    warehouse: str | None = Field(None, alias="Warehouse")
    warehouse_code: str | None = Field(None, alias="WarehouseCode")
    document: str | None = Field(None, alias="Document")
    goods_delivery_lines: Annotated[list[GoodsDeliveryLine] | None, BeforeValidator(_expanded)] = Field(
        None, alias="GoodsDeliveryLines"
    )
