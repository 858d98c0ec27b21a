"""Sales documents of a period, read back for reconciliation: headers with their totals, lines with VAT code and
amounts, in as few calls as Exact allows (docs/reconciliation.md, "Calls").

Every document kind is read from its regular endpoint filtered by its date, with its lines expanded (60 documents
a page): `salesorder/SalesOrders` by `OrderDate` (+`SalesOrderLines`), `salesinvoice/SalesInvoices` by `InvoiceDate`
(+`SalesInvoiceLines`), `salesentry/SalesEntries` by `EntryDate` (+`SalesEntryLines`). The bulk endpoints for sales
order and invoice headers are not in the vendor reference (`exact-entities.json` lists only
`bulk/SalesOrder/SalesOrderLines` among them; docs/exact-online-api.md §00), so they are not used; neither are sync
endpoints, which filter by Timestamp only and would read every document ever made.
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
    header: str  # resource of the headers (regular endpoint)
    lines: str  # the line collection, expanded with the headers
    key: str  # key field of a header
    number: str
    date: str
    line_vat: str  # VAT amount field of a line
    totals: tuple[str, ...]


DOCUMENTS: dict[str, DocumentReads] = {
    "sales_order": DocumentReads(
        "salesorder/SalesOrders", "SalesOrderLines", "OrderID", "OrderNumber", "OrderDate", "VATAmount",
        ("AmountFC", "AmountFCExclVat"),
    ),
    "sales_invoice": DocumentReads(
        "salesinvoice/SalesInvoices", "SalesInvoiceLines", "InvoiceID", "InvoiceNumber", "InvoiceDate",
        "VATAmountFC", ("AmountFC", "AmountFCExclVat", "VATAmountFC"),
    ),
    "journal_entry": DocumentReads(
        "salesentry/SalesEntries", "SalesEntryLines", "EntryID", "EntryNumber", "EntryDate", "VATAmountFC",
        ("AmountFC", "VATAmountFC"),
    ),
}  # fmt: skip
DOCUMENTS["direct_invoice"] = DOCUMENTS["sales_invoice"]


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
    select = [reads.key, reads.number, "Description", "YourRef", "Currency", reads.date, *reads.totals, reads.lines]
    select += [f"{reads.lines}/{f}" for f in ("VATCode", "AmountFC", reads.line_vat)]
    params: dict[str, Any] = {
        "$select": ",".join(dict.fromkeys(select)),
        "$filter": _period(reads.date, start, end),
        "$expand": reads.lines,
    }
    found: dict[str, LedgerDocument] = {}
    async for row in _rows(client, reads.header, params):
        key = str(row[reads.key]).lower()
        doc = LedgerDocument(key, row.get(reads.number), row.get("Description"), row.get("YourRef"), row)
        nested = row.get(reads.lines) or {}
        items = nested.get("results", []) if isinstance(nested, dict) else nested
        doc.lines = [_line(line, reads) for line in items]
        found[key] = doc
    return list(found.values())


async def existing_ids(client: ExactBase, document: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` (documents of kind `document`) exist in Exact, read by key in `or` chunks."""
    reads = DOCUMENTS[document]
    resource = reads.header
    wanted = sorted({i.lower() for i in ids})
    if not wanted:
        return set()
    params = {"$select": reads.key}
    out: set[str] = set()
    for clause in await client._or_chunks(resource, params, (f"{reads.key} eq {odata_guid(i)}" for i in wanted)):
        async for row in _rows(client, resource, {**params, "$filter": clause}):
            out.add(str(row[reads.key]).lower())
    return out
