"""Exact Online REST API connector: typed async client, wire models, error policy, webhooks and wiring.

Facts and sources: docs/exact-online-api.md; how the connector uses them: docs/exact-connector.md. Tested against
the strict simulator in `sandbox/exact/` (tests/connectors_exact).
"""

from connectors.exact.client import ExactClient
from connectors.exact.documents import (
    GeneralJournalEntry,
    GeneralJournalEntryLine,
    GoodsDelivery,
    GoodsDeliveryLine,
    SalesEntry,
    SalesEntryLine,
    SalesInvoice,
    SalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
)
from connectors.exact.factory import DivisionBudget, build_exact_client, oauth_config
from connectors.exact.models import (
    Account,
    Contact,
    Deleted,
    Division,
    ExactModel,
    Item,
    ItemGroup,
    ItemWarehouse,
    Me,
    StockPosition,
    Unit,
    Warehouse,
    WebhookSubscription,
)
from connectors.exact.paging import NextLinkPaginator, SyncPage
from connectors.exact.policy import ExactErrorPolicy
from connectors.exact.reference import (
    Costcenter,
    Costunit,
    GLAccount,
    Journal,
    PaymentCondition,
    ShippingMethod,
    VATCode,
)
from connectors.exact.webhooks import WebhookContent, WebhookPayload, parse_webhook, verify_signature

__all__ = [
    "Account",
    "Contact",
    "Costcenter",
    "Costunit",
    "Deleted",
    "Division",
    "DivisionBudget",
    "ExactClient",
    "ExactErrorPolicy",
    "ExactModel",
    "GLAccount",
    "GeneralJournalEntry",
    "GeneralJournalEntryLine",
    "GoodsDelivery",
    "GoodsDeliveryLine",
    "Item",
    "ItemGroup",
    "ItemWarehouse",
    "Journal",
    "Me",
    "NextLinkPaginator",
    "PaymentCondition",
    "SalesEntry",
    "SalesEntryLine",
    "SalesInvoice",
    "SalesInvoiceLine",
    "SalesOrder",
    "SalesOrderLine",
    "ShippingMethod",
    "StockPosition",
    "SyncPage",
    "Unit",
    "VATCode",
    "Warehouse",
    "WebhookContent",
    "WebhookPayload",
    "WebhookSubscription",
    "build_exact_client",
    "oauth_config",
    "parse_webhook",
    "verify_signature",
]
