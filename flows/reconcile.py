"""Reconciliation of the orders flow over a period: every eAccounting document against Exact, as an accountant files it.

One service for the API route (`GET /reconciliation`), the CLI (`ledgerbridge reconcile`) and a console. The
documents of the period are the eAccounting orders (or customer invoices) dated in it that the orders flow selects
(its `statuses`, `start_date`) or has transferred. Each is matched to the Exact documents of the configured kind
whose `Description` carries its reference key ("eAccounting order 1001") and to the document its cross-reference
names, and yields at most one finding of each kind:

- `missing`: no Exact document has its key, and none is linked;
- `duplicate`: two or more Exact documents carry its key (one created by hand, say);
- `deleted`: it is linked to an Exact document that no longer exists;
- `totals_differ`: net, VAT or gross (or the currency) of the Exact document differ from the source, to the cent;
- `vat_codes_differ`: the totals agree, but the Exact lines' VAT codes do not say what the source's VAT says;
- `vat_unreadable`: the source's VAT cannot be read back as Exact codes (the flow would fail it too).

Sums per VAT code, country and currency are given for both sides: the source's (each document's VAT as the codes
the flow chooses, the document's own VAT amount kept to the cent) and Exact's (its lines, for the documents keyed
to the period's source documents). Reads: one eAccounting listing of the period (1,000 a page), the article
index and reference tables the flow keeps anyway, and Exact through its bulk endpoints (docs/reconciliation.md).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.calls import WAIT, capture_calls
from connectors.exact.ledger import LedgerDocument, existing_ids, read_documents
from flows.base import FlowContext, RecordFailed, source_record
from flows.orders import _kind, _number, _prepared, reference_key, source_vat, vat_rules
from flows.orders_exact import items_by_code, vat_codes
from flows.orders_options import OrdersOptions
from flows.orders_totals import Totals, exact_totals, mismatch, source_rounding, source_totals
from flows.orders_vat import DocumentVat, rounding_code

__all__ = ["CSV_COLUMNS", "Finding", "Report", "SumRow", "reconcile"]

ZERO = Decimal(0)
CSV_COLUMNS = (
    "finding", "source_document", "source_id", "source_date", "country", "currency", "source_net", "source_vat",
    "source_gross", "exact_documents", "exact_net", "exact_vat", "exact_gross", "detail",
)  # fmt: skip
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Finding:
    kind: str
    source_document: str
    source_id: str
    source_date: str | None
    country: str | None
    currency: str | None
    source: Totals | None
    exact: Totals | None
    exact_documents: list[str]
    detail: str

    def row(self) -> dict[str, str]:
        s = self.source.to_dict() if self.source else {}
        e = self.exact.to_dict() if self.exact else {}
        return {
            "finding": self.kind,
            "source_document": self.source_document,
            "source_id": self.source_id,
            "source_date": self.source_date or "",
            "country": self.country or "",
            "currency": self.currency or "",
            "source_net": s.get("net", ""),
            "source_vat": s.get("vat", ""),
            "source_gross": s.get("gross", ""),
            "exact_documents": " ".join(self.exact_documents),
            "exact_net": e.get("net", ""),
            "exact_vat": e.get("vat", ""),
            "exact_gross": e.get("gross", ""),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class SumRow:
    side: str  # eaccounting | exact
    vat_code: str
    country: str
    currency: str
    documents: int
    net: Decimal
    vat: Decimal


@dataclass(slots=True)
class Report:
    period_from: date
    period_to: date
    source: str
    document: str
    documents: int = 0
    transferred: int = 0
    findings: list[Finding] = field(default_factory=list)
    sums: list[SumRow] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        by_kind: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            by_kind[finding.kind] += 1
        return {
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "source": self.source,
            "document": self.document,
            "documents": self.documents,
            "transferred": self.transferred,
            "findings_by_kind": dict(sorted(by_kind.items())),
            "findings": [f.row() for f in self.findings],
            "sums": [{**asdict(s), "net": f"{s.net:.2f}", "vat": f"{s.vat:.2f}"} for s in self.sums],
            "api_calls": self.calls,
        }

    def csv(self) -> str:
        """One line per finding, with a header line."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for finding in self.findings:
            writer.writerow(finding.row())
        return out.getvalue()


