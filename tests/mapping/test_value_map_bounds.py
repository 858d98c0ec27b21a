"""A mapping's value maps are bounded, and those named `*_by_country` are keyed by ISO 3166-1 alpha-2 codes
(issue 18): an override out of bounds is a 422 naming the entry (the old config stays), the setup wizard's tables
are checked before Exact is asked, a stored config that breaks the rules shows invalid, the datamapper refuses
such a table wherever it is written (a mapping, an inline table), and the shipped defaults pass."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

import mapping
from app.services import setup
from app.services.errors import InvalidInput
from app.settings import DEMO_ADMIN_TOKEN, Settings
from connectors.keys import Keys
from flows.limits import MAX_ENTRIES, UNSTATED
from mapping.countries import ISO_3166_ALPHA2
from mapping.tables import MAX_TABLE_ENTRIES, MAX_TABLE_TEXT, table_problems
from tests.harness import offline_engine

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
ORDER = "orders_to_exact_sales_order"
INVOICE = "orders_to_exact_sales_invoice"
SHIPPING = "shipping_method_by_delivery_method"
REVENUE = "revenue_account_by_country"
GUID = "6f1c2e8a-0000-4000-8000-0000000000b1"


def _maps(name: str, table: dict[str, Any] | None = None, **rest: Any) -> dict[str, Any]:
    return {"value_maps": {name: {**({"table": table} if table is not None else {}), **rest}}}


REFUSED: list[tuple[str, dict[str, Any], list[Any]]] = [
    (ORDER, _maps(SHIPPING, {f"M{n}": GUID for n in range(MAX_ENTRIES + 1)}), ["value_maps", SHIPPING, "table"]),
    (ORDER, _maps(SHIPPING, {"D" * 201: GUID}), ["value_maps", SHIPPING, "table", "D" * 201, "[key]"]),
    (ORDER, _maps(SHIPPING, {"DHL": "g" * 201}), ["value_maps", SHIPPING, "table", "DHL"]),
    (ORDER, _maps(SHIPPING, {"DHL": {"nested": ["x"]}}), ["value_maps", SHIPPING, "table", "DHL"]),
    (ORDER, _maps(SHIPPING, {}, default="g" * 201), ["value_maps", SHIPPING, "default"]),
    (ORDER, _maps("n" * 201, {}), ["value_maps", "n" * 201, "[key]"]),
    (INVOICE, _maps(REVENUE, {"XX": "8000"}), ["value_maps", REVENUE, "table", "XX", "[key]"]),
    (INVOICE, _maps(REVENUE, {"NLD": "8000"}), ["value_maps", REVENUE, "table", "NLD", "[key]"]),
    (INVOICE, _maps(REVENUE, {"nl": "8000"}), ["value_maps", REVENUE, "table", "nl", "[key]"]),
    (INVOICE, _maps(REVENUE, {"*": "8000"}), ["value_maps", REVENUE, "table", "*", "[key]"]),
    (INVOICE, _maps(REVENUE, {"": "8000"}), ["value_maps", REVENUE, "table", "", "[key]"]),
    (INVOICE, _maps(REVENUE, {"EL": "8000"}), ["value_maps", REVENUE, "table", "EL", "[key]"]),
    # A value map of the user's own that is named per country is keyed like one.
    (
        ORDER,
        _maps("warehouse_by_country", {"Holland": "1"}),
        ["value_maps", "warehouse_by_country", "table", "Holland", "[key]"],
    ),
]


@pytest.mark.parametrize("via", ["config", "mapping"])
@pytest.mark.parametrize(("name", "overrides", "loc"), REFUSED)
async def test_a_value_map_out_of_bounds_is_422_naming_the_entry_and_the_old_config_stays(
    api: httpx.AsyncClient, name: str, overrides: dict[str, Any], loc: list[Any], via: str
) -> None:
    before = (await api.put("/flows/orders/config", json={"options": {"home_country": "NL"}})).json()
    if via == "config":
        answer = await api.put("/flows/orders/config", json={"mapping_overrides": {name: overrides}})
    else:
        answer = await api.put(f"/flows/orders/mappings/{name}", json=overrides)
    assert answer.status_code == 422, answer.text[:500]
    assert [e["loc"] for e in answer.json()["detail"]] == [["mapping_overrides", name, *loc]]
    after = (await api.get("/flows/orders/config")).json()
    assert after["valid"] is True and after["version"] == before["version"]


async def test_the_messages_say_what_to_write(api: httpx.AsyncClient) -> None:
    table = {"nl": "1", "XX": "2", "*": "3", "Holland": "4"}
    answer = await api.put(f"/flows/orders/mappings/{INVOICE}", json=_maps(REVENUE, table))
    messages = {e["loc"][-2]: e["msg"] for e in answer.json()["detail"]}
    assert "upper case: NL" in messages["nl"]
    assert messages["XX"] == "XX is not an ISO 3166-1 alpha-2 country code"
    assert "the value map's default" in messages["*"]
    assert "two letters" in messages["Holland"]
    too_many = await api.put(
        f"/flows/orders/mappings/{ORDER}", json=_maps(SHIPPING, {str(n): GUID for n in range(MAX_ENTRIES + 1)})
    )
    [error] = too_many.json()["detail"]
    assert error["msg"] == f"a value map has at most {MAX_ENTRIES} entries, not {MAX_ENTRIES + 1}"


async def test_tables_at_their_bounds_and_every_country_are_stored_and_read_back(api: httpx.AsyncClient) -> None:
    shipping = {f"{n:0200d}": "g" * MAX_TABLE_TEXT for n in range(MAX_ENTRIES)}
    overrides = {
        ORDER: _maps(SHIPPING, shipping, default=None),
        INVOICE: _maps(REVENUE, dict.fromkeys(sorted(ISO_3166_ALPHA2), "8000"), default="8000"),
    }
    answer = await api.put("/flows/orders/config", json={"mapping_overrides": overrides})
    assert answer.status_code == 200, answer.text[:500]
    read = (await api.get("/flows/orders/config")).json()
    assert read["valid"] is True and read["config"]["mapping_overrides"] == overrides
    # Entries an override removes (null) are no values: a full table can still name them.
    removal = {ORDER: _maps(SHIPPING, {**dict.fromkeys(list(shipping)[:10]), "DHL": GUID})}
    assert (await api.put("/flows/orders/config", json={"mapping_overrides": removal})).status_code == 200


async def test_a_stored_config_that_breaks_the_rules_shows_invalid_naming_the_entry(
    api: httpx.AsyncClient, redis: ArqRedis, settings: Settings
) -> None:
    bad = {"mapping_overrides": {INVOICE: _maps(REVENUE, {"XX": "8000", "NL": "8" * 300})}}
    await redis.set(Keys.of(settings).for_link("default").flow_config("orders"), json.dumps(bad))
    read = (await api.get("/flows/orders/config")).json()
    assert read["valid"] is False and read["config"] == bad
    assert {tuple(e["loc"]) for e in read["errors"]} == {
        ("mapping_overrides", INVOICE, "value_maps", REVENUE, "table", "XX", "[key]"),
        ("mapping_overrides", INVOICE, "value_maps", REVENUE, "table", "NL"),
    }


async def test_the_setup_tables_step_bounds_its_value_maps_before_asking_exact(
    settings: Settings, redis: ArqRedis
) -> None:
    async with offline_engine(settings, redis) as (engine, asked):
        with pytest.raises(InvalidInput) as refused:
            await setup.save_tables(
                engine,
                vat={},
                payment={},
                shipping={"D" * 201: GUID, "DHL": "g" * 201},
                cost_centers={str(n): "CC" for n in range(MAX_ENTRIES + 1)},
                default_debtor=None,
                shipping_item="SHIPPING",
                rounding_item="ROUNDING",
            )
        assert sorted(e["loc"] for e in refused.value.detail) == [
            ["cost_centers"],
            ["shipping", "D" * 201, "[key]"],
            ["shipping", "DHL"],
        ]
        assert asked == []


def test_the_datamapper_refuses_such_tables_wherever_they_are_written() -> None:
    base = mapping.load_default(INVOICE)
    with pytest.raises(mapping.MappingSpecError, match=r"value_maps\.revenue_account_by_country\.table\.XX\[key\]"):
        mapping.merge_overrides(base, _maps(REVENUE, {"XX": "8000"}))
    with pytest.raises(mapping.MappingSpecError, match="at most 500 entries"):
        mapping.merge_overrides(base, _maps(SHIPPING, {str(n): "x" for n in range(MAX_ENTRIES + 1)}))
    inline = {"fields": {"Description": {"const": "x", "transforms": [{"value_map": {"table": {"x": "y" * 201}}}]}}}
    with pytest.raises(mapping.MappingSpecError, match="at most 200 characters"):
        mapping.compile_mapping(mapping.merge_overrides(base, inline))
    # Keys are what a table's lookup compares: a key of another table may be anything within the bounds.
    spec = mapping.merge_overrides(base, _maps(SHIPPING, {"nl": GUID, "*": GUID}))
    assert spec.value_maps[SHIPPING].table == {"nl": GUID, "*": GUID}


def test_the_shipped_defaults_pass_and_the_bounds_are_the_options() -> None:
    assert (MAX_TABLE_ENTRIES, MAX_TABLE_TEXT) == (MAX_ENTRIES, UNSTATED)
    for name in mapping.default_names():
        document = mapping.load_default_document(name)
        for map_name, value_map in (document.get("value_maps") or {}).items():
            assert table_problems(value_map.get("table") or {}, countries=map_name.endswith("_by_country")) == []
        mapping.compile_mapping(mapping.load_default(name))
