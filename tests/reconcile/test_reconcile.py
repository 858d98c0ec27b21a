"""The VAT corpus goes through the orders flow with default options and reconciles with zero findings; each
deliberate fault (a VAT code mapped wrong, an Exact document deleted, a duplicate created by hand, an order never
transferred) is found by the report. Every figure is read from the simulators' own stores."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest

from flows.orders import ORDERS
from flows.reconcile import CSV_COLUMNS, Report, reconcile
from sandbox.exact.entities import ENTITIES
from tests.harness import World
from tests.reconcile.corpus import CASES, PERIOD, place


async def _transfer_corpus(world: World) -> dict[str, dict[str, Any]]:
    """Place and transfer every case; the eAccounting orders by case name."""
    placed = {case.name: place(world.ea_sim, case, day) for day, case in enumerate(CASES, start=1)}
    ctx = world.ctx(ORDERS)
    for order in placed.values():
        outcome = await world.run(ORDERS, str(order["Id"]))
        assert outcome.action == "created", (order["Number"], outcome.reason)
        assert outcome.mismatch is None, outcome.reason
    assert ctx  # one context shape for all: default options
    return placed


def _exact_order(world: World, number: int) -> dict[str, Any]:
    [order] = [
        o
        for o in world.exact_sim.division().store("SalesOrders").records.values()
        if o.get("Description") == f"eAccounting order {number}"
    ]
    return dict(order)


def _lines(world: World, order_id: str) -> list[dict[str, Any]]:
    return [line for line in world.exact_sim.division().store("SalesOrderLines").records.values()
            if line["OrderID"] == order_id]  # fmt: skip


async def _report(world: World, **options: Any) -> Report:
    return await reconcile(world.ctx(ORDERS, options=options), *PERIOD)


async def test_corpus_lands_with_the_source_vat_and_reconciles_with_no_finding(world: World) -> None:
    placed = await _transfer_corpus(world)
    for case in CASES:
        source = placed[case.name]
        order = _exact_order(world, source["Number"])
        lines = _lines(world, order["OrderID"])
        assert {line["VATCode"] for line in lines} == case.codes, case.name
        net = Decimal(str(source["Amount"])) + Decimal(str(source["RoundingsAmount"] or 0))
        assert (order["AmountFCExclVat"], order["AmountFC"] - order["AmountFCExclVat"]) == (
            net,
            Decimal(str(source["VatAmount"])),
        ), case.name
        assert order["Currency"] == source["CurrencyCode"]
    assert _exact_order(world, placed[CASES[0].name]["Number"])["YourRef"] == "PO-1001"

    world.reset_counters()
    report = await _report(world)
    assert report.findings == [], [f.row() for f in report.findings]
    assert report.documents == report.transferred == len(CASES)
    # Both sides' sums per VAT code, country and currency agree.
    by_side: dict[str, dict[Any, Any]] = {"eaccounting": {}, "exact": {}}
    for row in report.sums:
        by_side[row.side][(row.vat_code, row.country, row.currency)] = (row.net, row.vat, row.documents)
    assert by_side["eaccounting"] == by_side["exact"]
    assert ("DEH", "DE", "EUR") in by_side["exact"] and ("6", "NO", "NOK") in by_side["exact"]
    calls = {k: v for k, v in world.exact_sim.counters()["by_endpoint"].items() if k != "GET current/Me"}
    # One call: the period's orders with their lines expanded (the reference lists no bulk endpoint for the headers).
    assert calls == {"GET salesorder/SalesOrders": 1}
    assert report.calls["exact"] == 1


async def test_each_deliberate_fault_is_found(world: World) -> None:
    placed = await _transfer_corpus(world)
    division = world.exact_sim.division()
    numbers = [placed[case.name]["Number"] for case in CASES]

    # 1. A VAT code mapped wrong: an override sends every line of a new order with code 2 (21 %), its 9 % row too.
    wrong = place(world.ea_sim, CASES[1], 20)  # domestic, 0 % and 9 % rows
    overrides = {"orders_to_exact_sales_order": {"fields": {"SalesOrderLines[*].VATCode": {"const": "2"}}}}
    flagged = await world.run(ORDERS, str(wrong["Id"]), mapping_overrides=overrides)
    assert flagged.action == "created" and flagged.mismatch is not None  # loud at once, in the outcome
    # 2. A same-rate code mapped wrong: Belgium's OSS 21 % for a domestic 21 % order.
    same_rate = world.ea_sim.create_order("1001", [("SKU-0020", 2)], order_date="2026-01-21")  # 21 % only
    overrides = {"orders_to_exact_sales_order": {"fields": {"SalesOrderLines[*].VATCode": {"const": "BEH"}}}}
    await world.run(ORDERS, str(same_rate["Id"]), mapping_overrides=overrides)
    # 3. An Exact document deleted.
    deleted = _exact_order(world, numbers[3])
    world.exact_sim.engine.delete(division, ENTITIES["SalesOrders"], deleted["OrderID"])
    # 4. A duplicate created by hand in Exact, with the same reference key.
    original = _exact_order(world, numbers[4])
    item = world.exact_sim.item_by_code("SKU-0019")
    day = str(placed[CASES[4].name]["OrderDate"])[:10]
    body = {"OrderedBy": original["OrderedBy"], "Description": original["Description"], "OrderDate": day}
    body["SalesOrderLines"] = [{"Item": item["ID"], "Quantity": 4, "VATCode": "9"}]
    world.exact_sim.engine.create(division, ENTITIES["SalesOrders"], body)
    # 5. An order never transferred.
    never = place(world.ea_sim, CASES[5], 22)

    report = await _report(world)
    found = {(f.kind, f.source_document) for f in report.findings}
    assert found == {
        ("totals_differ", str(wrong["Number"])),
        ("vat_codes_differ", str(same_rate["Number"])),
        ("deleted", str(numbers[3])),
        ("duplicate", str(numbers[4])),
        ("missing", str(never["Number"])),
    }
    by_kind = {f.kind: f for f in report.findings}
    assert by_kind["totals_differ"].source is not None and by_kind["totals_differ"].exact is not None
    assert by_kind["totals_differ"].exact.vat > by_kind["totals_differ"].source.vat
    assert by_kind["deleted"].exact_documents == [deleted["OrderID"]]
    assert len(by_kind["duplicate"].exact_documents) == 2
    assert "BEH" in by_kind["vat_codes_differ"].detail

    # The accountant's CSV: one line per finding under a header.
    rows = list(csv.DictReader(io.StringIO(report.csv())))
    assert [tuple(r) for r in rows[:1]] == [CSV_COLUMNS]
    assert sorted((r["finding"], r["source_document"]) for r in rows) == sorted(found)


async def test_a_transferred_order_outside_the_selection_still_counts(world: World) -> None:
    """An order transferred while ongoing and invoiced since is no longer selected, but it was transferred: the
    report covers it (else its Exact document would go unchecked)."""
    placed = await _transfer_corpus(world)
    order = world.ea_sim.get("orders", str(placed[CASES[0].name]["Id"]))
    world.ea_sim.put("orders", {**order, "Status": 4})
    report = await _report(world)
    assert report.findings == [] and report.documents == len(CASES)


@pytest.mark.parametrize("document", ["sales_invoice", "journal_entry"])
async def test_other_documents_reconcile_too(world: World, document: str) -> None:
    cases = [CASES[0], CASES[2], CASES[3], CASES[6]]
    for day, case in enumerate(cases, start=1):
        order = place(world.ea_sim, case, day)
        outcome = await world.run(ORDERS, str(order["Id"]), options={"document": document})
        assert outcome.action == "created" and outcome.mismatch is None, outcome.reason
    report = await _report(world, document=document)
    assert report.findings == [] and report.transferred == len(cases)
