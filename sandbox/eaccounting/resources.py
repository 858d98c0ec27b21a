"""The simulated collections: their Swagger definition, key, timestamps and server-owned fields."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RESOURCES", "Resource"]


@dataclass(frozen=True)
class Resource:
    """One collection of the API.

    `changed_field` is the timestamp the server moves on every change (`ChangedUtc` on customers and
    articles, `ModifiedUtc` on orders, invoices, vouchers, projects: the names the description uses).
    `read_only` fields are ignored when a client sends them (the description marks them "Read-only").
    """

    name: str
    definition: str
    label: str
    key: str = "Id"
    changed_field: str | None = None
    created_field: str | None = None
    read_only: frozenset[str] = frozenset()


def _ro(*names: str) -> frozenset[str]:
    return frozenset(names)


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource(
            "customers",
            "CustomerApi",
            "Customer",
            changed_field="ChangedUtc",
            read_only=_ro("Id", "PayToAccountId", "TermsOfPayment", "LastInvoiceDate", "ChangedUtc"),
        ),
        Resource(
            "articles",
            "ArticleApi",
            "Article",
            changed_field="ChangedUtc",
            read_only=_ro(
                "Id",
                "CodingName",
                "UnitName",
                "UnitAbbreviation",
                "StockBalanceManuallyChangedUtc",
                "StockBalanceReserved",
                "StockBalanceAvailable",
                "ChangedUtc",
                "PurchasePriceManuallyChangedUtc",
            ),
        ),
        Resource(
            "orders",
            "OrderApi",
            "Order",
            changed_field="ModifiedUtc",
            created_field="CreatedUtc",
            read_only=_ro("Id", "CreatedUtc", "ModifiedUtc", "Number"),
        ),
        Resource(
            "customerinvoicedrafts",
            "CustomerInvoiceDraftApi",
            "Customer invoice draft",
            created_field="CreatedUtc",
            read_only=_ro("Id", "CreatedUtc"),
        ),
        Resource(
            "customerinvoices",
            "CustomerInvoiceApi",
            "Customer invoice",
            changed_field="ModifiedUtc",
            created_field="CreatedUtc",
            read_only=_ro("Id", "CreatedUtc", "ModifiedUtc", "InvoiceNumber", "VoucherId", "VoucherNumber"),
        ),
        Resource(
            "vouchers",
            "VoucherApi",
            "Voucher",
            changed_field="ModifiedUtc",
            read_only=_ro("Id", "ModifiedUtc", "NumberAndNumberSeries"),
        ),
        Resource("projects", "ProjectApi", "Project", changed_field="ModifiedUtc", read_only=_ro("Id", "ModifiedUtc")),
        Resource("articlelabels", "ArticleLabelApi", "Article label", read_only=_ro("Id")),
        Resource("costcenters", "CostCenterApi", "Cost center", read_only=_ro("Id", "Number", "Items")),
        Resource("costcenteritems", "CostCenterItemApi", "Cost center item", read_only=_ro("Id")),
        Resource("vatcodes", "VatCode", "VAT code"),
        Resource("termsofpayments", "TermsOfPaymentApi", "Terms of payment"),
        Resource("deliverymethods", "DeliveryMethodApi", "Delivery method"),
        Resource("deliveryterms", "DeliveryTermApi", "Delivery term"),
        Resource("units", "UnitApi", "Unit"),
        Resource("articleaccountcodings", "ArticleAccountCodingAPI", "Article account coding"),
        Resource("fiscalyears", "FiscalYearApi", "Fiscal year"),
        Resource("accounts", "AccountApi", "Account", key="Number", changed_field="ModifiedUtc"),
        Resource("countries", "CountryApi", "Country", key="Code"),
        Resource("currencies", "CurrencyApi", "Currency", key="Code"),
    )
}
