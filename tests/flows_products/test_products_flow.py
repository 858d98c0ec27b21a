"""The products flow end to end: Exact simulator -> real Exact connector -> flow -> real eAccounting connector ->
eAccounting simulator. Counts come from the simulators' own counters and stores, never from our code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from structlog.testing import capture_logs

from flows.base import RecordFailed
from flows.products import KIND, PRODUCTS
from sandbox.eaccounting.domain import create_record
from sandbox.exact.entities import ENTITIES
from tests.harness import World, drain, ea_calls_by_endpoint, exact_calls_by_endpoint, poll_and_handle, webhook_bridge


def _article(world: World, number: str) -> dict[str, Any]:
    found = [a for a in world.ea_sim.table("articles").values() if a.get("Number") == number]
    assert len(found) == 1, (number, len(found))
    return found[0]


def _item_id(world: World, code: str) -> str:
    return str(world.exact_sim.item_by_code(code)["ID"])


def _group(world: World, code: str) -> str:
    return str(world.exact_sim.division().store("ItemGroups").by_code_get(code)["ID"])


def _coding(world: World, name: str) -> str:
    return next(str(c["Id"]) for c in world.ea_sim.table("articleaccountcodings").values() if c["Name"] == name)


def _label_names(article: dict[str, Any]) -> list[str]:
    return sorted(label["Name"] for label in article.get("ArticleLabels") or [])


def _exact(world: World) -> dict[str, int]:
    """Exact calls by endpoint; `current/Me` (the division, read once per client) counts toward no limit."""
    return {k: v for k, v in exact_calls_by_endpoint(world.exact_sim).items() if k != "GET current/Me"}


def _puts(world: World) -> int:
    return ea_calls_by_endpoint(world.ea_sim).get("PUT /v2/articles/{articleId}", 0)


async def test_initial_sync_matches_seeded_articles_by_sku_and_a_rerun_changes_nothing(world: World) -> None:
    articles_before = len(world.ea_sim.table("articles"))
    ctx = world.ctx(PRODUCTS, trigger="poll")
    with capture_logs() as logs:
        outcomes, cursor = await poll_and_handle(PRODUCTS, ctx)
    assert len(outcomes) == 40
    assert {o.action for o in outcomes.values()} <= {"updated", "unchanged"}
    assert len(world.ea_sim.table("articles")) == articles_before  # every SKU existed: matched, none duplicated
    house = _article(world, "SKU-0002")
    assert house["Name"] == "House blend beans 1kg"  # Exact's name replaced eAccounting's
    assert house["NetPrice"] == Decimal("19.95")  # both systems keep EUR: Exact's price
    assert _label_names(house) == ["Coffee"]
    pages = [e for e in logs if e["event"] == "products.items_page"]
    assert [(p["page"], p["total"], p["initial"]) for p in pages] == [(1, 40, True)]

    world.reset_counters()
    again, _ = await poll_and_handle(PRODUCTS, world.ctx(PRODUCTS, trigger="poll"), cursor)
    assert again == {}
    assert _exact(world) == {"GET sync/Logistics/Items": 1, "GET sync/Deleted": 1}
    assert world.ea_calls() == 0

    # Even handling every item again (a poll from the start) writes nothing and asks eAccounting nothing.
    everything, _ = await poll_and_handle(PRODUCTS, world.ctx(PRODUCTS, trigger="poll"))
    assert {o.action for o in everything.values()} == {"unchanged"}
    assert world.ea_calls() == 0


async def test_catalogue_pages_through_the_sync_api_a_thousand_items_a_call(world: World) -> None:
    for n in range(1, 1101):
        world.exact_sim.upsert_item(f"BULK-{n:04d}", {"Description": f"Bulk item {n}", "IsSalesItem": True})
    world.reset_counters()
    ctx = world.ctx(PRODUCTS, trigger="poll")
    records = 0
    with capture_logs() as logs:
        async for page in PRODUCTS.poll(ctx, None):
            records += len(page.record_ids)
            assert set(page.payloads) == set(page.record_ids)  # the items travel with the page
    assert records == 1140
    # sync/Logistics/Items has no StandardSalesPrice (reference): each page's prices come from logistics/Items,
    # 60 codes a call (17 calls for 1,000 items, 3 for 140).
    assert _exact(world) == {"GET sync/Logistics/Items": 2, "GET sync/Deleted": 1, "GET logistics/Items": 20}
    progress = [(e["page"], e["items"], e["total"]) for e in logs if e["event"] == "products.items_page"]
    assert progress == [(1, 1000, 1000), (2, 140, 1140)]


async def test_new_item_is_created_once_with_coding_unit_label_price_and_opening_stock(world: World) -> None:
    item = world.exact_sim.upsert_item(
        "TEA-100",
        {"Description": "Sencha green tea 250g", "IsSalesItem": True, "IsStockItem": True,
         "ItemGroup": _group(world, "TEA"), "Unit": "kg", "SalesVatCode": "2", "StandardSalesPrice": "7.45"},
    )  # fmt: skip
    world.exact_sim.set_stock("TEA-100", 12)
    world.ea_sim.company["CurrencyCode"] = "SEK"  # an eAccounting company in another currency than Exact's
    options = {"exchange_rate": "11.5", "coding_by_vat_code": {"2": "Goederen 21% btw"}}
    outcome = await world.run(PRODUCTS, item["ID"], options=options)
    assert outcome.action == "created"
    article = _article(world, "TEA-100")
    assert outcome.target_id == article["Id"]
    assert article["Name"] == "Sencha green tea 250g"
    assert article["NetPrice"] == Decimal("85.68")  # 7.45 EUR x 11.5, half up to the cent
    assert article["CodingId"] == _coding(world, "Goederen 21% btw")
    assert article["UnitAbbreviation"] == "kg"
    assert article["StockBalance"] == Decimal("12")
    assert article["IsActive"] is True
    assert _label_names(article) == ["Tea"]

    world.reset_counters()
    again = await world.run(PRODUCTS, item["ID"], options=options)
    assert (again.action, again.reason) == ("unchanged", "no change since the last write")
    assert world.ea_calls() == 0
    assert sum(_exact(world).values()) == 1  # the fetch (by the SKU the link remembers)

    # A run that died between the eAccounting create and the link: the intent is there, the link is not.
    ctx = world.ctx(PRODUCTS, options=options)
    await ctx.xref.unlink(KIND, item["ID"])
    await ctx.xref.begin(KIND, item["ID"])
    recovered = await world.run(PRODUCTS, item["ID"], options=options)
    assert recovered.action == "unchanged"
    assert recovered.target_id == article["Id"]
    _article(world, "TEA-100")  # still exactly one
    assert not await ctx.xref.pending(KIND, item["ID"])


@pytest.mark.parametrize(
    ("fields", "options", "coding"),
    [
        # 21 % in Exact and in eAccounting: a stock item gets the goods coding, a service the service coding.
        ({"SalesVatCode": "2", "IsStockItem": True}, {}, "Goederen 21% btw"),
        ({"SalesVatCode": "2", "IsStockItem": False}, {}, "Diensten 21% btw"),
        # 19 % (an OSS code) exists only in Exact: the item group's coding, or the default, decides.
        (
            {"SalesVatCode": "DEH", "ItemGroup": "EQUIP"},
            {"coding_by_item_group": {"EQUIP": "Goederen 0% btw"}},
            "Goederen 0% btw",
        ),
        ({"SalesVatCode": "DEH"}, {"default_coding": "goods 9% vat"}, "Goederen 9% btw"),
    ],
)
async def test_coding_per_item_from_vat_code_item_group_or_default(
    world: World, fields: dict[str, Any], options: dict[str, Any], coding: str
) -> None:
    if "ItemGroup" in fields:
        fields = {**fields, "ItemGroup": _group(world, fields["ItemGroup"])}
    item = world.exact_sim.upsert_item("CODED-1", {"Description": "Coded item", "IsSalesItem": True, **fields})
    assert (await world.run(PRODUCTS, item["ID"], options=options)).action == "created"
    assert _article(world, "CODED-1")["CodingId"] == _coding(world, coding)


async def test_update_overwrites_only_what_the_mapping_may_and_keeps_user_choices(world: World) -> None:
    item_id = _item_id(world, "SKU-0005")
    assert (await world.run(PRODUCTS, item_id)).action in ("updated", "unchanged")  # linked to the seeded article
    # A user picks another coding and adds a label of their own in eAccounting.
    create_record(world.ea_sim, "articlelabels", {"Name": "Bestseller"})
    current = await world.ea.find_article_by_number("SKU-0005")
    assert current is not None
    body = current.to_payload()
    body["CodingId"] = _coding(world, "Goederen 0% btw")
    body["ArticleLabels"] = [*body["ArticleLabels"], {"Id": _label_id(world, "Bestseller"), "Name": "Bestseller"}]
    await world.ea.update_article(current.id, body)

    world.exact_sim.upsert_item("SKU-0005", {"Description": "Ethiopia Yirgacheffe 500g (new crop)"})
    outcome = await world.run(PRODUCTS, item_id)
    assert (outcome.action, outcome.reason) == ("updated", "changed Name")
    article = _article(world, "SKU-0005")
    assert article["Name"] == "Ethiopia Yirgacheffe 500g (new crop)"
    assert article["CodingId"] == _coding(world, "Goederen 0% btw")  # CodingId is create-only in the mapping
    assert _label_names(article) == ["Bestseller", "Coffee"]

    # A new item group replaces the group's label, and only that one.
    world.exact_sim.upsert_item("SKU-0005", {"ItemGroup": _group(world, "EQUIP")})
    await world.run(PRODUCTS, item_id)
    assert _label_names(_article(world, "SKU-0005")) == ["Bestseller", "Equipment"]

    # "update existing" off: a change in Exact leaves the article alone.
    world.exact_sim.upsert_item("SKU-0005", {"Description": "Renamed again"})
    world.reset_counters()
    skipped = await world.run(PRODUCTS, item_id, options={"update_existing": False})
    assert (skipped.action, skipped.reason) == ("skipped", "article SKU-0005 exists and update_existing is off")
    assert _article(world, "SKU-0005")["Name"] == "Ethiopia Yirgacheffe 500g (new crop)"
    assert world.ea_calls() == 0


def _label_id(world: World, name: str) -> str:
    return next(str(lb["Id"]) for lb in world.ea_sim.table("articlelabels").values() if lb["Name"] == name)


async def test_prices_in_the_company_currency_excluding_or_including_vat(world: World) -> None:
    item_id = _item_id(world, "SKU-0001")  # 24.95 EUR, coding 9 % in eAccounting
    world.ea_sim.company["CurrencyCode"] = "SEK"  # an eAccounting company in another currency than Exact's
    outcome = await world.run(PRODUCTS, item_id, options={"exchange_rate": "11"})
    assert outcome.action == "updated"
    net = _article(world, "SKU-0001")
    assert (net["NetPrice"], net["GrossPrice"]) == (Decimal("274.45"), Decimal("299.15"))
    await world.run(PRODUCTS, item_id, options={"exchange_rate": "11", "price_includes_vat": True})
    gross = _article(world, "SKU-0001")
    assert (gross["GrossPrice"], gross["NetPrice"]) == (Decimal("274.45"), Decimal("251.79"))


async def test_the_poll_reads_prices_from_the_regular_endpoint_the_sync_one_has_none(world: World) -> None:
    """`sync/Logistics/Items` has no StandardSalesPrice in the reference (logistics/Items has): the poll reads the
    page's prices there, 60 items a call, so a catalogue sync still sends prices."""
    world.ea_sim.company["CurrencyCode"] = "SEK"  # a price change eAccounting has not seen yet
    world.reset_counters()
    outcomes, _ = await poll_and_handle(PRODUCTS, world.ctx(PRODUCTS, trigger="poll", options={"exchange_rate": "11"}))
    assert outcomes[_item_id(world, "SKU-0001")].action == "updated"
    assert _article(world, "SKU-0001")["NetPrice"] == Decimal("274.45")  # 24.95 EUR x 11
    calls = _exact(world)
    assert calls["GET sync/Logistics/Items"] == 1 and calls["GET logistics/Items"] == 1  # 40 items: one call


