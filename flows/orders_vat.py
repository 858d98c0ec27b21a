"""The VAT of an eAccounting sales document as Exact VAT codes, decided from the source document (docs/vat.md).

eAccounting decides the VAT of an order itself, from the customer (country, private person or company, VAT
number), `EuThirdParty`, the reverse-charge flags and each article's coding, and states the result as the order's
`VatAmount`. The rule here reads that decision back, row by row, and finds the Exact VAT code that says the same:

1. **Situation** of the document: domestic (or domestic reverse charge for rows so flagged), an EU business
   (intra-community supply of goods or of services, or triangulation with `EuThirdParty`: no VAT), an EU private
   person (VAT at the home rates, or the destination country's rates under the One Stop Shop), or an export
   outside the EU (no VAT). An EU customer charged no VAT is a business with a VAT number: eAccounting knew.
2. **Rate per row**: the article coding's rate (a customer invoice row states its own `PercentVat`); none where
   the situation charges none; for an EU private person the coding's rate, or, when those do not add up to the
   charged VAT, the destination country's rates read from Exact's own OSS codes for that country (each group of
   rows with one home rate gets one OSS rate; order kept: the higher home rate takes the higher OSS rate). The
   rates must add up to the document's VAT (to rounding: a few tenths of a cent per row); otherwise the record
   fails: a VAT the source did not charge is never booked.
3. **Exact code per row**: an override when one fits (`vat_code_by_situation`, `reverse_charge_vat_code`,
   `vat_code_by_country`), else the one sales code of Exact's `vat/VATCodes` whose percentage and kind fit the
   situation: Type E (excluding: our lines are net) at the rate for taxed rows; 0 %, Type B or N, off the EU
   sales list for domestic zero rate, Type B for exports; EU sales list L (goods), S (services) or T (triangulation) for
   intra-community supplies; `Charged` for domestic reverse charge; `OssCountry` for OSS. Several fitting codes:
   the Exact item's own sales VAT code if it is one of them, else the one whose description or legal text names
   the situation (export, ...); still several, or none: the record fails naming the situation and the code to
   create or configure. Never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import product
from typing import Any

from connectors.exact import VATCode
from flows.base import RecordFailed

__all__ = [
    "EU",
    "ArticleVat",
    "DocumentVat",
    "RowVat",
    "VatRules",
    "describe",
    "document_vat",
    "line_vat",
    "rounding_code",
]

EU = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)
CENT = Decimal("0.01")
ZERO = Decimal(0)
_EXPORT_WORDS = ("export", "outside", "buiten", "non-eu", "außerhalb", "hors")


@dataclass(frozen=True, slots=True)
class ArticleVat:
    """What eAccounting's article coding says: its VAT rate (a fraction) and whether it codes a service."""

    rate: Decimal
    service: bool = False


@dataclass(frozen=True, slots=True)
class VatRules:
    """The orders flow's VAT options (see `OrdersOptions`)."""

    home_country: str = "NL"
    by_situation: Mapping[str, str] | None = None
    by_country: Mapping[str, str] | None = None
    reverse_charge_code: str | None = None
    shipping_article: str | None = None
    oss_first: bool = False  # an EU private person's VAT is read as OSS rates first (the company uses the OSS)


@dataclass(frozen=True, slots=True)
class RowVat:
    """One row's VAT: `index` into the document's `Rows`, its net amount, the rate charged, the Exact code, and the
    rate the article's coding charges at home (what an item created for it should default to)."""

    index: int
    situation: str
    rate: Decimal
    code: str
    net: Decimal
    home: Decimal


