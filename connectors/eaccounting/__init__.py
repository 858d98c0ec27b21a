"""Visma eAccounting API v2 connector: typed async client, wire models, error policy and wiring.

Facts and sources: docs/eaccounting-api.md. Every request this package can send is checked against the vendor's
Swagger description in tests/connectors_eaccounting/test_contract.py.
"""

from connectors.eaccounting.client import MAX_PAGE_SIZE, EAccountingClient, Paged
from connectors.eaccounting.documents import (
    CustomerInvoice,
    CustomerInvoiceDraft,
    CustomerInvoiceDraftRow,
    CustomerInvoiceRow,
    InvoiceUrl,
    Order,
    OrderRow,
    OrderStatus,
    Voucher,
    VoucherRow,
)
from connectors.eaccounting.factory import build_eaccounting_client, oauth_config
from connectors.eaccounting.models import (
    Account,
    Article,
    ArticleAccountCoding,
    ArticleLabel,
    CompanySettings,
    CostCenter,
    CostCenterItem,
    Customer,
    DeliveryMethod,
    DeliveryTerm,
    FiscalYear,
    Meta,
    Page,
    Project,
    TermsOfPayment,
    Unit,
    VatCode,
)
from connectors.eaccounting.policy import EAccountingErrorPolicy, ErrorCode

__all__ = [
    "MAX_PAGE_SIZE",
    "Account",
    "Article",
    "ArticleAccountCoding",
    "ArticleLabel",
    "CompanySettings",
    "CostCenter",
    "CostCenterItem",
    "Customer",
    "CustomerInvoice",
    "CustomerInvoiceDraft",
    "CustomerInvoiceDraftRow",
    "CustomerInvoiceRow",
    "DeliveryMethod",
    "DeliveryTerm",
    "EAccountingClient",
    "EAccountingErrorPolicy",
    "ErrorCode",
    "FiscalYear",
    "InvoiceUrl",
    "Meta",
    "Order",
    "OrderRow",
    "OrderStatus",
    "Page",
    "Paged",
    "Project",
    "TermsOfPayment",
    "Unit",
    "VatCode",
    "Voucher",
    "VoucherRow",
    "build_eaccounting_client",
    "oauth_config",
]