@pytest.mark.parametrize(
    ("code", "fields", "options", "overrides", "reason"),
    [
        ("SVC-1", {"IsSalesItem": False}, {}, {}, "not a sales item (IsSalesItem is false)"),
        ("SKU-0001", {}, {"item_groups": ["TEA"]}, {}, "item group COFFEE is not selected (item_groups: ['TEA'])"),
        (
            "SKU-0001",
            {},
            {},
            {"filters": [{"path": "ItemGroupCode", "op": "eq", "value": "EQUIP", "reason": "only equipment"}]},
            "only equipment",
        ),
    ],
)
async def test_filters_skip_with_a_reason_and_write_nothing(
    world: World, code: str, fields: dict[str, Any], options: dict[str, Any], overrides: dict[str, Any], reason: str
) -> None:
    item = world.exact_sim.upsert_item(code, {"Description": "Filtered", **fields})
    world.reset_counters()
    overrides_by_name = {"products_exact_to_eaccounting": overrides} if overrides else None
    outcome = await world.run(PRODUCTS, item["ID"], options=options, mapping_overrides=overrides_by_name)
    assert (outcome.action, outcome.reason) == ("skipped", reason)
    assert _puts(world) == 0
    assert ea_calls_by_endpoint(world.ea_sim).get("POST /v2/articles", 0) == 0