@dataclass(frozen=True, slots=True)
class DocumentVat:
    situation: str
    country: str
    charged: Decimal
    rows: tuple[RowVat, ...]

    def by_code(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Net and VAT per Exact code, VAT rounded per line as Exact computes it."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for row in self.rows:
            net, vat = out.get(row.code, (ZERO, ZERO))
            out[row.code] = (net + row.net, vat + line_vat(row.net, row.rate))
        return out

    def line_vats(self) -> dict[int, Decimal]:
        """Per row index a VAT amount such that the rows add up to the document's charged VAT exactly: each code's
        share rounded once, the rounding cent on the code (and within it the row) with the largest amount. For
        documents whose lines accept a VAT amount (sales entries), so Exact books eAccounting's VAT to the cent."""
        exact: dict[str, Decimal] = {}
        for row in self.rows:
            exact[row.code] = exact.get(row.code, ZERO) + row.net * row.rate
        shares = {code: value.quantize(CENT, rounding=ROUND_HALF_UP) for code, value in exact.items()}
        if shares:
            top = max(shares, key=lambda code: abs(exact[code]))
            shares[top] += self.charged - sum(shares.values(), ZERO)
        out: dict[int, Decimal] = {}
        for code, share in shares.items():
            rows = [r for r in self.rows if r.code == code]
            amounts = {r.index: line_vat(r.net, r.rate) for r in rows}
            largest = max(rows, key=lambda r: abs(r.net)).index
            amounts[largest] += share - sum(amounts.values(), ZERO)
            out.update(amounts)
        return out

    @property
    def account_code(self) -> str | None:
        """The code for an account created for this customer: the one of the highest-rate row."""
        top = max(self.rows, key=lambda r: r.rate, default=None)
        return top.code if top is not None else None


def line_vat(net: Decimal, rate: Decimal) -> Decimal:
    return (net * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(value: Any) -> Decimal:
    return ZERO if value is None or value == "" else Decimal(str(value))


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def describe(situation: str, country: str, rate: Decimal) -> str:
    """The situation in words, for reasons and reports."""
    return {
        "domestic": f"a domestic sale at {_pct(rate)}",
        "domestic_reverse_charge": "a domestic sale with reverse charge",
        "eu_b2b_goods": f"an intra-community supply of goods to a business in {country} (reverse charge)",
        "eu_b2b_services": f"intra-community services to a business in {country} (reverse charge)",
        "eu_triangulation": f"a triangulation (ABC) supply to {country}",
        "eu_private": f"a sale to a private person in {country} at the home rate {_pct(rate)}",
        "eu_oss": f"a sale to a private person in {country} under the One Stop Shop at {_pct(rate)}",
        "export": f"an export to {country} (outside the EU)",
        "rounding": "a rounding line (no VAT)",
    }.get(situation, situation)


# -- rates ---------------------------------------------------------------------------------------------------


def _row_net(row: Mapping[str, Any]) -> Decimal:
    if row.get("AmountNoVat") is not None:
        return _dec(row["AmountNoVat"])
    gross = _dec(row.get("Quantity")) * _dec(row.get("UnitPrice")) * (1 - _dec(row.get("DiscountPercentage")))
    return gross.quantize(CENT, rounding=ROUND_HALF_UP)


def _home_rate(
    index: int, row: Mapping[str, Any], articles: Callable[[Mapping[str, Any]], ArticleVat | None]
) -> ArticleVat:
    if row.get("PercentVat") is not None:  # a customer-invoice row states its rate (a fraction, or 25 for 25 %)
        rate = _dec(row["PercentVat"])
        return ArticleVat(ZERO if row.get("IsVatFree") else (rate / 100 if rate >= 1 else rate))
    found = articles(row)
    if found is None:
        number = row.get("ArticleNumber") or row.get("ArticleId")
        raise RecordFailed(
            f"VAT: row {index + 1}: article {number} is not known in eAccounting; its coding decides the VAT rate"
        )
    return found


def _adds_up(pairs: Sequence[tuple[Decimal, Decimal]], charged: Decimal) -> bool:
    """Do (net, rate) pairs give the charged VAT, to the rounding either system may apply?"""
    exact = sum((net * rate for net, rate in pairs), ZERO)
    per_line = sum((line_vat(net, rate) for net, rate in pairs), ZERO)
    tolerance = CENT + Decimal("0.005") * len(pairs)
    return abs(exact - charged) <= tolerance or abs(per_line - charged) <= tolerance


def _oss_rates(
    homes: list[Decimal], nets: list[Decimal], country: str, codes: Sequence[VATCode], charged: Decimal
) -> dict[Decimal, Decimal] | None:
    """Home rate -> the destination country's rate, read from Exact's OSS codes for `country`, that explains the
    charged VAT; order-preserving assignments first. None when no assignment adds up."""
    oss = sorted(
        {c.percentage for c in codes if _usable(c) and c.oss_country == country and c.percentage}, reverse=True
    )
    groups = sorted({h for h in homes if h}, reverse=True)
    if not oss:
        return None
    candidates = list(product(oss, repeat=len(groups)))  # a country may have one rate for two of ours (DK: 25 %)
    candidates.sort(key=lambda combo: list(combo) != sorted(combo, reverse=True))  # order-preserving first
    for combo in candidates:
        table = dict(zip(groups, combo, strict=True))
        if _adds_up([(n, table.get(h, ZERO)) for n, h in zip(nets, homes, strict=True)], charged):
            return {**table, ZERO: ZERO}
    return None


# -- codes ---------------------------------------------------------------------------------------------------


def _usable(code: VATCode) -> bool:
    return not code.is_blocked and (code.vat_transaction_type or "S") in ("S", "B")


def _plain(code: VATCode) -> bool:
    return not code.oss_country and (code.eu_sales_listing or "N") == "N" and not code.charged


def _fits(situation: str, rate: Decimal, code: VATCode, country: str) -> bool:
    pct = code.percentage or ZERO
    if not _usable(code) or pct != rate:
        return False
    listing = code.eu_sales_listing or "N"
    if situation == "eu_oss":
        return code.oss_country == country and code.type == "E"
    if situation in ("domestic", "eu_private"):
        return _plain(code) and (code.type == "E" if rate else code.type in ("B", "N"))
    if situation == "export":  # a 0 % supply whose base is reported (Type B), not one outside VAT (N)
        return _plain(code) and code.type == "B"
    if situation == "rounding":
        return _plain(code) and code.type == "N"
    if situation == "domestic_reverse_charge":
        return bool(code.charged) and listing == "N" and not code.oss_country
    wanted = {"eu_b2b_goods": "L", "eu_b2b_services": "S", "eu_triangulation": "T"}.get(situation)
    return wanted is not None and listing == wanted and not code.oss_country


def _named(code: VATCode, words: Sequence[str]) -> bool:
    text = f"{code.description or ''} {code.legal_text or ''}".lower()
    return any(word in text for word in words)


def _kind_of(situation: str, rate: Decimal) -> str:
    if situation in ("domestic", "eu_private") and rate:
        return f"Type E (excluding), {_pct(rate)}, no OSS country, not on the EU sales list"
    return {
        "eu_oss": f"Type E, {_pct(rate)}, OssCountry set",
        "eu_b2b_goods": "0 %, EU sales list L (goods)",
        "eu_b2b_services": "0 %, EU sales list S (services)",
        "eu_triangulation": "0 %, EU sales list T (triangulation)",
        "domestic_reverse_charge": "0 %, Charged (reverse charge)",
        "rounding": "0 %, Type N (no VAT)",
        "export": "0 %, Type B, not on the EU sales list",
    }.get(situation, "0 %, Type B or N, not on the EU sales list")


def _override(rules: VatRules, situation: str, country: str) -> tuple[str, str] | None:
    """(code, option) configured for this situation or country, if any."""
    if rules.by_situation and situation in rules.by_situation:
        return rules.by_situation[situation], f"vat_code_by_situation[{situation!r}]"
    if rules.reverse_charge_code and situation in ("eu_b2b_goods", "eu_b2b_services"):
        return rules.reverse_charge_code, "reverse_charge_vat_code"
    if rules.by_country and country in rules.by_country:
        return rules.by_country[country], f"vat_code_by_country[{country!r}]"
    return None


def choose_code(
    situation: str, rate: Decimal, country: str, codes: Sequence[VATCode], rules: VatRules, item_code: str | None
) -> str:
    """The Exact VAT code of one row (see the module docstring); `RecordFailed` when none or several fit."""
    by_code = {c.code: c for c in codes if c.code}
    override = _override(rules, situation, country)
    if override is not None:
        code, option = override
        chosen = by_code.get(code)
        if chosen is None:
            raise RecordFailed(f"VAT: {option} names Exact VAT code {code!r}, which Exact does not have")
        if (chosen.percentage or ZERO) == rate and _usable(chosen):
            return code
        if not option.startswith("vat_code_by_country"):  # a country table covers only rows of its rate
            raise RecordFailed(
                f"VAT: {option} = {code!r} charges {_pct(chosen.percentage or ZERO)}, but eAccounting charged "
                f"{_pct(rate)} for {describe(situation, country, rate)}"
            )
    fitting = [c for c in codes if c.code and _fits(situation, rate, c, country)]
    if len(fitting) > 1 and item_code and any(c.code == item_code for c in fitting):
        return item_code
    if len(fitting) > 1:
        export = situation == "export"
        narrowed = [c for c in fitting if _named(c, _EXPORT_WORDS) == export]
        fitting = narrowed or fitting
    if len(fitting) == 1 and fitting[0].code:
        return fitting[0].code
    what = describe(situation, country, rate)
    if not fitting:
        raise RecordFailed(
            f"VAT: Exact has no sales VAT code for {what} ({_kind_of(situation, rate)}): create one in Exact or "
            f"set vat_code_by_situation[{situation!r}]",
            situation=situation,
        )
    names = ", ".join(f"{c.code} ({c.description})" for c in fitting)
    raise RecordFailed(
        f"VAT: several Exact VAT codes fit {what}: {names}; set vat_code_by_situation[{situation!r}]",
        situation=situation,
    )


def rounding_code(codes: Sequence[VATCode], rules: VatRules) -> str:
    return choose_code("rounding", ZERO, rules.home_country, codes, rules, None)


# -- the document ----------------------------------------------------------------------------------------------


def _charged(record: Mapping[str, Any]) -> Decimal:
    for key in ("VatAmount", "TotalVatAmountInvoiceCurrency", "TotalVatAmount"):
        if record.get(key) is not None:
            return _dec(record[key])
    return ZERO


def document_vat(
    record: Mapping[str, Any],
    articles: Callable[[Mapping[str, Any]], ArticleVat | None],
    codes: Sequence[VATCode],
    rules: VatRules,
    item_codes: Callable[[str], str | None] = lambda _sku: None,
) -> DocumentVat:
    """Rates and Exact codes of every article row of `record` (an eAccounting order or customer invoice)."""
    home = rules.home_country.upper()
    country = str(record.get("InvoiceCountryCode") or home).upper()
    charged = _charged(record)
    indexed = [(i, r) for i, r in enumerate(record.get("Rows") or []) if not r.get("IsTextRow")]
    facts = [_home_rate(i, r, articles) for i, r in indexed]
    nets = [_row_net(r) for _i, r in indexed]
    homes = [f.rate for f in facts]
    reverse_rows = bool(record.get("ReverseChargeOnConstructionServices"))
    if country == home:
        situations = [
            "domestic_reverse_charge" if reverse_rows and r.get("EligibleForReverseChargeOnVat") else "domestic"
            for _i, r in indexed
        ]
        rates = [ZERO if s == "domestic_reverse_charge" else h for s, h in zip(situations, homes, strict=True)]
        main = "domestic"
    elif country not in EU:
        situations, rates, main = ["export"] * len(indexed), [ZERO] * len(indexed), "export"
    elif not charged and (any(homes) or record.get("EuThirdParty")):
        goods = any(not f.service or r.get("ArticleNumber") == rules.shipping_article for f, (_i, r) in zip(
            facts, indexed, strict=True))  # fmt: skip
        main = "eu_triangulation" if record.get("EuThirdParty") else "eu_b2b_goods" if goods else "eu_b2b_services"
        situations, rates = [main] * len(indexed), [ZERO] * len(indexed)
    else:
        home_fits = _adds_up(list(zip(nets, homes, strict=True)), charged)
        table = _oss_rates(homes, nets, country, codes, charged) if rules.oss_first or not home_fits else None
        if table is None and home_fits:
            situations, rates, main = ["eu_private"] * len(indexed), list(homes), "eu_private"
        elif table is None:
            raise RecordFailed(
                f"VAT: eAccounting charged {charged} VAT on {sum(nets, ZERO)} net for a sale to a private person in "
                f"{country}; neither the articles' rates nor Exact's One Stop Shop codes for {country} explain it",
                situation="eu_private",
            )
        else:
            rates, main = [table[h] for h in homes], "eu_oss"
            situations = ["eu_oss" if rate else "eu_private" for rate in rates]
    if not _adds_up(list(zip(nets, rates, strict=True)), charged):
        raise RecordFailed(
            f"VAT: eAccounting charged {charged} VAT on {sum(nets, ZERO)} net for {describe(main, country, ZERO)}; "
            f"the rows' rates ({', '.join(_pct(r) for r in rates)}) give "
            f"{sum((line_vat(n, r) for n, r in zip(nets, rates, strict=True)), ZERO)}",
            situation=main,
        )
    out = []
    for (index, row), situation, rate, net, home_rate in zip(indexed, situations, rates, nets, homes, strict=True):
        sku = str(row.get("ArticleNumber") or "")
        code = choose_code(situation, rate, country, codes, rules, item_codes(sku) if sku else None)
        out.append(RowVat(index, situation, rate, code, net, home_rate))
    return DocumentVat(main, country, charged, tuple(out))
