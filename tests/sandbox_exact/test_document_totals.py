"""Document totals as Exact computes them: VAT per line from the VAT code's percentage and Type, rounded per line,
the header's net (AmountFCExclVat), VAT and gross (AmountFC) summed from the lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.exact import ExactSim
from sandbox.exact.engine import line_vat

from .conftest import url

REPRESENTATION = {"Prefer": "return=representation"}


def _account(sim: ExactSim) -> dict[str, Any]:
    return next(a for a in sim.division().store("Accounts").records.values() if a["Name"] == "Koffiebar De Boon")


@pytest.mark.parametrize(
    ("vat_type", "percentage", "amount", "expected"),
    [
        ("E", "0.21", "100.00", ("100.00", "21.00")),
        ("E", "0.09", "74.85", ("74.85", "6.74")),  # 6.7365 -> 6.74
        ("I", "0.21", "121.00", ("100.00", "21.00")),  # an including code takes the VAT out of the amount
        ("I", "0.09", "10.00", ("9.17", "0.83")),
        ("B", "0", "50.00", ("50.00", "0")),
        ("N", "0", "50.00", ("50.00", "0")),
        ("B", "0.21", "50.00", ("50.00", "0")),  # a 0 % type never charges VAT
    ],
)
def test_line_vat_by_code_type(vat_type: str, percentage: str, amount: str, expected: tuple[str, str]) -> None:
    excl, vat = line_vat(vat_type, Decimal(percentage), Decimal(amount))
    assert (excl, vat) == (Decimal(expected[0]), Decimal(expected[1]))


async def test_sales_invoice_totals_mix_codes_and_round_per_line(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    item = sim.item_by_code("SKU-0020")
    lines = [
        {"Item": item["ID"], "Quantity": 1, "UnitPrice": 10.05, "VATCode": "2"},  # 2.1105 -> 2.11
        {"Item": item["ID"], "Quantity": 1, "UnitPrice": 10.05, "VATCode": "2"},  # 2.11 again (not 4.221 -> 4.22)
        {"Item": item["ID"], "Quantity": 2, "UnitPrice": 60.50, "VATCode": "4"},  # 121.00 incl. -> 100.00 + 21.00
        {"Item": item["ID"], "Quantity": 1, "UnitPrice": 40.00, "VATCode": "7"},  # ICP 0 %
        {"Item": item["ID"], "Quantity": 1, "UnitPrice": 10.00, "VATCode": "DEL"},  # OSS Germany 7 %
    ]
    body = {"Journal": "70", "OrderedBy": _account(sim)["ID"], "SalesInvoiceLines": lines}
    response = await client.post(url("salesinvoice/SalesInvoices"), headers={**headers, **REPRESENTATION}, json=body)
    assert response.status_code == 201, response.text
    invoice = response.json()["d"]
    net = Decimal("10.05") * 2 + Decimal("100.00") + Decimal("40.00") + Decimal("10.00")
    vat = Decimal("2.11") * 2 + Decimal("21.00") + Decimal("0.70")
    assert Decimal(str(invoice["AmountFCExclVat"])) == net
    assert Decimal(str(invoice["VATAmountFC"])) == vat
    assert Decimal(str(invoice["AmountFC"])) == net + vat


async def test_sales_order_totals_follow_the_line_vat_codes(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    beans, grinder = sim.item_by_code("SKU-0001"), sim.item_by_code("SKU-0020")
    lines = [
        {"Item": beans["ID"], "Quantity": 3, "UnitPrice": 24.95},  # item's code 1: 9 % of 74.85 = 6.74
        {"Item": grinder["ID"], "Quantity": 1, "UnitPrice": 189.00, "VATCode": "6"},  # export: no VAT
        {"Item": grinder["ID"], "Quantity": 1, "UnitPrice": 189.00, "Discount": 0.1, "VATCode": "BEH"},
    ]
    body = {"OrderedBy": _account(sim)["ID"], "SalesOrderLines": lines}
    response = await client.post(url("salesorder/SalesOrders"), headers={**headers, **REPRESENTATION}, json=body)
    assert response.status_code == 201, response.text
    order = response.json()["d"]
    net = Decimal("74.85") + Decimal("189.00") + Decimal("170.10")
    vat = Decimal("6.74") + Decimal("35.72")  # 21 % of 170.10 = 35.721
    assert Decimal(str(order["AmountFCExclVat"])) == net
    assert Decimal(str(order["AmountFC"])) == net + vat