async def test_custom_fields_through_mapping_overrides(world: World) -> None:
    world.exact_sim.upsert_item("SKU-0003", {"ExtraDescription": "Swiss water process, 500 g"})
    overrides = {
        "products_exact_to_eaccounting": {
            "fields": {"NameEnglish": {"source": "ExtraDescription", "transforms": ["strip", {"truncate": 50}]}}
        }
    }
    outcome = await world.run(PRODUCTS, _item_id(world, "SKU-0003"), mapping_overrides=overrides)
    assert outcome.action == "updated"
    assert _article(world, "SKU-0003")["NameEnglish"] == "Swiss water process, 500 g"


async def test_an_item_with_an_end_date_deactivates_its_article_unless_switched_off(world: World) -> None:
    world.exact_sim.upsert_item("SKU-0009", {"EndDate": "2026-03-01T00:00:00"})
    await world.run(PRODUCTS, _item_id(world, "SKU-0009"))
    assert _article(world, "SKU-0009")["IsActive"] is False
    world.exact_sim.upsert_item("SKU-0010", {"EndDate": "2026-03-01T00:00:00"})
    await world.run(PRODUCTS, _item_id(world, "SKU-0010"), options={"deactivate_blocked": False})
    assert _article(world, "SKU-0010")["IsActive"] is True