async def _sources(ctx: FlowContext, opts: OrdersOptions, start: date, end: date) -> list[dict[str, Any]]:
    if opts.source == "customer_invoices":
        listing: Any = ctx.eaccounting.list_customer_invoices(dated=(start, end))
    else:
        listing = ctx.eaccounting.list_orders(dated=(start, end))
    return [source_record(record) async for record in listing]


def _selected(opts: OrdersOptions, source: dict[str, Any]) -> bool:
    if opts.source == "orders" and source.get("Status") not in opts.statuses:
        return False
    raw = source.get("OrderDate") or source.get("InvoiceDate")
    return not (opts.start_date and raw and date.fromisoformat(str(raw)[:10]) < opts.start_date)


def _exact_lines_by_code(doc: LedgerDocument) -> dict[str, tuple[Decimal, Decimal]]:
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for line in doc.lines:
        net, vat = out.get(line.vat_code or "", (ZERO, ZERO))
        out[line.vat_code or ""] = (net + line.net, vat + line.vat)
    return out


def _expected_by_code(
    vat: DocumentVat, rounding: Decimal, no_vat_code: str | None, *, own_vat: bool = False
) -> dict[str, tuple[Decimal, Decimal]]:
    """What the Exact lines should add up to per code: Exact's own per-line VAT, or (`own_vat`: documents whose
    lines carry the VAT the flow sends, sales entries) the source's VAT shared over the lines."""
    expected = vat.by_code()
    if own_vat:
        shares = vat.line_vats()
        for code in expected:
            net = expected[code][0]
            expected[code] = (net, sum((shares[r.index] for r in vat.rows if r.code == code), ZERO))
    if rounding and no_vat_code:
        net, tax = expected.get(no_vat_code, (ZERO, ZERO))
        expected[no_vat_code] = (net + rounding, tax)
    return expected


def _source_sums(vat: DocumentVat, rounding: Decimal, no_vat_code: str | None) -> dict[str, tuple[Decimal, Decimal]]:
    """Per code, the document's VAT kept equal to eAccounting's own amount (a rounding cent goes to the largest)."""
    expected = _expected_by_code(vat, rounding, no_vat_code)
    gap = vat.charged - sum((v for _n, v in expected.values()), ZERO)
    if gap and expected:
        largest = max(expected, key=lambda code: abs(expected[code][0]))
        net, tax = expected[largest]
        expected[largest] = (net, tax + gap)
    return expected


async def reconcile(ctx: FlowContext, start: date, end: date, progress: Progress | None = None) -> Report:
    """The report for `start`..`end` (both days included); see the module docstring."""
    opts: OrdersOptions = ctx.options
    report = Report(start, end, opts.source, opts.document)
    with capture_calls() as calls:
        await _fill(ctx, opts, report, progress)
    for call in calls:
        if call.method != WAIT:
            report.calls[call.system] = report.calls.get(call.system, 0) + 1
    return report


