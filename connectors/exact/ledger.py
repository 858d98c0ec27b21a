"""Sales documents of a period, read back for reconciliation: headers with their totals, lines with VAT code and
amounts, in as few calls as Exact allows (docs/reconciliation.md, "Calls").

- Sales orders: headers from `bulk/SalesOrder/SalesOrders` filtered by `OrderDate` (1,000 a page), lines from
  `bulk/SalesOrder/SalesOrderLines` filtered by the headers' `OrderNumber` range (1,000 a page; lines of orders
  outside the period that fall in the range are dropped).
- Sales invoices: headers from `bulk/SalesInvoice/SalesInvoices` filtered by `InvoiceDate`, lines from
  `bulk/SalesInvoice/SalesInvoiceLines` by `InvoiceID` (`or` filters as long as a URL may be, ~70 ids a call).
- Sales entries (no bulk endpoint): `salesentry/SalesEntries` filtered by `EntryDate`, lines expanded.
- `existing_ids`: which of some document ids still exist (a linked document missing from the period's read may
  have been deleted, or moved out of the period).

Every read `$select`s only what reconciliation needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from connectors.exact.base import ExactBase
from connectors.exact.wire import odata_datetime, odata_guid

__all__ = ["DOCUMENTS", "LedgerDocument", "LedgerLine", "existing_ids", "read_documents"]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LedgerLine:
    vat_code: str | None
    net: Decimal
    vat: Decimal


@dataclass(slots=True)
class LedgerDocument:
    """One Exact sales document with the totals of its header (wire names kept in `header`) and its lines."""

    id: str
    number: int | None
    description: str | None
    your_ref: str | None
    header: dict[str, Any]
    lines: list[LedgerLine] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DocumentReads:
    header: str  # resource of the headers
    lines: str | None  # bulk resource of the lines (None: expanded with the headers)
    key: str  # key field of a header (and the parent key on a line)
    number: str
    date: str
    line_vat: str  # VAT amount field of a line
    totals: tuple[str, ...]


DOCUMENTS: dict[str, DocumentReads] = {
    "sales_order": DocumentReads(
        "bulk/SalesOrder/SalesOrders", "bulk/SalesOrder/SalesOrderLines", "OrderID", "OrderNumber", "OrderDate",
        "VATAmount", ("AmountFC", "AmountFCExclVat"),
    ),
    "sales_invoice": DocumentReads(
        "bulk/SalesInvoice/SalesInvoices", "bulk/SalesInvoice/SalesInvoiceLines", "InvoiceID", "InvoiceNumber",
        "InvoiceDate", "VATAmountFC", ("AmountFC", "AmountFCExclVat", "VATAmountFC"),
    ),
    "journal_entry": DocumentReads(
        "salesentry/SalesEntries", None, "EntryID", "EntryNumber", "EntryDate", "VATAmountFC",
        ("AmountFC", "VATAmountFC"),
    ),
}  # fmt: skip
DOCUMENTS["direct_invoice"] = DOCUMENTS["sales_invoice"]
_REGULAR = {  # the regular endpoint of each header resource (for existence checks)
    "bulk/SalesOrder/SalesOrders": "salesorder/SalesOrders",
    "bulk/SalesInvoice/SalesInvoices": "salesinvoice/SalesInvoices",
    "salesentry/SalesEntries": "salesentry/SalesEntries",
}


def _dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def _period(name: str, start: date, end: date) -> str:
    after = end + timedelta(days=1)
    return f"{name} ge {odata_datetime(start)} and {name} lt {odata_datetime(after)}"


async def _rows(client: ExactBase, resource: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    async for page in client._pages(resource, params):
        for row in page:
            yield row


def _line(row: dict[str, Any], reads: DocumentReads) -> LedgerLine:
    return LedgerLine(row.get("VATCode"), _dec(row.get("AmountFC")), _dec(row.get(reads.line_vat)))


async def read_documents(client: ExactBase, document: str, start: date, end: date) -> list[LedgerDocument]:
    """The Exact documents of kind `document` dated within `start`..`end` (both included), with their lines."""
    reads = DOCUMENTS[document]
    select = [reads.key, reads.number, "Description", "YourRef", "Currency", reads.date, *reads.totals]
    params: dict[str, Any] = {"$select": ",".join(dict.fromkeys(select)), "$filter": _period(reads.date, start, end)}
    line_select = f"{reads.key},VATCode,AmountFC,{reads.line_vat}"
    if reads.lines is None:
        lines_nav = "SalesEntryLines"
        params["$expand"] = lines_nav
        params["$select"] += "," + ",".join(f"{lines_nav}/{f}" for f in ("VATCode", "AmountFC", reads.line_vat))
    found: dict[str, LedgerDocument] = {}
    async for row in _rows(client, reads.header, params):
        key = str(row[reads.key]).lower()
        doc = LedgerDocument(key, row.get(reads.number), row.get("Description"), row.get("YourRef"), row)
        if reads.lines is None:
            nested = row.get("SalesEntryLines") or {}
            items = nested.get("results", []) if isinstance(nested, dict) else nested
            doc.lines = [_line(line, reads) for line in items]
        found[key] = doc
    if reads.lines is None or not found:
        return list(found.values())
    if document == "sales_order":
        numbers = [int(d.number) for d in found.values() if d.number is not None]
        filters = [f"{reads.number} ge {min(numbers)} and {reads.number} le {max(numbers)}"]
    else:
        filters = await client._or_chunks(
            reads.lines, {"$select": line_select}, (f"{reads.key} eq {odata_guid(k)}" for k in found)
        )
    for clause in filters:
        async for row in _rows(client, reads.lines, {"$select": line_select, "$filter": clause}):
            parent = found.get(str(row.get(reads.key) or "").lower())
            if parent is not None:
                parent.lines.append(_line(row, reads))
    return list(found.values())


async def existing_ids(client: ExactBase, document: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` (documents of kind `document`) exist in Exact, read by key in `or` chunks."""
    reads = DOCUMENTS[document]
    resource = _REGULAR[reads.header]
    wanted = sorted({i.lower() for i in ids})
    if not wanted:
        return set()
    params = {"$select": reads.key}
    out: set[str] = set()
    for clause in await client._or_chunks(resource, params, (f"{reads.key} eq {odata_guid(i)}" for i in wanted)):
        async for row in _rows(client, resource, {**params, "$filter": clause}):
            out.add(str(row[reads.key]).lower())
    return out
