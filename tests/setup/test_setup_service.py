"""The setup wizard's services (`app/services/setup.py`) on a fresh installation, against both simulators: each step
saved through the validated config services, the division chosen (never taken silently), first-connection refusals
explained, unmapped values listed, and a back-fill that run twice creates nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.services import setup
from app.services.errors import InvalidInput
from app.worker import build_worker
from flows.registry import load_flows
from tests.setup.conftest import OTHER_DIVISION, Fresh

MAIN_DIVISION = 1234567


async def _connected(fresh: Fresh, division: int = MAIN_DIVISION) -> Any:
    await setup.begin(fresh.process, await fresh.engine())
    await fresh.consent("exact")
    engine = await setup.choose_division(fresh.process, await fresh.engine(), division)
    await fresh.consent("eaccounting")
    assert (await setup.check_eaccounting(fresh.process, engine)).company
    return await fresh.engine()


async def test_the_wizard_pauses_a_fresh_link_and_resumes_where_it_was_left(fresh: Fresh) -> None:
    engine = await fresh.engine()
    assert await setup.load_state(engine) is None
    state = await setup.begin(fresh.process, engine)
    assert state.paused_by_setup and state.next_step() == "exact"
    link = await fresh.process.link("default")
    assert link is not None and link.paused  # flows chosen on the way start only in the last step
    await fresh.consent("exact")
    await setup.choose_division(fresh.process, await fresh.engine(), MAIN_DIVISION)
    again = await setup.begin(fresh.process, await fresh.engine())  # another browser, or the terminal
    assert again.done == ["exact"] and again.next_step() == "eaccounting"
    assert setup.required_before(again, "tables") == "eaccounting"


async def test_the_division_is_chosen_from_those_the_user_reaches_never_taken_silently(fresh: Fresh) -> None:
    await setup.begin(fresh.process, await fresh.engine())
    await fresh.consent("exact")
    engine = await fresh.engine()
    assert engine.scope.link.division is None
    choices = await setup.divisions(engine)
    assert [d.code for d in choices] == [MAIN_DIVISION, OTHER_DIVISION]
    assert [d.last_opened for d in choices] == [True, False]  # Exact's CurrentDivision: only shown, not chosen
    with pytest.raises(InvalidInput) as refused:
        await setup.choose_division(fresh.process, engine, 999)
    assert refused.value.detail[0]["loc"] == ["division"]
    assert "999 is not one you can reach" in refused.value.detail[0]["msg"]
    engine = await setup.choose_division(fresh.process, engine, OTHER_DIVISION)
    link = await fresh.process.link("default")
    assert link is not None and link.division == OTHER_DIVISION
    assert await engine.exact.division() == OTHER_DIVISION


@pytest.mark.parametrize(
    ("problem", "words"),
    [("api_module", "Apps and extensions"), ("startup_guide", "complete the startup guide")],
)
async def test_first_connection_refusals_of_eaccounting_are_explained(fresh: Fresh, problem: str, words: str) -> None:
    await setup.begin(fresh.process, await fresh.engine())
    engine = await fresh.engine()
    assert not (await setup.check_eaccounting(fresh.process, engine)).connected
    fresh.ea_sim.access_problem = problem  # type: ignore[assignment]
    await fresh.consent("eaccounting")
    check = await setup.check_eaccounting(fresh.process, engine)
    assert check.connected and check.company is None and check.problem and words in (check.fix or "")
    assert "eaccounting" not in (await setup.load_state(engine) or setup.SetupState()).done
    fresh.ea_sim.access_problem = None
    check = await setup.check_eaccounting(fresh.process, engine)
    assert check.company == "Koffiebranderij De Gouden Boon B.V." and check.problem is None
    assert "eaccounting" in (await setup.load_state(engine) or setup.SetupState()).done


async def test_flows_are_saved_through_the_config_validation_all_or_nothing(fresh: Fresh) -> None:
    engine = await _connected(fresh)
    before = await engine.configs.raw("products")
    with pytest.raises(InvalidInput) as refused:
        await setup.save_flows(
            engine,
            {"orders": True, "products": False},
            {"orders": {"document": "invoice_please"}, "products": {"update_existing": False}},
        )
    assert refused.value.detail[0]["loc"][:2] == ["orders", "document"]
    assert await engine.configs.raw("products") == before  # nothing stored when one flow is refused
    await setup.save_flows(engine, {"orders": True, "products": False}, {"orders": {"missing_sku": "fail"}})
    assert (await engine.configs.get("orders")).config.enabled
    assert not (await engine.configs.get("products")).config.enabled
    assert not (await engine.configs.get("shipments")).config.enabled  # not ticked: off
    choices = {c.name: c for c in await setup.flow_choices(engine)}
    assert "missing_sku" in choices["orders"].key_options and not choices["products"].enabled


async def test_reference_tables_come_from_both_systems_and_unmapped_values_are_listed(fresh: Fresh) -> None:
    engine = await _connected(fresh)
    tables = {t.name: t for t in (await setup.reference_tables(engine)).tables}
    vat = {row.key: row for row in tables["vat"].rows}
    assert vat["domestic:0.21"].automatic and vat["domestic:0.09"].automatic  # matched by rate, not guessed
    assert vat["export"].automatic and not vat["export"].unmapped
    methods = tables["shipping"]
    assert [row.key for row in methods.unmapped] == [row.key for row in methods.rows]  # none guessed
    assert all(row.unmapped == "no Exact shipping method is sent for it" for row in methods.rows)
    terms = tables["payment"].rows
    assert {row.automatic for row in terms} >= {"30", "00", "CC"}
    taxed = vat["domestic:0.21"].automatic
    method = methods.rows[0].choices[0].value
    arguments: dict[str, Any] = {
        "payment": {},
        "shipping": {methods.rows[0].key: method},
        "cost_centers": {},
        "default_debtor": "",
        "shipping_item": "SHIPPING",
        "rounding_item": "ROUNDING",
    }
    with pytest.raises(InvalidInput) as refused:
        await setup.save_tables(engine, vat={"export": taxed}, **arguments)
    assert refused.value.detail[0]["loc"] == ["vat", "export"] and "not 0 %" in refused.value.detail[0]["msg"]
    with pytest.raises(InvalidInput) as refused:
        await setup.save_tables(engine, vat={}, **{**arguments, "default_debtor": "NO-SUCH-ACCOUNT"})
    assert refused.value.detail[0]["loc"] == ["default_debtor"]
    await setup.save_tables(engine, vat={"export": vat["export"].automatic}, **arguments)
    resolved = await engine.configs.get("orders")
    assert resolved.options.vat_code_by_situation == {"export": vat["export"].automatic}
    compiled = resolved.compiled(resolved.mapping_name)
    assert compiled.spec.value_maps["shipping_method_by_delivery_method"].table == {methods.rows[0].key: method}
    again = {t.name: t for t in (await setup.reference_tables(engine)).tables}
    assert again["shipping"].rows[0].chosen == method and len(again["shipping"].unmapped) == len(methods.rows) - 1


async def _run_worker(fresh: Fresh) -> None:
    """Burst workers (what `ledgerbridge worker` runs) until the queue is empty."""
    for _ in range(30):
        worker = build_worker(fresh.settings, burst=True, configure_logs=False, http=fresh.http, cron=False)
        try:
            await worker.async_run()
        finally:
            await worker.close()
        if await fresh.redis.zcard(fresh.settings.redis.queue_name) == 0:
            return
    raise AssertionError("the queue did not drain")


def _transferred(fresh: Fresh) -> list[str]:
    orders = fresh.exact_sim.division(MAIN_DIVISION).store("SalesOrders").records.values()
    return sorted(str(o["Description"]) for o in orders if str(o.get("Description") or "").startswith("eAccounting"))


async def test_enable_previews_the_back_fill_and_running_it_twice_creates_nothing_twice(fresh: Fresh) -> None:
    engine = await _connected(fresh)
    await setup.save_flows(engine, {"orders": True}, {})
    await setup.skip_tables(engine)
    with pytest.raises(InvalidInput, match="Dry run"):
        await setup.enable(fresh.process, engine, datetime.now(UTC).date())
    runs = await setup.dry_run(engine)
    assert len(runs) == 3 and [run.error for run in runs] == [None] * 3
    for run in runs:  # the preview runs the flow itself: the sales order it would send
        assert run.result is not None and not run.result.get("error"), run.result
        sent = run.result["payload"]
        assert sent["Description"].startswith("eAccounting order ") and sent["SalesOrderLines"], run.result
    await setup.confirm_dry_run(engine)
    assert _transferred(fresh) == []  # the dry run wrote nothing
    start = datetime.now(UTC).date() - timedelta(days=60)
    preview = await setup.backfill_preview(engine, start)
    assert preview.orders > 3 and preview.already == 0 and preview.new == preview.orders

    done = await setup.enable(fresh.process, engine, start)
    assert done["queued"]
    link = await fresh.process.link("default")
    assert link is not None and not link.paused
    state = await setup.load_state(await fresh.engine())
    assert state is not None and state.finished and state.start_date == start
    await _run_worker(fresh)
    first = _transferred(fresh)
    assert first and len(first) == len(set(first))
    after = await setup.backfill_preview(await fresh.engine(), start)
    assert after.already == len(first) and after.orders == preview.orders

    await setup.enable(fresh.process, await fresh.engine(), start)  # the back-fill again, from the same date
    await _run_worker(fresh)
    assert _transferred(fresh) == first


def test_every_key_option_the_wizard_asks_is_an_option_of_its_flow() -> None:
    flows = load_flows()
    for flow, options in setup.KEY_OPTIONS.items():
        assert flow in flows, flow
        assert set(options) <= set(flows[flow].options_model.model_fields), (flow, options)
    assert set(setup.FLOW_SENTENCES) == set(flows)  # every flow explained in a sentence