def _delete_item(world: World, code: str) -> str:
    item_id = _item_id(world, code)
    world.exact_sim.engine.delete(world.exact_sim.division(), ENTITIES["Items"], item_id)
    return item_id


async def test_a_deleted_item_deactivates_its_article_by_webhook_and_by_poll(world: World) -> None:
    ctx = world.ctx(PRODUCTS, trigger="poll")
    _, cursor = await poll_and_handle(PRODUCTS, ctx)
    # Webhook: the engine fetches the item; a linked one is looked up by its SKU (no 404 on Exact's error budget).
    gone = _delete_item(world, "SKU-0007")
    world.reset_counters()
    outcome = await world.run(PRODUCTS, gone)
    assert (outcome.action, outcome.reason) == ("updated", "deactivated: the item was deleted in Exact")
    assert _article(world, "SKU-0007")["IsActive"] is False
    assert "404" not in world.exact_sim.counters()["by_status"]
    again = await world.run(PRODUCTS, gone)
    assert again.action == "unchanged"
    # Poll: sync/Deleted names the item; only linked items are enqueued.
    also_gone = _delete_item(world, "SKU-0008")
    polled, _ = await poll_and_handle(PRODUCTS, world.ctx(PRODUCTS, trigger="poll"), cursor)
    assert polled[also_gone].action == "updated"
    assert _article(world, "SKU-0008")["IsActive"] is False
    # Switched off: the article stays active.
    kept = _delete_item(world, "SKU-0011")
    off = await world.run(PRODUCTS, kept, options={"deactivate_deleted": False})
    assert (off.action, off.reason) == ("skipped", "the item was deleted in Exact; deactivate_deleted is off")
    assert _article(world, "SKU-0011")["IsActive"] is True


