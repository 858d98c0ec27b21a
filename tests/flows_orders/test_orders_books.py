"""Books right by default, and loud where they are not: the totals check of each created document, the VAT code on
the accounts the flow creates, and every option value working with the default mappings (or refused)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from structlog.testing import capture_logs

from app.flowconfig import ConfigInvalid
from flows.base import RecordFailed
from flows.orders import ORDERS
from tests.flows_orders.conftest import World


def _records(world: World, entity: str) -> list[dict[str, Any]]:
    return list(world.exact_sim.division().store(entity).records.values())


async def test_a_cent_of_vat_rounding_between_the_systems_is_flagged_not_hidden(
    world: World, make_order: Callable[..., str]
) -> None:
    """eAccounting rounds VAT once per rate (0.315 -> 0.32), Exact per line (3 x 0.105 -> 0.33): the document is
    created (nothing is lost) and the outcome carries both sets of figures."""
    rows = [{"article_number": "SKU-0020", "quantity": 1, "unit_price": "0.50"}] * 3
    outcome = await world.run(world.ctx(), make_order("1001", rows))
    assert outcome.action == "created"
    assert outcome.mismatch == {
        "source": {"currency": "EUR", "net": "1.50", "vat": "0.32", "gross": "1.82"},
        "exact": {"currency": "EUR", "net": "1.50", "vat": "0.33", "gross": "1.83"},
        "difference": {"net": "0.00", "vat": "0.01", "gross": "0.01"},
    }
    assert outcome.reason is not None and outcome.reason.startswith("totals differ: eAccounting EUR net 1.50 VAT 0.32")


async def test_a_journal_entry_carries_eaccountings_own_vat_to_the_cent(
    world: World, make_order: Callable[..., str]
) -> None:
    """A sales entry line takes a VAT amount: the flow sends each row's share of eAccounting's VAT, so the same
    three rows book 0.32, not 0.33."""
    rows = [{"article_number": "SKU-0020", "quantity": 1, "unit_price": "0.50"}] * 3
    outcome = await world.run(world.ctx(document="journal_entry"), make_order("1001", rows))
    assert (outcome.action, outcome.mismatch) == ("created", None)
    lines = outcome.target_payload["SalesEntryLines"]
    assert sorted(Decimal(str(line["VATAmountFC"])) for line in lines) == [
        Decimal("0.10"),
        Decimal("0.11"),
        Decimal("0.11"),
    ]
    entry = next(e for e in _records(world, "SalesEntries") if e["EntryID"] == outcome.target_id)
    assert entry["VATAmountFC"] == Decimal("0.32")


async def test_a_mismatch_shows_in_the_activity_log_the_metrics_and_an_alert(
    world: World, make_order: Callable[..., str]
) -> None:
    order_id = make_order("1009", [("SKU-0001", 2), ("SKU-0020", 1)])  # 9 % and 21 %
    wrong = {"orders_to_exact_sales_order": {"fields": {"SalesOrderLines[*].VATCode": {"const": "2"}}}}
    await world.base.configure(ORDERS, mapping_overrides=wrong)
    with capture_logs() as logs:
        assert await world.base.engine.run_record("orders", order_id, "manual") == "created"
    entries, _ = await world.base.engine.activity.query(flow="orders", source_id=order_id)
    assert entries[0].outcome == "created" and entries[0].mismatch is not None
    # 49.90 at 9 % + 189.00 at 21 % = 4.49 + 39.69 in eAccounting; both at 21 % in Exact: 10.48 + 39.69
    assert entries[0].mismatch["source"]["vat"] == "44.18" and entries[0].mismatch["exact"]["vat"] == "50.17"
    assert "totals differ" in (entries[0].reason or "")
    text = await world.base.engine.metrics.render(queue_depth=None, dead_letters={})
    assert 'ledgerbridge_totals_mismatch_total{link="default",flow="orders"} 1' in text
    alerts = [e for e in logs if e.get("event") == "alert"]
    assert [a["kind"] for a in alerts] == ["totals_mismatch"]
    assert await world.base.engine.dead_letters.get("orders", order_id) is None  # created: not a failure


async def test_accounts_the_flow_creates_get_the_vat_code_it_chose(
    world: World, make_order: Callable[..., str]
) -> None:
    await world.run(world.ctx(), make_order("1011", [("SKU-0001", 1)]))  # German business: ICP
    await world.run(world.ctx(), make_order("1010", [("SKU-0001", 1), ("SKU-0020", 1)]))  # Dutch person: 9 and 21
    await world.run(world.ctx(), make_order("1015", [("SKU-0020", 1)]))  # American business: export
    codes = {a["Email"]: a["SalesVATCode"] for a in _records(world, "Accounts")}
    assert codes["einkauf@muller.de"] == "7"
    assert codes["sanne@example.nl"] == "2"  # the highest rate of the order
    assert codes["purchasing@brooklynbeans.com"] == "6"


async def test_a_vat_the_flow_cannot_read_back_fails_before_any_write(
    world: World, make_order: Callable[..., str]
) -> None:
    order_id = make_order("1003", [("SKU-0020", 1)])  # a Norwegian business: export, no VAT
    order = world.ea_sim.get("orders", order_id)
    world.ea_sim.put("orders", {**order, "VatAmount": Decimal("39.69")})  # as if eAccounting had charged 21 %
    world.exact_sim.reset_counters()
    with pytest.raises(RecordFailed, match=r"charged 39.69 VAT on 189.00 net for an export to NO"):
        await world.run(world.ctx(), order_id)
    writes = [k for k in world.exact_sim.counters()["by_endpoint"] if not k.startswith("GET")]
    assert writes == []  # no account, no item, no order


async def test_every_status_works_with_every_default_mapping(world: World, make_order: Callable[..., str]) -> None:
    all_statuses = [1, 2, 3, 4]
    for document in ("sales_order", "sales_invoice", "direct_invoice", "journal_entry"):
        for status in all_statuses:
            order_id = make_order("1001", [("SKU-0001", 1)], status=status)
            outcome = await world.run(world.ctx(document=document, statuses=all_statuses), order_id)
            assert (outcome.action, outcome.mismatch) == ("created", None), (document, status, outcome.reason)
    draft = make_order("1001", [("SKU-0002", 1)], status=1)
    skipped = await world.run(world.ctx(), draft)  # the default selection leaves drafts alone ...
    assert skipped.action == "skipped" and "status 1 not selected" in (skipped.reason or "")
    assert (await world.run(world.ctx(statuses=[1]), draft)).action == "created"  # ... a selected draft goes


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"statuses": [5]}, "statuses"),
        ({"statuses": []}, "statuses"),
        ({"source": "customer_invoices", "document": "sales_order"}, "customer_invoices needs document"),
        ({"vat_code_by_situation": {"abroad": "6"}}, "vat_code_by_situation"),
        ({"eu_private_vat": "maybe"}, "eu_private_vat"),
        ({"discount_item_code": "DISC"}, "discount_item_code"),
    ],
)
def test_option_values_the_flow_cannot_honour_are_refused(world: World, options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigInvalid, match=field):
        world.ctx(**options)


async def test_eu_private_vat_option_decides_where_home_and_oss_rates_coincide(
    world: World, make_order: Callable[..., str]
) -> None:
    """A Belgian private person charged 21 %: Belgium's rate is the Dutch one. The demo company reports under the
    One Stop Shop (eAccounting's UsesMoss), so by default the Belgian OSS code; `home` says otherwise."""
    auto = await world.run(world.ctx(), make_order("1006", [("SKU-0020", 1)]))
    home = await world.run(world.ctx(eu_private_vat="home"), make_order("1006", [("SKU-0020", 1)]))
    assert [line["VATCode"] for line in auto.target_payload["SalesOrderLines"]] == ["BEH"]
    assert [line["VATCode"] for line in home.target_payload["SalesOrderLines"]] == ["2"]