async def _fill(ctx: FlowContext, opts: OrdersOptions, report: Report, progress: Progress | None) -> None:
    kind = _kind(opts)
    sources = await _sources(ctx, opts, report.period_from, report.period_to)
    exact_docs = await read_documents(ctx.exact, opts.document, report.period_from, report.period_to)
    by_key: dict[str, list[LedgerDocument]] = defaultdict(list)
    for exact_doc in exact_docs:
        by_key[(exact_doc.description or "").strip()].append(exact_doc)
    by_id = {exact_doc.id: exact_doc for exact_doc in exact_docs}
    linked = {str(s["Id"]): await ctx.xref.target(kind, str(s["Id"])) for s in sources}
    wanted = [s for s in sources if _selected(opts, s) or linked[str(s["Id"])]]
    outside = {t for s in wanted if (t := linked[str(s["Id"])]) and t not in by_id}
    alive = await existing_ids(ctx.exact, opts.document, outside)
    codes = await vat_codes(ctx)
    await items_by_code(ctx, set(), opts.items_refresh_seconds)  # the items' own VAT codes, as the flow sees them
    try:
        no_vat_code: str | None = rounding_code(codes, vat_rules(opts))
    except RecordFailed:
        no_vat_code = None
    sums: dict[tuple[str, str, str, str], list[Any]] = {}

    def add(side: str, code: str, country: str, currency: str, net: Decimal, tax: Decimal) -> None:
        entry = sums.setdefault((side, code, country, currency), [set(), ZERO, ZERO])
        entry[1] += net
        entry[2] += tax

    report.documents = len(wanted)
    for done, source in enumerate(wanted, start=1):
        if progress is not None:
            progress(done, len(wanted))
        number = _number(source)
        record_id = str(source["Id"])
        country = str(source.get("InvoiceCountryCode") or opts.home_country).upper()
        totals = source_totals(source)
        finding = _finder(report, number, record_id, source, country, totals)
        vat: DocumentVat | None = None
        vat_problem = ""
        try:
            vat = await source_vat(ctx, opts, _prepared(opts, source))
        except RecordFailed as failed:
            vat_problem = failed.reason
        rounding = source_rounding(source)
        if vat is not None:
            for code, (net, tax) in _source_sums(vat, rounding, no_vat_code).items():
                add("eaccounting", code, country, totals.currency, net, tax)
                sums[("eaccounting", code, country, totals.currency)][0].add(record_id)
        key = reference_key(opts.source, number)
        candidates = by_key.get(key, [])
        target = linked[record_id]
        for candidate in candidates:
            for code, (net, tax) in _exact_lines_by_code(candidate).items():
                add("exact", code, country, totals.currency, net, tax)
                sums[("exact", code, country, totals.currency)][0].add(candidate.id)
        if target and target not in by_id and target not in alive:
            finding("deleted", None, [target], f"linked to Exact {opts.document.replace('_', ' ')} {target}, "
                    "which no longer exists")  # fmt: skip
        if not candidates and not target:
            detail = f"no Exact {opts.document.replace('_', ' ')} with Description '{key}'"
            finding("missing", None, [], f"{detail}; VAT: {vat_problem}" if vat_problem else detail)
            continue
        if len(candidates) > 1:
            names = [str(d.number or d.id) for d in candidates]
            finding("duplicate", None, names, f"{len(candidates)} Exact documents carry '{key}'")
        if candidates or (target and (target in by_id or target in alive)):
            report.transferred += 1
        doc: LedgerDocument | None = by_id.get(target or "") or (candidates[0] if candidates else None)
        if doc is None:
            continue
        name = [str(doc.number or doc.id)]
        exact = exact_totals(doc.header)
        differs = mismatch(totals, exact) if exact is not None else None
        if differs is not None:
            finding("totals_differ", exact, name, "net, VAT or gross differ (to the cent)")
        elif vat is None:
            finding("vat_unreadable", exact, name, vat_problem)
        else:
            own = opts.document == "journal_entry"
            expected = _expected_by_code(vat, rounding, no_vat_code, own_vat=own)
            actual = _exact_lines_by_code(doc)
            if {c: (n, t) for c, (n, t) in expected.items() if n or t} != {
                c: (n, t) for c, (n, t) in actual.items() if n or t
            }:
                said = ", ".join(f"{c}: {n}/{t}" for c, (n, t) in sorted(expected.items()))
                found = ", ".join(f"{c}: {n}/{t}" for c, (n, t) in sorted(actual.items()))
                finding("vat_codes_differ", exact, name, f"net/VAT per code expected {said}; Exact has {found}")
    report.sums = [
        SumRow(side, code, country, currency, len(entry[0]), entry[1], entry[2])
        for (side, code, country, currency), entry in sorted(sums.items())
    ]


def _finder(
    report: Report, number: str, record_id: str, source: dict[str, Any], country: str, totals: Totals
) -> Callable[[str, Totals | None, list[str], str], None]:
    raw = source.get("OrderDate") or source.get("InvoiceDate")

    def finding(kind: str, exact: Totals | None, documents: list[str], detail: str) -> None:
        report.findings.append(
            Finding(
                kind,
                number,
                record_id,
                str(raw)[:10] if raw else None,
                country,
                totals.currency,
                totals,
                exact,
                documents,
                detail,
            )
        )

    return finding
