"""Totals of a sales document on both sides, to compare them to the cent (docs/reconciliation.md).

Source (eAccounting, in the document's currency): an order's net is `Amount`, its VAT `VatAmount`; a customer
invoice's net is the sum of its rows' `AmountNoVat` (else `TotalAmountInvoiceCurrency`), its VAT
`TotalVatAmountInvoiceCurrency`. The rounding (`RoundingsAmount` / `TotalRoundings`) travels to Exact as a line of
its own without VAT, so it counts in the net on both sides. Gross = net + VAT.

Exact (the document's currency, FC): a sales order's net is `AmountFCExclVat`, its gross `AmountFC` (the header
has no VAT field: VAT = gross - net); a sales invoice has `AmountFCExclVat`, `VATAmountFC`, `AmountFC`; a sales
entry `VATAmountFC` and `AmountFC` (net = gross - VAT). The orders flow reads them from the create answer (no extra
call); the reconciliation report reads them through the bulk endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "Totals",
    "describe_mismatch",
    "estimated_exact_totals",
    "exact_totals",
    "mismatch",
    "source_rounding",
    "source_totals",
]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Totals:
    currency: str
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    def to_dict(self) -> dict[str, str]:
        cents = Decimal("0.01")
        return {
            "currency": self.currency,
            "net": str(self.net.quantize(cents)),
            "vat": str(self.vat.quantize(cents)),
            "gross": str(self.gross.quantize(cents)),
        }


def _dec(value: Any) -> Decimal:
    return ZERO if value is None or value == "" else Decimal(str(value))


def source_rounding(record: Mapping[str, Any]) -> Decimal:
    return _dec(record.get("RoundingsAmount", record.get("TotalRoundings")))


def source_totals(record: Mapping[str, Any], home_currency: str = "EUR") -> Totals:
    """An eAccounting order's or customer invoice's totals, the rounding counted in the net."""
    currency = str(record.get("CurrencyCode") or record.get("InvoiceCurrencyCode") or home_currency).upper()
    if "VatAmount" in record or "Amount" in record:
        net, vat = _dec(record.get("Amount")), _dec(record.get("VatAmount"))
    else:
        rows = [r for r in record.get("Rows") or [] if not r.get("IsTextRow")]
        if rows and all(r.get("AmountNoVat") is not None for r in rows):
            net = sum((_dec(r["AmountNoVat"]) for r in rows), ZERO)
        else:
            net = _dec(record.get("TotalAmountInvoiceCurrency", record.get("TotalAmount")))
        vat = _dec(record.get("TotalVatAmountInvoiceCurrency", record.get("TotalVatAmount")))
    return Totals(currency, net + source_rounding(record), vat)


def exact_totals(header: Mapping[str, Any], home_currency: str = "EUR") -> Totals | None:
    """An Exact document header's totals (wire names); None when the answer carries none to compare."""
    gross = header.get("AmountFC")
    if gross is None:
        return None
    currency = str(header.get("Currency") or home_currency).upper()
    vat = header.get("VATAmountFC", header.get("VATAmount"))
    net = header.get("AmountFCExclVat")
    if vat is None and net is None:
        return None
    if vat is None:
        return Totals(currency, _dec(net), _dec(gross) - _dec(net))
    if net is None:
        return Totals(currency, _dec(gross) - _dec(vat), _dec(vat))
    return Totals(currency, _dec(net), _dec(vat))


def mismatch(source: Totals, exact: Totals) -> dict[str, Any] | None:
    """Both sets of figures when they differ in currency, net, VAT or gross (to the cent); None when equal."""
    same = (
        source.currency == exact.currency
        and source.net.quantize(Decimal("0.01")) == exact.net.quantize(Decimal("0.01"))
        and source.vat.quantize(Decimal("0.01")) == exact.vat.quantize(Decimal("0.01"))
    )
    if same:
        return None
    return {
        "source": source.to_dict(),
        "exact": exact.to_dict(),
        "difference": {
            "net": str((exact.net - source.net).quantize(Decimal("0.01"))),
            "vat": str((exact.vat - source.vat).quantize(Decimal("0.01"))),
            "gross": str((exact.gross - source.gross).quantize(Decimal("0.01"))),
        },
    }


def describe_mismatch(found: Mapping[str, Any]) -> str:
    """The mismatch in words, for the activity log's reason and the alert."""
    s, e = found["source"], found["exact"]
    return (
        f"totals differ: eAccounting {s['currency']} net {s['net']} VAT {s['vat']} gross {s['gross']}, "
        f"Exact {e['currency']} net {e['net']} VAT {e['vat']} gross {e['gross']}"
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def estimated_exact_totals(
    payload: Mapping[str, Any], lines: str, vat: Mapping[str, tuple[str | None, Decimal]], home_currency: str = "EUR"
) -> Totals:
    """The totals Exact will compute for a document about to be created (a preview, where no answer exists): per
    line quantity x price x (1 - discount) rounded once to the cent, VAT per line by its code's type and percentage
    (`vat`: code -> (type, fraction)), rounded to the cent (exact-online.md; as Exact shows a VAT amount on every
    line). A journal entry's lines carry `AmountFC` and `VATAmountFC` themselves."""
    net, tax = ZERO, ZERO
    for line in payload.get(lines) or []:
        if "AmountFC" in line and "Quantity" not in line:
            amount, line_vat = _dec(line.get("AmountFC")), _dec(line.get("VATAmountFC"))
            net, tax = net + amount, tax + line_vat
            continue
        amount = _cents(_dec(line.get("Quantity")) * _dec(line.get("UnitPrice")) * (1 - _dec(line.get("Discount"))))
        kind, rate = vat.get(str(line.get("VATCode") or ""), (None, ZERO))
        if kind == "I":
            included = _cents(amount * rate / (1 + rate))
            net, tax = net + amount - included, tax + included
        elif kind in ("B", "N"):
            net += amount
        else:
            net, tax = net + amount, tax + _cents(amount * rate)
    return Totals(str(payload.get("Currency") or home_currency).upper(), net, tax)
