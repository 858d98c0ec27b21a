"""Reading an order's VAT back as Exact VAT codes (flows/orders_vat.py), on a Dutch administration's codes as the
Exact simulator seeds them: situations, overrides, the tie-breaks, and every way it refuses to guess."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from connectors.exact import VATCode
from flows.base import RecordFailed
from flows.orders_vat import ArticleVat, VatRules, document_vat, rounding_code
from sandbox.exact.seed import VAT_CODES

CODES = [
    VATCode.model_validate(
        {"ID": f"00000000-0000-4000-8000-{n:012d}", "Code": code, "Description": description,
         "Percentage": pct, "Type": kind, "EUSalesListing": listing, "Charged": charged, "OssCountry": oss,
         "VATTransactionType": transactions, "IsBlocked": False, "LegalText": legal}
    )
    for n, (code, description, pct, kind, listing, charged, oss, transactions, legal) in enumerate(VAT_CODES)
]  # fmt: skip
ARTICLES = {
    "COFFEE": ArticleVat(Decimal("0.09")),
    "GRINDER": ArticleVat(Decimal("0.21")),
    "GIFT": ArticleVat(Decimal(0)),
    "COURSE": ArticleVat(Decimal("0.21"), service=True),
    "SHIPPING": ArticleVat(Decimal("0.21"), service=True),
}
RULES = VatRules(home_country="NL", shipping_article="SHIPPING")


def _articles(row: Mapping[str, Any]) -> ArticleVat | None:
    return ARTICLES.get(str(row.get("ArticleNumber")))


def _order(country: str, vat: str, rows: list[tuple[str, str]], **fields: Any) -> dict[str, Any]:
    """An order with (article, net) rows (quantity 1) and the VAT eAccounting charged."""
    return {
        "InvoiceCountryCode": country,
        "VatAmount": vat,
        "Rows": [{"ArticleNumber": a, "Quantity": 1, "UnitPrice": net} for a, net in rows],
        **fields,
    }


def _codes(order: dict[str, Any], rules: VatRules = RULES, codes: list[VATCode] = CODES, **kw: Any) -> list[str]:
    return [row.code for row in document_vat(order, _articles, codes, rules, **kw).rows]


def test_domestic_rows_get_the_code_of_their_own_rate() -> None:
    order = _order("NL", "30.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")])
    assert _codes(order) == ["1", "2"]


def test_zero_situations_get_their_zero_codes() -> None:
    export = _order("NO", "0", [("GRINDER", "100.00"), ("COFFEE", "50.00")])
    assert _codes(export) == ["6", "6"]  # 5 (VAT 0%) and 6 both fit; 6 is the one that says "export"
    icp = _order("DE", "0", [("GRINDER", "100.00"), ("SHIPPING", "6.95")])
    assert _codes(icp) == ["7", "7"]  # goods, the freight following the goods
    services = _order("DE", "0", [("COURSE", "100.00")])
    assert _codes(services) == ["8"]
    abc = _order("DK", "0", [("GRINDER", "100.00")], EuThirdParty=True)
    assert _codes(abc) == ["9"]
    reverse = _order(
        "NL", "21.00", [("GRINDER", "100.00"), ("COURSE", "300.00")], ReverseChargeOnConstructionServices=True
    )
    reverse["Rows"][1]["EligibleForReverseChargeOnVat"] = True
    assert _codes(reverse) == ["2", "10"]


def test_eu_private_at_home_rates_or_under_the_one_stop_shop() -> None:
    home = _order("DE", "30.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")])
    assert _codes(home) == ["1", "2"]
    oss = _order("DE", "26.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")])  # 7 % + 19 %
    assert _codes(oss) == ["DEL", "DEH"]
    gift = _order("BE", "21.00", [("GIFT", "50.00"), ("GRINDER", "100.00")])  # BE: 21 % like home
    vat = document_vat(gift, _articles, CODES, RULES, item_codes={"GIFT": "0"}.get)
    assert [r.code for r in vat.rows] == ["0", "2"]


def test_vat_that_no_rate_explains_is_refused() -> None:
    with pytest.raises(RecordFailed, match=r"eAccounting charged 5.00 VAT on 200.00 net for a sale to a private"):
        document_vat(_order("DE", "5.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")]), _articles, CODES, RULES)
    with pytest.raises(RecordFailed, match=r"charged 21.00 VAT on 100.00 net for an export to NO"):
        document_vat(_order("NO", "21.00", [("GRINDER", "100.00")]), _articles, CODES, RULES)
    with pytest.raises(RecordFailed, match=r"charged 25.00 VAT on 100.00 net for a domestic sale"):
        document_vat(_order("NL", "25.00", [("GRINDER", "100.00")]), _articles, CODES, RULES)


def test_rounding_of_either_system_is_accepted() -> None:
    # 3 rows of 0.50 at 21 %: 0.315 in total (0.32 rounded once), 3 x 0.11 = 0.33 per line
    rows = [("GRINDER", "0.50")] * 3
    assert _codes(_order("NL", "0.32", rows)) == ["2", "2", "2"]
    assert _codes(_order("NL", "0.33", rows)) == ["2", "2", "2"]


def test_an_unknown_article_fails_naming_it() -> None:
    with pytest.raises(RecordFailed, match="row 1: article TEAPOT is not known in eAccounting"):
        document_vat(_order("NL", "0", [("TEAPOT", "10.00")]), _articles, CODES, RULES)


def test_customer_invoice_rows_state_their_own_rate() -> None:
    invoice = {
        "InvoiceCountryCode": "NL",
        "TotalVatAmountInvoiceCurrency": "9.00",
        "Rows": [{"ArticleNumber": "TEAPOT", "AmountNoVat": "100.00", "PercentVat": 9}],
    }
    assert _codes(invoice) == ["1"]


def test_overrides_serve_only_the_rate_eaccounting_charged() -> None:
    order = _order("NL", "30.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")])
    by_country = VatRules(home_country="NL", by_country={"NL": "4"})  # 21 % incl. code, for the 21 % row only
    assert _codes(order, by_country) == ["1", "4"]
    export = VatRules(home_country="NL", by_situation={"export": "5"})
    assert _codes(_order("NO", "0", [("GRINDER", "100.00")]), export) == ["5"]
    wrong = VatRules(home_country="NL", by_situation={"export": "2"})
    with pytest.raises(RecordFailed, match=r"vat_code_by_situation\['export'\] = '2' charges 21 %, but"):
        _codes(_order("NO", "0", [("GRINDER", "100.00")]), wrong)
    icp = VatRules(home_country="NL", reverse_charge_code="1")
    with pytest.raises(RecordFailed, match="reverse_charge_vat_code = '1' charges 9 %"):
        _codes(_order("DE", "0", [("GRINDER", "100.00")]), icp)
    unknown = VatRules(home_country="NL", by_situation={"domestic": "X9"})
    with pytest.raises(RecordFailed, match="names Exact VAT code 'X9', which Exact does not have"):
        _codes(order, unknown)


def test_no_fitting_code_fails_naming_the_situation_and_what_to_create() -> None:
    without_icp = [c for c in CODES if c.code != "7"]
    with pytest.raises(RecordFailed) as failed:
        _codes(_order("DE", "0", [("GRINDER", "100.00")]), codes=without_icp)
    assert failed.value.reason == (
        "VAT: Exact has no sales VAT code for an intra-community supply of goods to a business in DE (reverse "
        "charge) (0 %, EU sales list L (goods)): create one in Exact or set vat_code_by_situation['eu_b2b_goods']"
    )
    without_oss = [c for c in CODES if c.oss_country != "DE"]
    with pytest.raises(RecordFailed, match="neither the articles' rates nor Exact's One Stop Shop codes for DE"):
        _codes(_order("DE", "26.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")]), codes=without_oss)
    blocked = [c.model_copy(update={"is_blocked": True}) if c.code == "2" else c for c in CODES]
    with pytest.raises(RecordFailed, match="no sales VAT code for a domestic sale at 21 %"):
        _codes(_order("NL", "21.00", [("GRINDER", "100.00")]), codes=blocked)


def test_several_fitting_codes_are_refused_unless_the_item_names_one() -> None:
    twin = CODES[2].model_copy(update={"code": "22", "description": "VAT high 21% (webshop)"})
    codes = [*CODES, twin]
    order = _order("NL", "21.00", [("GRINDER", "100.00")])
    with pytest.raises(RecordFailed, match=r"several Exact VAT codes fit a domestic sale at 21 %: 2 .*, 22 "):
        _codes(order, codes=codes)
    assert _codes(order, codes=codes, item_codes={"GRINDER": "22"}.get) == ["22"]
    gift = _order("NL", "0", [("GIFT", "25.00")])  # 0 (no VAT) and 5 (VAT 0 %) both fit a domestic 0 %
    with pytest.raises(RecordFailed, match="several Exact VAT codes fit a domestic sale at 0 %"):
        _codes(gift)
    assert _codes(gift, item_codes={"GIFT": "5"}.get) == ["5"]


def test_purchase_codes_never_serve_a_sale_and_the_rounding_has_no_vat() -> None:
    order = _order("NL", "21.00", [("GRINDER", "100.00")])
    purchase_only = [c.model_copy(update={"vat_transaction_type": "P"}) if c.code == "2" else c for c in CODES]
    with pytest.raises(RecordFailed, match="no sales VAT code"):
        _codes(order, codes=purchase_only)  # code 11 (21 %, purchase) is no way out
    assert rounding_code(CODES, RULES) == "0"


def test_sums_per_code_follow_exacts_per_line_rounding_and_an_account_gets_the_top_rate_code() -> None:
    vat = document_vat(_order("NL", "30.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")]), _articles, CODES, RULES)
    assert vat.by_code() == {"1": (Decimal("100.00"), Decimal("9.00")), "2": (Decimal("100.00"), Decimal("21.00"))}
    assert vat.account_code == "2"


def test_where_home_and_destination_rates_coincide_the_companys_oss_setting_decides() -> None:
    belgian = _order("BE", "21.00", [("GRINDER", "100.00")])  # Belgium's 21 % is the Dutch 21 %
    assert _codes(belgian) == ["2"]  # home rates first: a company below the OSS threshold
    assert _codes(belgian, VatRules(home_country="NL", oss_first=True)) == ["BEH"]
    danish = [*CODES, CODES[2].model_copy(update={"code": "DKH", "percentage": Decimal("0.25"), "oss_country": "DK"})]
    both = _order("DK", "50.00", [("COFFEE", "100.00"), ("GRINDER", "100.00")])  # Denmark: 25 % on both
    assert _codes(both, codes=danish) == ["DKH", "DKH"]
