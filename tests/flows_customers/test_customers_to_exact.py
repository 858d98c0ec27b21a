"""eAccounting customers -> Exact Online accounts, end to end, and the loop between the two directions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.flowconfig import ConfigInvalid
from flows.base import Outcome, RecordFailed
from flows.customers import CUSTOMERS_TO_EACCOUNTING, CUSTOMERS_TO_EXACT
from flows.exact_accounts import CUSTOMER_KIND
from sandbox.exact.entities import ENTITIES
from tests.harness import World, exact_calls_by_endpoint

FLOW = CUSTOMERS_TO_EXACT


def _id(outcome: Outcome) -> str:
    assert outcome.target_id is not None, outcome
    return outcome.target_id


def _ea_customer(world: World, number: str) -> dict[str, Any]:
    found = world.ea_sim.by_unique("customers", number)
    assert found is not None
    return found


def _accounts(world: World, **match: Any) -> list[dict[str, Any]]:
    rows = world.exact_sim.division().store("Accounts").records.values()
    return [a for a in rows if all(a.get(k) == v for k, v in match.items())]


def _contacts_of(world: World, account_id: str) -> list[dict[str, Any]]:
    return [c for c in world.exact_sim.division().store("Contacts").records.values() if c["Account"] == account_id]


def _edit_customer(world: World, number: str, **changes: Any) -> dict[str, Any]:
    """A user edits the customer in eAccounting (the simulator's clock moves on, so ChangedUtc does too)."""
    world.ea_sim.advance_clock(60)
    customer = _ea_customer(world, number)
    return world.ea_sim.put("customers", {**customer, **changes, "ChangedUtc": world.ea_sim.now().isoformat()})


SETTINGS = {
    "vat_code_by_country": {"NL": "2", "*": "4"},
    "revenue_account_by_country": {"NL": "8000", "*": "8100"},
}


async def test_company_gets_account_with_settings_and_contact_person(world: World) -> None:
    customer = _ea_customer(world, "1009")
    outcome = await world.run(FLOW, customer["Id"], options=SETTINGS)
    assert outcome.action == "created"
    [account] = _accounts(world, Email="inkoop@demolen.nl")
    assert outcome.target_id == account["ID"]
    assert account["Name"] == "Koffiehuis De Molen B.V."
    assert account["Status"] == "C" and account["IsSales"] is True
    assert account["Code"].strip() == "1009"
    assert account["SalesVATCode"] == "2"
    gl = next(g for g in world.exact_sim.division().store("GLAccounts").records.values() if g["Code"] == "8000")
    assert account["GLAccountSales"] == gl["ID"]
    assert "Costcenter" not in account  # not an Account field in the reference; cost centers go on document lines
    assert account["PaymentConditionSales"] == "30"  # eAccounting's 30 days -> Exact's 30-day condition
    [contact] = _contacts_of(world, account["ID"])
    assert contact["FirstName"] == "Inkoop" and contact["Email"] == "inkoop@demolen.nl"
    assert await world.engine.xref.target(CUSTOMER_KIND, customer["Id"]) == account["ID"]


async def test_private_person_gets_an_account_and_no_contact(world: World) -> None:
    customer = _ea_customer(world, "1012")
    outcome = await world.run(FLOW, customer["Id"], options=SETTINGS)
    account = world.exact_sim.division().store("Accounts").records[_id(outcome)]
    assert account["Name"] == "Jonas Weber"
    assert account["SalesVATCode"] == "4"  # the '*' entry: a country without its own code
    assert not _contacts_of(world, account["ID"])


async def test_rerun_changes_nothing_and_costs_no_exact_call(world: World) -> None:
    customer = _ea_customer(world, "1009")
    await world.run(FLOW, customer["Id"])
    world.reset_counters()
    again = await world.run(FLOW, customer["Id"])
    assert again.action == "unchanged"
    assert world.exact_calls() == 0
    assert len(_accounts(world, Email="inkoop@demolen.nl")) == 1


async def test_change_in_eaccounting_updates_the_account(world: World) -> None:
    customer = _ea_customer(world, "1009")
    created = await world.run(FLOW, customer["Id"])
    _edit_customer(world, "1009", Telephone="030-7778899", InvoiceAddress1="Oudegracht 90")
    world.reset_counters()
    outcome = await world.run(FLOW, customer["Id"])
    assert outcome.action == "updated"
    account = world.exact_sim.division().store("Accounts").records[_id(created)]
    assert account["Phone"] == "030-7778899" and account["AddressLine1"] == "Oudegracht 90"
    assert exact_calls_by_endpoint(world.exact_sim) == {"PUT crm/Accounts({id})": 1}


async def test_existing_account_is_matched_by_email(world: World) -> None:
    existing = world.exact_sim.upsert_account({"Name": "De Molen", "Email": "inkoop@demolen.nl", "Status": "C"})
    customer = _ea_customer(world, "1009")
    outcome = await world.run(FLOW, customer["Id"])
    assert outcome.action == "updated"
    assert outcome.target_id == existing["ID"]
    assert outcome.reason is not None and outcome.reason.startswith("matched Exact account")
    assert len(_accounts(world, Email="inkoop@demolen.nl")) == 1
    assert world.exact_sim.division().store("Accounts").records[existing["ID"]]["Name"] == "Koffiehuis De Molen B.V."


async def test_inactive_customer_is_skipped(world: World) -> None:
    customer = _edit_customer(world, "1010", IsActive=False)
    outcome = await world.run(FLOW, customer["Id"])
    assert outcome.action == "skipped"
    assert outcome.reason is not None and "inactive" in outcome.reason
    assert not _accounts(world, Email="sanne@example.nl")


async def test_mapping_filter_skips_with_its_reason(world: World) -> None:
    overrides = {
        "customers_eaccounting_to_exact": {
            "filters": [{"path": "IsPrivatePerson", "op": "ne", "value": True, "reason": "private persons stay out"}]
        }
    }
    outcome = await world.run(FLOW, _ea_customer(world, "1010")["Id"], mapping_overrides=overrides)
    assert outcome.action == "skipped" and outcome.reason == "private persons stay out"
    assert not _accounts(world, Email="sanne@example.nl")


async def test_unknown_revenue_account_fails_before_anything_is_written(world: World) -> None:
    customer = _ea_customer(world, "1009")
    with pytest.raises(RecordFailed, match="GL account 9999 does not exist in Exact"):
        await world.run(FLOW, customer["Id"], options={"revenue_account_by_country": {"NL": "9999"}})
    assert not _accounts(world, Email="inkoop@demolen.nl")


async def test_vat_code_exact_refuses_fails_with_exacts_message(world: World) -> None:
    customer = _ea_customer(world, "1009")
    await world.configure(FLOW, options={"vat_code_by_country": {"NL": "ZZ"}})
    assert await world.engine.run_record(FLOW.name, customer["Id"], "manual") == "failed"
    entries, _ = await world.engine.activity.query(flow=FLOW.name, source_id=customer["Id"])
    assert entries[0].reason is not None and "SalesVATCode" in entries[0].reason
    assert await world.engine.dead_letters.get(FLOW.name, customer["Id"]) is not None


async def test_disabled_by_default_so_polls_are_skipped(world: World) -> None:
    customer = _ea_customer(world, "1009")
    assert await world.engine.run_record(FLOW.name, customer["Id"], "poll") == "skipped"
    assert not _accounts(world, Email="inkoop@demolen.nl")


async def test_poll_uses_changed_utc_and_eaccountings_clock(world: World) -> None:
    ctx = world.ctx(FLOW, trigger="poll")
    assert FLOW.poll is not None
    first = [page async for page in FLOW.poll(ctx, None)]
    assert len({i for p in first for i in p.record_ids}) == 15  # the seeded customers
    cursor = first[-1].cursor
    assert cursor is not None
    edited = _edit_customer(world, "1005", Telephone="+45 1234")
    later = [page async for page in FLOW.poll(ctx, cursor)]
    assert [i for p in later for i in p.record_ids] == [edited["Id"]]
    assert later[-1].cursor is not None and later[-1].cursor > cursor


# -- both directions: no duplicates, no echo ------------------------------------------------------------------


async def test_account_created_from_eaccounting_is_not_created_back_and_its_echo_writes_nothing(world: World) -> None:
    customer = _ea_customer(world, "1009")
    to_exact = await world.run(FLOW, customer["Id"])
    before = len(world.ea_sim.table("customers"))
    world.reset_counters()
    # Exact's Accounts webhook for the account we just created (and the contact's MainContact change)
    echo = await world.run(CUSTOMERS_TO_EACCOUNTING, _id(to_exact))
    assert echo.action == "unchanged"
    assert echo.target_id == customer["Id"]
    assert len(world.ea_sim.table("customers")) == before
    assert "PUT /v2/customers/{customerId}" not in world.ea_sim.counters()["calls"]
    world.reset_counters()
    assert (await world.run(CUSTOMERS_TO_EACCOUNTING, _id(to_exact))).action == "unchanged"
    assert world.ea_calls() == 0


async def test_customer_written_from_exact_is_not_echoed_back_to_exact(world: World) -> None:
    account = next(iter(world.exact_sim.division().store("Accounts").records.values()))
    created = await world.run(CUSTOMERS_TO_EACCOUNTING, account["ID"])
    world.exact_sim.upsert_account({"Phone": "020-9"}, account["ID"])
    updated = await world.run(CUSTOMERS_TO_EACCOUNTING, account["ID"])
    assert updated.action == "updated"
    world.reset_counters()
    # eAccounting's ChangedUtc poll sees both writes; they hash as ours: no Exact call at all
    echo = await world.run(FLOW, _id(created))
    assert echo.action == "unchanged"
    assert echo.target_id == account["ID"]
    assert world.exact_calls() == 0


async def test_a_real_change_travels_each_way_once(world: World) -> None:
    customer = _ea_customer(world, "1011")
    account_id = _id(await world.run(FLOW, customer["Id"]))
    await world.run(CUSTOMERS_TO_EACCOUNTING, account_id)  # the echo settles the hashes
    world.exact_sim.clock.advance(timedelta(minutes=1).total_seconds())
    world.exact_sim.upsert_account({"Phone": "+49 40 1234"}, account_id)
    assert (await world.run(CUSTOMERS_TO_EACCOUNTING, account_id)).action == "updated"
    assert _ea_customer(world, "1011")["Telephone"] == "+49 40 1234"
    world.reset_counters()
    back = await world.run(FLOW, customer["Id"])
    assert back.action == "unchanged"
    assert world.exact_calls() == 0
    _edit_customer(world, "1011", Telephone="+49 40 9999")
    assert (await world.run(FLOW, customer["Id"])).action == "updated"
    assert world.exact_sim.division().store("Accounts").records[account_id]["Phone"] == "+49 40 9999"
    world.reset_counters()
    # the Accounts webhook of that write: the customer already says so, nothing is written back
    assert (await world.run(CUSTOMERS_TO_EACCOUNTING, account_id)).action == "unchanged"
    assert "PUT /v2/customers/{customerId}" not in world.ea_sim.counters()["calls"]


async def test_create_that_died_before_its_link_is_found_again_by_code(world: World) -> None:
    customer = _ea_customer(world, "1013")
    await world.engine.xref.begin(CUSTOMER_KIND, customer["Id"])
    earlier = await world.exact.create_account({"Name": "Espressobaren i Malmö AB", "Code": "1013", "Status": "C"})
    outcome = await world.run(FLOW, customer["Id"], options={"match_by": "none"})
    assert outcome.target_id == earlier.id
    assert outcome.reason == "matched Exact account 1013 by code 1013"
    assert len([a for a in _accounts(world) if a["Code"].strip() == "1013"]) == 1


async def test_deleted_linked_account_fails_clearly_and_a_retry_recreates_it(world: World) -> None:
    customer = _ea_customer(world, "1005")
    account_id = _id(await world.run(FLOW, customer["Id"]))
    world.exact_sim.engine.delete(world.exact_sim.division(), ENTITIES["Accounts"], account_id)  # a user deletes it
    _edit_customer(world, "1005", Telephone="+45 7000")
    with pytest.raises(RecordFailed, match=f"the linked Exact account {account_id} no longer exists"):
        await world.run(FLOW, customer["Id"])
    assert await world.engine.xref.target(CUSTOMER_KIND, customer["Id"]) is None
    again = await world.run(FLOW, customer["Id"])
    assert again.action == "created" and again.target_id != account_id


async def test_a_cost_center_per_country_is_refused_naming_where_cost_centers_go(world: World) -> None:
    """Exact's crm/Accounts has no cost center (the reference lists none; Exact refuses the property): the option is
    refused with a 422 that says cost centers go on the document lines the orders flow writes."""
    with pytest.raises(ConfigInvalid) as refused:
        world.ctx(FLOW, options={"cost_center_by_country": {"*": "200"}})
    assert "cost_center_by_country" in str(refused.value.errors) and "lines" in str(refused.value.errors)