async def test_a_webhook_for_an_item_deleted_before_it_was_ever_synced_costs_no_404(world: World) -> None:
    """Exact allows 10 errors per app, user, division and endpoint an hour, then blocks the app for an hour."""
    world.exact_sim.upsert_item("GONE-1", {"Description": "Short-lived", "IsSalesItem": True})
    gone = _delete_item(world, "GONE-1")
    world.reset_counters()
    outcome = await world.run(PRODUCTS, gone)
    assert (outcome.action, outcome.reason) == (
        "skipped",
        "the item no longer exists in Exact and has no eAccounting article of ours",
    )
    assert "404" not in world.exact_sim.counters()["by_status"]
    assert _exact(world) == {"GET logistics/Items": 1}


async def test_an_update_never_sends_a_stock_balance_of_its_own(world: World) -> None:
    """The stock is the stock flow's: an update PUTs the balance the article has, even when an override maps one."""
    item_id = _item_id(world, "SKU-0006")
    assert (await world.run(PRODUCTS, item_id)).action in ("updated", "unchanged")  # linked to the seeded article
    article = _article(world, "SKU-0006")
    await world.ea.set_article_stock(str(article["Id"]), Decimal(77))  # what the stock flow wrote
    assert world.exact_sim.item_by_code("SKU-0006")["Stock"] != 77
    world.exact_sim.upsert_item("SKU-0006", {"Description": "Colombia Supremo 1kg (new label)"})
    overrides = {
        "products_exact_to_eaccounting": {
            "fields": {"StockBalance": {"source": "Stock", "transforms": ["to_decimal"], "on": "always"}}
        }
    }
    outcome = await world.run(PRODUCTS, item_id, mapping_overrides=overrides)
    assert outcome.action == "updated"
    assert (outcome.reason or "").startswith("changed Name")
    assert outcome.target_payload["StockBalance"] == Decimal(77)  # the article's own balance, sent back
    assert _article(world, "SKU-0006")["StockBalance"] == Decimal(77)


async def test_free_fields_filter_items_and_fill_article_fields(world: World) -> None:
    """Exact's free fields (FreeTextField_01..10, FreeNumberField_01..08, FreeDateField_01..05,
    FreeBoolField_01..05) reach the mapping: a filter on one, and two mapped to article fields."""
    world.exact_sim.upsert_item(
        "SKU-0003", {"FreeBoolField_01": True, "FreeTextField_02": "Decaf, Swiss water", "FreeNumberField_01": "6.5"}
    )
    world.exact_sim.upsert_item("SKU-0004", {"FreeBoolField_01": False, "FreeTextField_02": "Not for eAccounting"})
    overrides = {
        "products_exact_to_eaccounting": {
            "filters": [
                {"path": "IsSalesItem", "op": "truthy", "reason": "not a sales item (IsSalesItem is false)"},
                {"path": "FreeBoolField_01", "op": "truthy", "reason": "not for eAccounting (free field 1 is off)"},
            ],
            "fields": {
                "NameEnglish": {"source": "FreeTextField_02", "transforms": ["strip", {"truncate": 50}]},
                "PurchasePrice": {"source": "FreeNumberField_01", "transforms": ["to_decimal", {"round": 2}]},
            },
        }
    }
    # Through the webhook's fetch (a filtered read by ID) ...
    kept = await world.run(PRODUCTS, _item_id(world, "SKU-0003"), mapping_overrides=overrides)
    assert kept.action == "updated"
    article = _article(world, "SKU-0003")
    assert (article["NameEnglish"], article["PurchasePrice"]) == ("Decaf, Swiss water", Decimal("6.50"))
    left_out = await world.run(PRODUCTS, _item_id(world, "SKU-0004"), mapping_overrides=overrides)
    assert (left_out.action, left_out.reason) == ("skipped", "not for eAccounting (free field 1 is off)")
    assert _article(world, "SKU-0004").get("NameEnglish") != "Not for eAccounting"
    # ... and through the poll (the sync API's rows): only items with the free field set pass.
    ctx = world.ctx(PRODUCTS, trigger="poll", mapping_overrides=overrides)
    outcomes, _ = await poll_and_handle(PRODUCTS, ctx)
    passed = {
        world.exact_sim.division().store("Items").get(i)["Code"] for i, o in outcomes.items() if o.action != "skipped"
    }
    assert passed == {"SKU-0003"}


