"""Exact Online accounts -> eAccounting customers, end to end: Exact simulator -> real connectors -> flow ->
eAccounting simulator. Counts come from the simulators' own counters and stores."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.flowconfig import ConfigInvalid, resolve
from flows.base import Outcome, RecordFailed
from flows.customers import CUSTOMERS_TO_EACCOUNTING, CUSTOMERS_TO_EXACT
from flows.customers_options import ACCOUNT_KIND
from flows.exact_accounts import CUSTOMER_KIND
from flows.registry import load_flows
from sandbox.exact.entities import ENTITIES
from tests.harness import World, ea_calls_by_endpoint, exact_calls_by_endpoint

FLOW = CUSTOMERS_TO_EACCOUNTING


def _id(outcome: Outcome) -> str:
    assert outcome.target_id is not None, outcome
    return outcome.target_id


def _seeded(world: World, name: str) -> dict[str, Any]:
    return next(a for a in world.exact_sim.division().store("Accounts").records.values() if a["Name"] == name)


def _customers(world: World, **match: Any) -> list[dict[str, Any]]:
    rows = world.ea_sim.table("customers").values()
    return [c for c in rows if all(c.get(k) == v for k, v in match.items())]


def _terms_days(world: World, terms_id: str) -> int:
    return int(world.ea_sim.get("termsofpayments", terms_id)["NumberOfDays"])


def _new_account(world: World, **fields: Any) -> dict[str, Any]:
    base = {
        "Name": "Koffiebranderij Noord B.V.",
        "Status": "C",
        "IsSales": True,
        "Email": "inkoop@branderijnoord.nl",
        "AddressLine1": "Havenweg 3",
        "Postcode": "9711 AA",
        "City": "Groningen",
        "Country": "NL",
        "VATNumber": "NL001234567B01",
        "ChamberOfCommerce": "01234567",
        "PaymentConditionSales": "30",
    }
    return world.exact_sim.upsert_account({**base, **fields})


def test_both_directions_are_registered_and_only_exact_to_eaccounting_runs_by_default() -> None:
    flows = load_flows()
    assert flows["customers_to_eaccounting"] is CUSTOMERS_TO_EACCOUNTING
    assert flows["customers_to_exact"] is CUSTOMERS_TO_EXACT
    assert CUSTOMERS_TO_EACCOUNTING.enabled_by_default and not CUSTOMERS_TO_EXACT.enabled_by_default
    assert CUSTOMERS_TO_EACCOUNTING.webhook_topics == ("Accounts",)
    assert CUSTOMERS_TO_EACCOUNTING.source == "exact" and CUSTOMERS_TO_EXACT.source == "eaccounting"


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigInvalid, match=r"options\.match_on"):
        resolve(FLOW, {"options": {"match_on": "email"}})


async def test_company_is_created_with_terms_and_main_contact(world: World) -> None:
    account = _new_account(world)
    contact = await world.exact.create_contact(
        {"Account": account["ID"], "FirstName": "Joost", "LastName": "Bakker", "Email": "joost@branderijnoord.nl"}
    )
    world.exact_sim.upsert_account({"MainContact": contact.id}, account["ID"])
    outcome = await world.run(FLOW, account["ID"])
    assert outcome.action == "created"
    [customer] = _customers(world, EmailAddress="inkoop@branderijnoord.nl")
    assert outcome.target_id == customer["Id"]
    assert customer["IsPrivatePerson"] is False
    assert customer["VatNumber"] == "NL001234567B01"
    assert customer["CorporateIdentityNumber"] == "01234567"
    assert customer["CustomerNumber"] == account["Code"].strip()
    assert customer["ContactPersonName"] == "Joost Bakker"
    assert customer["ContactPersonEmail"] == "joost@branderijnoord.nl"
    assert _terms_days(world, customer["TermsOfPaymentId"]) == 30  # Exact condition "30" matched by its days
    assert await world.engine.xref.source(CUSTOMER_KIND, account["ID"]) == customer["Id"]


async def test_account_without_vat_or_coc_becomes_private_person_without_contact_call(world: World) -> None:
    account = _seeded(world, "Koffiebar De Boon")
    world.reset_counters()
    outcome = await world.run(FLOW, account["ID"])
    assert outcome.action == "created"
    customer = world.ea_sim.get("customers", _id(outcome))
    assert customer["IsPrivatePerson"] is True
    assert customer["Name"] == "Koffiebar De Boon"
    assert not customer.get("ContactPersonName")
    assert not any("Contacts" in route for route in exact_calls_by_endpoint(world.exact_sim))


async def test_rerun_changes_nothing_and_costs_no_eaccounting_call(world: World) -> None:
    account = _seeded(world, "Hotel Amstel Zuid")
    first = await world.run(FLOW, account["ID"])
    assert first.action == "created"
    world.reset_counters()
    again = await world.run(FLOW, account["ID"])
    assert again.action == "unchanged"
    assert again.reason == "no mapped field changed since the last sync"
    assert world.ea_calls() == 0
    assert len(_customers(world, EmailAddress="inkoop@hotelamstelzuid.nl")) == 1


async def test_change_in_exact_updates_the_customer_and_keeps_fields_set_in_eaccounting(world: World) -> None:
    account = _seeded(world, "Hotel Amstel Zuid")
    created = await world.run(FLOW, account["ID"])
    # A field the mapping does not know, set by a user in eAccounting, must survive the whole-object PUT.
    bring = next(m for m in world.ea_sim.table("deliverymethods").values() if m["Code"] == "DHLP")
    world.ea_sim.put("customers", {**world.ea_sim.get("customers", _id(created)), "DeliveryMethodId": bring["Id"]})
    world.exact_sim.upsert_account({"Phone": "020-5550101", "City": "Amstelveen"}, account["ID"])
    world.reset_counters()
    outcome = await world.run(FLOW, account["ID"])
    assert outcome.action == "updated"
    assert outcome.reason == "linked customer; changed InvoiceCity, Telephone"
    customer = world.ea_sim.get("customers", _id(created))
    assert customer["Telephone"] == "020-5550101"
    assert customer["InvoiceCity"] == "Amstelveen"
    assert customer["DeliveryMethodId"] == bring["Id"]
    assert ea_calls_by_endpoint(world.ea_sim).get("PUT /v2/customers/{customerId}") == 1


async def test_change_of_an_unmapped_exact_field_writes_nothing(world: World) -> None:
    account = _seeded(world, "Hotel Amstel Zuid")
    await world.run(FLOW, account["ID"])
    world.exact_sim.upsert_account({"Language": "EN", "SearchCode": "HOTEL"}, account["ID"])
    world.reset_counters()
    outcome = await world.run(FLOW, account["ID"])
    assert outcome.action == "unchanged"
    assert world.ea_calls() == 0


async def test_existing_customer_is_matched_by_email_not_duplicated(world: World) -> None:
    before = len(_customers(world))
    account = _new_account(world, Email="INKOOP@demolen.nl", Phone="030-2223344")
    outcome = await world.run(FLOW, account["ID"])
    [customer] = _customers(world, CustomerNumber="1009")
    assert outcome.action == "updated"
    assert outcome.target_id == customer["Id"]
    assert outcome.reason is not None and outcome.reason.startswith("matched eAccounting customer 1009 by e-mail")
    assert customer["Telephone"] == "030-2223344"
    assert len(_customers(world)) == before
    assert await world.engine.xref.target(CUSTOMER_KIND, customer["Id"]) == account["ID"]


async def test_match_by_customer_number_when_configured(world: World) -> None:
    account = _new_account(world, Code="1011", Email="new-address@muller.de")
    outcome = await world.run(FLOW, account["ID"], options={"match_by": "customer_number"})
    [customer] = _customers(world, CustomerNumber="1011")
    assert outcome.target_id == customer["Id"]
    assert customer["EmailAddress"] == "new-address@muller.de"


async def test_match_by_none_creates_even_with_a_known_email(world: World) -> None:
    account = _new_account(world, Email="inkoop@demolen.nl")
    outcome = await world.run(FLOW, account["ID"], options={"match_by": "none"})
    assert outcome.action == "created"
    assert len(_customers(world, EmailAddress="inkoop@demolen.nl")) == 2


async def test_non_customer_account_is_filtered_with_the_mappings_reason(world: World) -> None:
    account = _new_account(world, Status="P")
    before = len(_customers(world))
    outcome = await world.run(FLOW, account["ID"])
    assert outcome.action == "skipped"
    assert outcome.reason == "account is not a customer (Status is not 'C')"
    assert len(_customers(world)) == before


async def test_blocked_account_is_skipped_unless_configured(world: World) -> None:
    account = _new_account(world, Blocked=True)
    skipped = await world.run(FLOW, account["ID"])
    assert skipped.action == "skipped"
    assert skipped.reason is not None and "blocked" in skipped.reason
    created = await world.run(FLOW, account["ID"], options={"skip_blocked": False})
    assert created.action == "created"
    assert world.ea_sim.get("customers", _id(created))["IsActive"] is False


async def test_payment_terms_from_options_and_company_default(world: World) -> None:
    fourteen = _new_account(world, Email="a@example.nl", PaymentConditionSales="14")
    default = await world.run(FLOW, fourteen["ID"])
    # eAccounting has no 14-day terms: the company's default terms (30 days in the demo company)
    assert _terms_days(world, world.ea_sim.get("customers", _id(default))["TermsOfPaymentId"]) == 30
    other = _new_account(world, Email="b@example.nl", PaymentConditionSales="14")
    mapped = await world.run(FLOW, other["ID"], options={"terms_of_payment_by_condition": {"14": "8"}})
    assert _terms_days(world, world.ea_sim.get("customers", _id(mapped))["TermsOfPaymentId"]) == 8


async def test_bad_terms_option_fails_naming_it(world: World) -> None:
    account = _new_account(world)
    with pytest.raises(RecordFailed, match=r"terms_of_payment_by_condition\['30'\]: eAccounting has no terms"):
        await world.run(FLOW, account["ID"], options={"terms_of_payment_by_condition": {"30": "45"}})


async def test_custom_field_through_a_mapping_override(world: World) -> None:
    account = _new_account(world, SearchCode="7300000000017")
    overrides = {"customers_exact_to_eaccounting": {"fields": {"GLN": {"source": "SearchCode"}}}}
    outcome = await world.run(FLOW, account["ID"], mapping_overrides=overrides)
    assert world.ea_sim.get("customers", _id(outcome))["GLN"] == "7300000000017"


async def test_country_eaccounting_does_not_know_fails_with_its_message_in_the_activity_log(world: World) -> None:
    account = _new_account(world, Country="CH", City="Zürich", Postcode="8001")
    result = await world.engine.run_record(FLOW.name, account["ID"], "webhook")
    assert result == "failed"
    entries, _ = await world.engine.activity.query(flow=FLOW.name, source_id=account["ID"])
    assert entries[0].outcome == "failed"
    assert (
        entries[0].reason is not None
        and "The country code 'CH' in InvoiceCountryCode is not valid" in entries[0].reason
    )
    assert entries[0].target_payload["InvoiceCountryCode"] == "CH"
    assert not _customers(world, EmailAddress="inkoop@branderijnoord.nl")


async def test_webhook_trigger_through_the_engine_creates_then_reports_unchanged(world: World) -> None:
    account = _seeded(world, "Brasserie du Sablon")
    assert await world.engine.run_record(FLOW.name, account["ID"], "webhook") == "created"
    assert await world.engine.run_record(FLOW.name, account["ID"], "webhook") == "unchanged"
    entries, _ = await world.engine.activity.query(flow=FLOW.name, source_id=account["ID"])
    assert [e.outcome for e in entries] == ["unchanged", "created"]
    assert len(_customers(world, EmailAddress="claire@brasseriedusablon.be")) == 1


async def test_poll_lists_changed_accounts_with_their_rows_and_advances_the_cursor(world: World) -> None:
    ctx = world.ctx(FLOW, trigger="poll")
    assert FLOW.poll is not None
    pages = [page async for page in FLOW.poll(ctx, None)]
    ids = {i for page in pages for i in page.record_ids}
    assert len(ids) == 5  # the seeded accounts
    assert all(page.payloads[i]["Name"] for page in pages for i in page.record_ids)
    cursor = pages[-1].cursor
    assert cursor is not None
    assert [i for page in [p async for p in FLOW.poll(ctx, cursor)] for i in page.record_ids] == []
    changed = _seeded(world, "Hotel Amstel Zuid")
    world.exact_sim.upsert_account({"Phone": "020-1"}, changed["ID"])
    later = [i for page in [p async for p in FLOW.poll(ctx, cursor)] for i in page.record_ids]
    assert later == [changed["ID"]]
    # the stashed row is what a poll-triggered job maps: no fetch
    outcome = await FLOW.handle(ctx, pages[0].payloads[pages[0].record_ids[0]])
    assert outcome.action == "created"


async def test_deleted_linked_customer_fails_clearly_and_a_retry_recreates_it(world: World) -> None:
    account = _seeded(world, "Hotel Amstel Zuid")
    created = await world.run(FLOW, account["ID"])
    world.ea_sim.remove("customers", _id(created))
    world.exact_sim.upsert_account({"Phone": "020-2"}, account["ID"])
    with pytest.raises(RecordFailed, match="no longer exists; the link was removed"):
        await world.run(FLOW, account["ID"])
    assert await world.engine.xref.target(ACCOUNT_KIND, account["ID"]) is None
    assert await world.engine.xref.source(CUSTOMER_KIND, account["ID"]) is None
    again = await world.run(FLOW, account["ID"])
    assert again.action == "created" and again.target_id != created.target_id


async def test_seeded_demo_accounts_sync_cleanly_through_poll_and_engine(world: World) -> None:
    """What `make run` does with this flow: poll the seeded division, run every record as a poll job."""
    assert FLOW.poll is not None
    ctx = world.ctx(FLOW, trigger="poll")
    ids = [i for page in [p async for p in FLOW.poll(ctx, None)] for i in page.record_ids]
    outcomes = [await world.engine.run_record(FLOW.name, i, "poll") for i in ids]
    assert outcomes == ["created"] * 5
    again = [await world.engine.run_record(FLOW.name, i, "poll") for i in ids]
    assert again == ["unchanged"] * 5
    assert await world.engine.dead_letters.list(FLOW.name) == []


async def test_create_that_died_before_its_link_is_found_again_not_duplicated(world: World) -> None:
    account = _new_account(world, Code="4711", Email="")
    # An earlier run recorded its intent, created the customer, and died before link().
    await world.engine.xref.begin(ACCOUNT_KIND, account["ID"])
    earlier = await world.ea.create_customer(
        {
            "Name": "Koffiebranderij Noord B.V.",
            "CustomerNumber": "4711",
            "InvoiceCity": "Groningen",
            "InvoicePostalCode": "9711 AA",
            "TermsOfPaymentId": next(iter(world.ea_sim.table("termsofpayments"))),
            "IsPrivatePerson": False,
            "IsActive": True,
        }
    )
    outcome = await world.run(FLOW, account["ID"], options={"match_by": "none"})
    assert outcome.target_id == earlier.id
    assert outcome.reason is not None and "by customer number 4711" in outcome.reason
    assert len(_customers(world, CustomerNumber="4711")) == 1
    assert not await world.engine.xref.pending(ACCOUNT_KIND, account["ID"])


async def test_linked_customer_carries_the_profile_the_orders_flow_reads(world: World) -> None:
    account = _new_account(world)
    outcome = await world.run(FLOW, account["ID"])
    profile = json.loads(await world.engine.xref.last_value(CUSTOMER_KIND, _id(outcome)) or "{}")
    assert profile["VatNumber"] == "NL001234567B01"
    assert profile["IsPrivatePerson"] is False
    assert profile["InvoiceCountryCode"] == "NL"
    assert profile["TermsDays"] == 30


# -- match by VAT number: the index holds ids, the customer written is read fresh --------------------------------

VAT = {"match_by": "vat_number"}
DE_MOLEN_VAT = "NL856712345B01"  # eAccounting customer 1009's VAT number (seeded)


async def _warm_vat_index(world: World) -> None:
    """A first account matched by VAT number reads the index (every eAccounting customer) into the cache."""
    first = _new_account(world, Email="first@example.nl", VATNumber="NL009999999B01", Code="4001")
    assert (await world.run(FLOW, first["ID"], options=VAT)).action == "created"


async def test_vat_match_writes_onto_the_customer_as_it_is_now_not_as_indexed(world: World) -> None:
    await _warm_vat_index(world)
    # Meanwhile a user edits customer 1009 in eAccounting: a delivery method and a phone number.
    bring = next(m for m in world.ea_sim.table("deliverymethods").values() if m["Code"] == "DHLP")
    [customer] = _customers(world, CustomerNumber="1009")
    world.ea_sim.put("customers", {**customer, "DeliveryMethodId": bring["Id"], "Telephone": "030-1112233"})
    account = _new_account(world, Email="", VATNumber=DE_MOLEN_VAT, Code="4002", City="Utrecht")
    world.reset_counters()
    outcome = await world.run(FLOW, account["ID"], options=VAT)
    assert outcome.target_id == customer["Id"]
    assert outcome.reason is not None and outcome.reason.startswith("matched eAccounting customer 1009 by VAT number")
    written = world.ea_sim.get("customers", customer["Id"])
    assert written["DeliveryMethodId"] == bring["Id"]  # the PUT replaced the customer with its current self
    assert written["Telephone"] == "030-1112233"
    assert written["InvoiceCity"] == "Utrecht"
    calls = ea_calls_by_endpoint(world.ea_sim)
    # The customer as it is now, then the PUT. The one list call is that read (`$filter=Id eq …`: the by-id GET is
    # typed only `object` in the description); the index itself was not read again (that would be a second).
    assert calls.get("GET /v2/customers") == 1 and calls.get("PUT /v2/customers/{customerId}") == 1


async def test_customer_created_for_a_vat_number_is_found_by_the_next_account_with_it(world: World) -> None:
    await _warm_vat_index(world)
    vat = "BE0123456789"
    one = _new_account(world, Email="gent@example.be", VATNumber=vat, Code="4003", Country="BE")
    created = await world.run(FLOW, one["ID"], options=VAT)
    assert created.action == "created"
    # A second Exact account with the same VAT number (a duplicate in Exact) finds that customer, not a new one.
    two = _new_account(world, Email="brussel@example.be", VATNumber=vat, Code="4004", Country="BE")
    with pytest.raises(RecordFailed, match=f"is already linked to Exact account {one['ID']}"):
        await world.run(FLOW, two["ID"], options=VAT)
    assert len(_customers(world, VatNumber=vat)) == 1


async def test_customer_whose_vat_number_changed_since_indexing_is_not_matched_by_the_old_one(world: World) -> None:
    await _warm_vat_index(world)
    [customer] = _customers(world, CustomerNumber="1009")
    world.ea_sim.put("customers", {**customer, "VatNumber": "NL000799027202"})  # corrected in eAccounting
    account = _new_account(world, Email="", VATNumber=DE_MOLEN_VAT, Code="4005")
    outcome = await world.run(FLOW, account["ID"], options=VAT)
    assert outcome.action == "created" and outcome.target_id != customer["Id"]
    assert world.ea_sim.get("customers", customer["Id"])["VatNumber"] == "NL000799027202"


async def test_customer_deleted_since_indexing_is_not_matched(world: World) -> None:
    await _warm_vat_index(world)
    [customer] = _customers(world, CustomerNumber="1009")
    world.ea_sim.remove("customers", customer["Id"])
    account = _new_account(world, Email="", VATNumber=DE_MOLEN_VAT, Code="4006")
    outcome = await world.run(FLOW, account["ID"], options=VAT)
    assert outcome.action == "created"
    assert len(_customers(world, VatNumber=DE_MOLEN_VAT)) == 1


# -- records that are gone cost no 404: Exact allows 10 errors an hour per endpoint, then blocks the app -------------


def _errors(world: World) -> dict[str, int]:
    by_status: dict[str, int] = world.exact_sim.counters()["by_status"]
    return {status: n for status, n in by_status.items() if status.startswith("4")}


async def test_webhook_of_a_deleted_account_is_skipped_without_a_404(world: World) -> None:
    account = _new_account(world)
    world.exact_sim.engine.delete(world.exact_sim.division(), ENTITIES["Accounts"], account["ID"])
    world.reset_counters()
    for _ in range(3):  # Exact sends a webhook per change; each used to spend one error of the budget
        assert await world.engine.run_record(FLOW.name, account["ID"].lower(), "webhook") == "skipped"
    assert _errors(world) == {}
    assert not _customers(world, EmailAddress="inkoop@branderijnoord.nl")


async def test_main_contact_deleted_meanwhile_costs_no_404(world: World) -> None:
    account = _new_account(world)
    contact = await world.exact.create_contact({"Account": account["ID"], "FirstName": "Joost", "LastName": "Bakker"})
    world.exact_sim.upsert_account({"MainContact": contact.id}, account["ID"])
    world.exact_sim.engine.delete(world.exact_sim.division(), ENTITIES["Contacts"], contact.id)
    world.reset_counters()
    outcome = await world.run(FLOW, account["ID"])
    assert outcome.action == "created"
    assert not world.ea_sim.get("customers", _id(outcome)).get("ContactPersonName")
    assert _errors(world) == {}
