"""Fields each known target API object needs on create, so a mapping that leaves one out fails at compile time.

Keys are the mapping's ``target``; ``""`` holds the top-level fields, other keys the fields every item of that
list needs. Sources: exact-online.md §4.7 and §9 (mandatory on POST), the eAccounting Swagger ``required`` lists.
"""

from __future__ import annotations

REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "exact.SalesOrder": {"": ("OrderedBy", "SalesOrderLines"), "SalesOrderLines": ("Item",)},
    "exact.SalesInvoice": {"": ("Journal", "OrderedBy", "SalesInvoiceLines"), "SalesInvoiceLines": ("Item",)},
    "exact.SalesEntry": {"": ("Journal", "Customer", "SalesEntryLines"), "SalesEntryLines": ("GLAccount", "AmountFC")},
    "exact.GeneralJournalEntry": {
        "": ("JournalCode", "GeneralJournalEntryLines"),
        "GeneralJournalEntryLines": ("GLAccount", "AmountFC"),
    },
    "exact.Account": {"": ("Name",)},
    "exact.Contact": {"": ("Account",)},
    "exact.Item": {"": ("Code", "Description")},
    "exact.GoodsDelivery": {"": ("DeliveryDate", "GoodsDeliveryLines"), "GoodsDeliveryLines": ("SalesOrderLineID",)},
    "eaccounting.Customer": {"": ("Name", "InvoiceCity", "InvoicePostalCode", "TermsOfPaymentId", "IsPrivatePerson")},
    "eaccounting.Article": {"": ("IsActive", "Number", "Name", "CodingId", "UnitId")},
    # Partial updates of existing objects: nothing is created, so nothing is required.
    "eaccounting.ArticleStock": {},
    "eaccounting.OrderShipment": {},
}