async def test_failure_has_a_clear_reason_in_the_activity_log_and_a_replay_after_the_fix_creates(
    world: World,
) -> None:
    item = world.exact_sim.upsert_item(
        "DE19-1", {"Description": "German 19 % item", "IsSalesItem": True, "SalesVatCode": "DEH"}
    )
    engine = world.engine
    assert await engine.run_record("products", item["ID"], "manual") == "failed"
    entries, _ = await engine.activity.query(flow="products", source_id=item["ID"])
    assert entries[0].reason == (
        "no eAccounting article coding for item DE19-1 (Exact VAT code DEH, item group COFFEE): "
        "set coding_by_vat_code, coding_by_item_group or default_coding"
    )
    assert entries[0].error is not None and entries[0].error["type"] == "RecordFailed"
    assert await engine.dead_letters.get("products", item["ID"]) is not None
    assert world.ea_sim.by_unique("articles", "DE19-1") is None

    await world.configure(PRODUCTS, options={"coding_by_vat_code": {"DEH": "Goederen 21% btw"}})
    assert await engine.retry_failed("products") == 1
    await drain(world)
    assert _article(world, "DE19-1")["CodingId"] == _coding(world, "Goederen 21% btw")
    assert await engine.dead_letters.get("products", item["ID"]) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"default_unit": "crate"}, "default_unit: 'crate' is not an eAccounting unit"),
        ({"unit_by_code": {"pc": "crate"}}, "unit_by_code: 'crate' is not an eAccounting unit"),
        ({"default_coding": "Goederen 19% btw"}, "default_coding: 'Goederen 19% btw' is not an eAccounting coding"),
    ],
)
async def test_bad_option_values_fail_naming_the_option(world: World, options: dict[str, Any], message: str) -> None:
    item = world.exact_sim.upsert_item("BAD-1", {"Description": "Bad", "IsSalesItem": True, "SalesVatCode": "DEH"})
    with pytest.raises(RecordFailed, match=message):
        await world.run(PRODUCTS, item["ID"], options=options)
    assert world.ea_sim.by_unique("articles", "BAD-1") is None


async def test_items_webhook_through_the_api_and_the_engine_writes_once(world: World) -> None:
    engine = world.engine
    async with webhook_bridge(world, {"products": PRODUCTS}) as bridge:
        await bridge.subscribe(world, "Items")
        world.exact_sim.add_webhook_fault("duplicate", times=1)  # Exact delivers the first event twice
        world.exact_sim.upsert_item("SKU-0012", {"Description": "Espresso cup 80ml, white"})
        await bridge.flush(world)
        assert bridge.statuses[-2:] == [202, 200]  # accepted, then recognised as a duplicate
        await drain(world)
    article = _article(world, "SKU-0012")
    assert article["Name"] == "Espresso cup 80ml, white"
    assert _puts(world) == 1
    entries, _ = await engine.activity.query(flow="products", source_id=_item_id(world, "SKU-0012"))
    assert [(e.trigger, e.outcome) for e in entries] == [("webhook", "updated")]
