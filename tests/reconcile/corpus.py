"""A corpus of eAccounting orders covering every VAT situation of a Dutch company, with row discounts, freight rows,
a cash rounding and foreign currencies, dated in January 2026 (the seeded demo orders are dated around March)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.eaccounting import EAccountingSim

PERIOD = (date(2026, 1, 1), date(2026, 1, 31))


@dataclass(frozen=True)
class Case:
    name: str
    customer: str
    rows: list[Any]
    codes: set[str]  # the Exact VAT codes its lines must get
    shipping: str | None = None
    kwargs: dict[str, Any] | None = None
    oss: bool = True  # the eAccounting company reports EU private sales under the One Stop Shop


CASES = [
    Case(
        "domestic 21 % and 9 % with a row discount and freight",
        "1009",
        [{"article_number": "SKU-0001", "quantity": 3, "discount_percentage": "0.10"}, ("SKU-0020", 1)],
        {"1", "2"},
        shipping="6.95",
        kwargs={"your_reference": "PO-1001"},
    ),
    Case("domestic private, a zero-rated gift card", "1010", [("SKU-0040", 2), ("SKU-0013", 1)], {"0", "1"}),
    Case(
        "domestic cash sale with a rounding",
        "1002",
        [("SKU-0014", 3)],
        {"1", "0"},
        kwargs={"roundings_amount": Decimal("0.02")},
    ),
    Case("EU business, intra-community supply", "1011", [("SKU-0001", 10), ("SKU-0024", 2)], {"7"}, shipping="12.50"),
    Case("EU business, triangulation", "1005", [("SKU-0019", 4)], {"9"}, kwargs={"eu_third_party": True}),
    Case("EU business in SEK", "1013", [("SKU-0002", 20)], {"7"}),
    Case(
        "EU private under OSS, 19 % and 7 %",
        "1012",
        [("SKU-0004", 2), ("SKU-0021", 1)],
        {"DEH", "DEL"},
        shipping="6.95",
    ),
    Case("EU private at the home rates", "1014", [("SKU-0005", 1), ("SKU-0032", 1)], {"1", "2"}, oss=False),
    Case("export outside the EU in NOK", "1003", [("SKU-0006", 12)], {"6"}, shipping="249.00"),
    Case("export outside the EU in USD", "1015", [("SKU-0020", 1), ("SKU-0040", 1)], {"6"}),
]


def place(sim: EAccountingSim, case: Case, day: int) -> dict[str, Any]:
    """Create the case's order in eAccounting, dated `day` January 2026."""
    sim.company["UsesMoss"] = case.oss
    try:
        return sim.create_order(
            case.customer,
            case.rows,
            shipping_amount=Decimal(case.shipping) if case.shipping else None,
            order_date=f"2026-01-{day:02d}",
            **(case.kwargs or {}),
        )
    finally:
        sim.company["UsesMoss"] = True
