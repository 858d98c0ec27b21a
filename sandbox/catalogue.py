"""The demo business both simulators are seeded with: one Dutch coffee roaster keeping its books in EUR in Exact
Online NL and Visma eAccounting NL (see docs/vat.md for why that pairing).

One catalogue, so an article in eAccounting and the item with the same code in Exact are the same product at the
same price with the same VAT class: `reduced` (9 % in the Netherlands: food and drink), `standard` (21 %) or `zero`
(0 %: a multi-purpose gift card, outside the scope of VAT when it is sold). EU rates (standard, reduced) are what
the eAccounting simulator charges an EU private person when the company reports under the One Stop Shop (OSS).
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["EU_RATES", "PRODUCTS", "VatClass"]

VatClass = str  # "standard" | "reduced" | "zero"

# (code, description, Exact item group, unit price EUR excl. VAT, VAT class)
PRODUCTS: tuple[tuple[str, str, str, str, VatClass], ...] = tuple(
    (f"SKU-{n:04d}", name, group, price, vat)
    for n, (name, group, price, vat) in enumerate(
        (
            ("Espresso beans 1kg", "COFFEE", "24.95", "reduced"),
            ("House blend beans 1kg", "COFFEE", "19.95", "reduced"),
            ("Decaf beans 500g", "COFFEE", "12.50", "reduced"),
            ("Colombia Supremo beans 1kg", "COFFEE", "27.50", "reduced"),
            ("Ethiopia Yirgacheffe beans 500g", "COFFEE", "16.95", "reduced"),
            ("Brazil Santos beans 1kg", "COFFEE", "21.00", "reduced"),
            ("Guatemala Antigua beans 1kg", "COFFEE", "26.25", "reduced"),
            ("Kenya AA beans 500g", "COFFEE", "18.75", "reduced"),
            ("Filter coffee ground 250g", "COFFEE", "5.95", "reduced"),
            ("Espresso ground 250g", "COFFEE", "6.45", "reduced"),
            ("Coffee pods 50 pcs", "COFFEE", "14.95", "reduced"),
            ("Cold brew concentrate 1l", "COFFEE", "9.95", "reduced"),
            ("Green tea sencha 100g", "TEA", "7.50", "reduced"),
            ("Earl Grey tea 100g", "TEA", "6.95", "reduced"),
            ("Rooibos tea 100g", "TEA", "5.95", "reduced"),
            ("Chai spice tea 100g", "TEA", "8.25", "reduced"),
            ("Peppermint tea 50 bags", "TEA", "4.95", "reduced"),
            ("Matcha powder 30g", "TEA", "15.95", "reduced"),
            ("Hand grinder steel", "EQUIP", "49.00", "standard"),
            ("Electric burr grinder", "EQUIP", "189.00", "standard"),
            ("Pour-over dripper ceramic", "EQUIP", "22.50", "standard"),
            ("French press 1l", "EQUIP", "34.95", "standard"),
            ("Moka pot 6 cups", "EQUIP", "39.95", "standard"),
            ("Milk frother electric", "EQUIP", "59.00", "standard"),
            ("Gooseneck kettle 1l", "EQUIP", "64.50", "standard"),
            ("Espresso tamper 58mm", "EQUIP", "29.95", "standard"),
            ("Digital coffee scale", "EQUIP", "44.95", "standard"),
            ("Paper filters 100 pcs", "ACC", "3.95", "standard"),
            ("Barista apron", "ACC", "24.00", "standard"),
            ("Latte cup 300ml", "ACC", "9.50", "standard"),
            ("Espresso cup 80ml", "ACC", "7.25", "standard"),
            ("Travel mug 350ml", "ACC", "19.95", "standard"),
            ("Cleaning tablets 100 pcs", "ACC", "12.95", "standard"),
            ("Descaler 500ml", "ACC", "8.95", "standard"),
            ("Knock box", "ACC", "27.50", "standard"),
            ("Milk pitcher 600ml", "ACC", "18.50", "standard"),
            ("Coffee canister 1kg", "ACC", "21.95", "standard"),
            ("Cane sugar sticks 500 pcs", "ACC", "11.50", "reduced"),
            ("Caramel syrup 700ml", "ACC", "9.25", "reduced"),
            ("Gift card 25 EUR", "GIFT", "25.00", "zero"),
        ),
        start=1,
    )
)

# Standard and reduced VAT rate per EU country (fractions), as of 2026; the home country's pair is NL's.
EU_RATES: dict[str, tuple[Decimal, Decimal]] = {
    "AT": (Decimal("0.20"), Decimal("0.10")),
    "BE": (Decimal("0.21"), Decimal("0.06")),
    "DE": (Decimal("0.19"), Decimal("0.07")),
    "DK": (Decimal("0.25"), Decimal("0.25")),
    "ES": (Decimal("0.21"), Decimal("0.10")),
    "FI": (Decimal("0.255"), Decimal("0.14")),
    "FR": (Decimal("0.20"), Decimal("0.055")),
    "IE": (Decimal("0.23"), Decimal("0.135")),
    "IT": (Decimal("0.22"), Decimal("0.10")),
    "LU": (Decimal("0.17"), Decimal("0.08")),
    "NL": (Decimal("0.21"), Decimal("0.09")),
    "PL": (Decimal("0.23"), Decimal("0.08")),
    "PT": (Decimal("0.23"), Decimal("0.06")),
}
