"""Every string, list and table in a flow's options is bounded, and per-country tables are keyed by ISO 3166-1
alpha-2 codes (issue 18): what the API refuses is a 422 naming the field (the old config stays), lower-case codes
are stored upper-case so the config reads back as every reader sees it, a config stored before these rules that
breaks them shows as invalid and fails its runs visibly, and the shipped defaults and the demo's countries pass."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi.testclient import TestClient

from app.flowconfig import default_config, resolve
from app.main import create_app
from app.services import setup
from app.services.errors import InvalidInput
from app.settings import DEMO_ADMIN_TOKEN, Settings
from connectors.keys import Keys
from flows.countries import ISO_3166_ALPHA2
from flows.customers import CUSTOMERS_TO_EXACT
from flows.limits import MAX_ENTRIES
from flows.registry import load_flows
from sandbox.catalogue import EU_RATES
from tests.console.pages import csrf, signed_in
from tests.engine.conftest import running_api
from tests.harness import World, offline_engine

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
# What each flow holds before a refused PUT: the refusal must leave exactly this in place.
BEFORE: dict[str, dict[str, Any]] = {
    "orders": {"vat_code_by_country": {"BE": "4"}, "default_debtor_code": "1009"},
    "customers_to_exact": {"vat_code_by_country": {"NL": "2", "*": "4"}},
    "customers_to_eaccounting": {"terms_of_payment_by_condition": {"30": "30"}},
    "products": {"label_by_item_group": {"COFFEE": "Coffee"}},
    "shipments": {"not_delivered_items": ["SHIPPING"]},
    "stock": {"warehouses": ["1"]},
}


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["detail"]]


def _many(prefix: str, count: int = MAX_ENTRIES + 1) -> dict[str, str]:
    return {f"{prefix}{n}": "x" for n in range(count)}


REFUSED: list[tuple[str, dict[str, Any], list[Any]]] = [
    # Strings longer than the field they go to (the reference's length) or than the generous 200 elsewhere.
    ("orders", {"default_debtor_code": "1" * 19}, ["options", "default_debtor_code"]),  # Exact account Code: 18
    ("orders", {"shipping_article_number": "A" * 41}, ["options", "shipping_article_number"]),  # article Number 40
    ("orders", {"journal_code": "J" * 201}, ["options", "journal_code"]),
    ("orders", {"vat_code_by_country": {"NL": "V" * 201}}, ["options", "vat_code_by_country", "NL"]),
    (
        "orders",
        {"payment_condition_by_terms": {"3" * 37: "30"}},
        ["options", "payment_condition_by_terms", "3" * 37, "[key]"],
    ),
    ("customers_to_eaccounting", {"default_terms_of_payment": "9" * 37}, ["options", "default_terms_of_payment"]),
    ("products", {"label_by_item_group": {"COFFEE": "L" * 51}}, ["options", "label_by_item_group", "COFFEE"]),
    ("products", {"item_groups": ["G" * 201]}, ["options", "item_groups", 0]),
    ("products", {"default_unit": "U" * 201}, ["options", "default_unit"]),
    (
        "shipments",
        {"delivery_method_by_shipping_method": {"DHL": "D" * 21}},
        ["options", "delivery_method_by_shipping_method", "DHL"],
    ),
    ("shipments", {"note_template": "x" * 2001}, ["options", "note_template"]),  # order row Text: 2000
    ("stock", {"warehouses": ["W" * 201]}, ["options", "warehouses", 0]),
    ("orders", {"mapping": "m" * 201}, ["mapping"]),
    # Tables and lists with more than 500 entries: one error for the whole table.
    ("products", {"unit_by_code": _many("U")}, ["options", "unit_by_code"]),
    ("shipments", {"not_delivered_items": list(_many("I"))}, ["options", "not_delivered_items"]),
    ("orders", {"statuses": [2] * (MAX_ENTRIES + 1)}, ["options", "statuses"]),
    ("customers_to_exact", {"payment_condition_by_terms": _many("T")}, ["options", "payment_condition_by_terms"]),
    # Country keys: two letters that ISO assigns; `*` only where a table takes it (the customers flow's).
    ("orders", {"vat_code_by_country": {"XX": "2"}}, ["options", "vat_code_by_country", "XX", "[key]"]),
    ("orders", {"vat_code_by_country": {"NLD": "2"}}, ["options", "vat_code_by_country", "NLD", "[key]"]),
    ("orders", {"vat_code_by_country": {"": "2"}}, ["options", "vat_code_by_country", "", "[key]"]),
    ("orders", {"vat_code_by_country": {"*": "2"}}, ["options", "vat_code_by_country", "*", "[key]"]),
    ("orders", {"vat_code_by_country": {"EL": "2"}}, ["options", "vat_code_by_country", "EL", "[key]"]),
    ("orders", {"vat_code_by_country": {"nl": "2", "NL": "2"}}, ["options", "vat_code_by_country"]),
    ("orders", {"home_country": "NLD"}, ["options", "home_country"]),
    ("orders", {"home_country": "XX"}, ["options", "home_country"]),
    ("customers_to_exact", {"vat_code_by_country": {"XX": "2"}}, ["options", "vat_code_by_country", "XX", "[key]"]),
    (
        "customers_to_exact",
        {"revenue_account_by_country": {"NLD": "8000"}},
        ["options", "revenue_account_by_country", "NLD", "[key]"],
    ),
    (
        "customers_to_exact",
        {"revenue_account_by_country": {"": "8000"}},
        ["options", "revenue_account_by_country", "", "[key]"],
    ),
    (
        "customers_to_exact",
        {"cost_center_by_country": {"ZZ": "100"}},
        ["options", "cost_center_by_country", "ZZ", "[key]"],
    ),
]


@pytest.mark.parametrize("prefix", ["", "/links/default"])
@pytest.mark.parametrize(("flow", "change", "loc"), REFUSED)
async def test_a_value_the_options_cannot_hold_is_422_naming_it_and_the_old_config_stays(
    api: httpx.AsyncClient, flow: str, change: dict[str, Any], loc: list[Any], prefix: str
) -> None:
    path = f"{prefix}/flows/{flow}/config"
    assert (await api.put(path, json={"options": BEFORE[flow]})).status_code == 200
    before = (await api.get(path)).json()
    top = {k: v for k, v in change.items() if k == "mapping"}
    options = {**BEFORE[flow], **{k: v for k, v in change.items() if k != "mapping"}}
    answer = await api.put(path, json={**top, "options": options})
    assert answer.status_code == 422, answer.text
    assert _locs(answer) == [loc]
    after = (await api.get(path)).json()
    assert after["valid"] is True and after["version"] == before["version"]
    assert after["config"] == before["config"]


async def test_a_table_too_large_is_one_error_however_bad_its_entries(api: httpx.AsyncClient) -> None:
    table = {f"X{n:04d}": "2" for n in range(MAX_ENTRIES + 1)}  # each key is no country code either
    answer = await api.put("/flows/orders/config", json={"options": {"vat_code_by_country": table}})
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["options", "vat_code_by_country"] and "at most 500 entries" in error["msg"]


async def test_values_at_their_bounds_are_stored_and_read_back_as_written(api: httpx.AsyncClient) -> None:
    options = {
        "default_debtor_code": "1" * 18,
        "shipping_article_number": "A" * 40,
        "journal_code": "J" * 200,
        "payment_condition_by_terms": {f"{n}": "30" for n in range(MAX_ENTRIES - 1)} | {"9" * 36: "30"},
        "vat_code_by_country": dict.fromkeys(sorted(ISO_3166_ALPHA2), "2"),
    }
    answer = await api.put("/flows/orders/config", json={"options": options})
    assert answer.status_code == 200, answer.text[:500]
    read = (await api.get("/flows/orders/config")).json()
    assert read["valid"] is True and read["version"] == answer.json()["version"]
    assert read["config"]["options"] == options


async def test_lower_case_country_codes_are_stored_upper_case_and_read_back_identical(
    api: httpx.AsyncClient, redis: ArqRedis, settings: Settings
) -> None:
    body = {"options": {"vat_code_by_country": {"be": "4", "De": "5"}, "home_country": "nl"}}
    answer = await api.put("/flows/orders/config", json=body)
    assert answer.status_code == 200, answer.text
    stored = json.loads(await redis.get(Keys.of(settings).for_link("default").flow_config("orders")))
    assert stored["options"] == {"vat_code_by_country": {"BE": "4", "DE": "5"}, "home_country": "NL"}
    read = (await api.get("/flows/orders/config")).json()
    assert read["config"] == answer.json()["config"] == stored
    assert read["options"]["vat_code_by_country"] == {"BE": "4", "DE": "5"} and read["options"]["home_country"] == "NL"
    again = await api.put("/flows/orders/config", json=read["config"])  # what was read back stores as it was
    assert again.json()["version"] == read["version"] == answer.json()["version"]
    customers = await api.put(
        "/flows/customers_to_exact/config", json={"options": {"vat_code_by_country": {"*": "4", "be": "4"}}}
    )
    assert customers.json()["config"]["options"]["vat_code_by_country"] == {"*": "4", "BE": "4"}


async def test_the_options_schema_states_the_bounds(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/flows/orders/config")).json()["options_schema"]["properties"]
    assert schema["default_debtor_code"]["anyOf"][0]["maxLength"] == 18
    assert schema["vat_code_by_country"]["maxProperties"] == MAX_ENTRIES
    assert schema["vat_code_by_country"]["additionalProperties"]["maxLength"] == 200


async def test_a_stored_config_that_breaks_the_rules_shows_invalid_and_its_runs_fail_visibly(world: World) -> None:
    # Written before these rules (or by hand): a key that is no country and a code longer than the field.
    keys = world.engine.keys
    bad = {"options": {"vat_code_by_country": {"XX": "2", "NL": "2"}, "revenue_account_by_country": {"NL": "8" * 300}}}
    await world.redis.set(keys.flow_config(CUSTOMERS_TO_EXACT.name), json.dumps(bad))
    app = create_app(world.settings, configure_logs=False, http=world.http)
    async with running_api(app) as api:
        api.headers.update(AUTH)
        read = (await api.get("/flows/customers_to_exact/config")).json()
        listed = {f["name"]: f for f in (await api.get("/flows")).json()}
    assert read["valid"] is False and read["config"] == bad
    assert {tuple(e["loc"]) for e in read["errors"]} == {
        ("options", "vat_code_by_country", "XX", "[key]"),
        ("options", "revenue_account_by_country", "NL"),
    }
    assert listed["customers_to_exact"]["enabled"] is None
    assert "vat_code_by_country.XX" in listed["customers_to_exact"]["config_error"]
    customer = world.ea_sim.by_unique("customers", "1009")
    assert customer is not None
    assert await world.engine.run_record(CUSTOMERS_TO_EXACT.name, customer["Id"], "manual") == "failed"
    entries, _ = await world.engine.activity.query(flow=CUSTOMERS_TO_EXACT.name, source_id=customer["Id"])
    assert entries[0].outcome == "failed" and entries[0].reason is not None
    assert "vat_code_by_country.XX" in entries[0].reason
    accounts = world.exact_sim.division().store("Accounts").records.values()
    assert not [a for a in accounts if a.get("Email") == "inkoop@demolen.nl"]  # nothing written


async def test_lower_case_codes_work_in_a_run_as_upper_case(world: World) -> None:
    await world.configure(
        CUSTOMERS_TO_EXACT, options={"vat_code_by_country": {"nl": "2", "*": "4"}, "revenue_account_by_country": {}}
    )
    customer = world.ea_sim.by_unique("customers", "1009")
    assert customer is not None
    assert await world.engine.run_record(CUSTOMERS_TO_EXACT.name, customer["Id"], "manual") == "created"
    [account] = [
        a
        for a in world.exact_sim.division().store("Accounts").records.values()
        if a.get("Email") == "inkoop@demolen.nl"
    ]
    assert account["SalesVATCode"] == "2"


def test_every_default_config_and_the_demo_countries_pass() -> None:
    for definition in load_flows().values():
        resolved = resolve(definition, default_config(definition))
        assert resolved.config.options == default_config(definition)["options"]
    assert set(EU_RATES) <= ISO_3166_ALPHA2  # the simulators' (and demo's) countries
    orders = load_flows()["orders"]
    resolve(orders, {"options": {"vat_code_by_country": dict.fromkeys(EU_RATES, "2")}})
    assert len(ISO_3166_ALPHA2) == 249 and all(len(c) == 2 and c.isupper() for c in ISO_3166_ALPHA2)


async def test_the_setup_tables_step_refuses_a_code_too_long_before_asking_exact(
    settings: Settings, redis: ArqRedis
) -> None:
    async with offline_engine(settings, redis) as (engine, asked):
        with pytest.raises(InvalidInput) as refused:
            await setup.save_tables(
                engine,
                vat={},
                payment={"3" * 37: "30"},
                shipping={},
                cost_centers={},
                default_debtor="1" * 19,
                shipping_item="S" * 201,
                rounding_item="ROUNDING",
            )
        assert sorted(e["loc"] for e in refused.value.detail) == [
            ["default_debtor"],
            ["payment", "3" * 37, "[key]"],
            ["shipping_item"],
        ]
        assert asked == []
        orders_key = Keys.of(settings).for_link("default").flow_config("orders")
        await redis.set(orders_key, '{"options": {"home_country": "XX"}}')  # stored before the rules
        with pytest.raises(InvalidInput, match="stored config is invalid"):
            await setup.reference_tables(engine)


async def test_the_console_settings_form_marks_the_field_at_fault(settings: Settings, redis: ArqRedis) -> None:
    page = "/console/flows/customers_to_exact"
    with TestClient(create_app(settings, configure_logs=False)) as client:
        token = signed_in(client, page, "Settings")
        form = {"csrf": token, "field:vat_code_by_country": "", "opt:vat_code_by_country": '{"NL": "2", "XX": "4"}'}
        refused = client.post(f"{page}/options", data=form)
        assert refused.status_code == 422
        assert "XX is not an ISO 3166-1 alpha-2 country code" in refused.text
        assert (client.get("/flows/customers_to_exact/config", headers=AUTH)).json()["config"]["options"] == {}
        saved = client.post(
            f"{page}/options",
            data={**form, "csrf": csrf(refused.text), "opt:vat_code_by_country": '{"nl": "2"}'},
            follow_redirects=True,
        )
        assert saved.status_code == 200 and "Settings saved" in saved.text
        stored = (client.get("/flows/customers_to_exact/config", headers=AUTH)).json()["config"]["options"]
        assert stored == {"vat_code_by_country": {"NL": "2"}}
        assert '"NL": "2"' in client.get(page).text.replace("&#34;", '"').replace("&quot;", '"')
