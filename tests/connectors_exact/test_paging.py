"""Paging: 60 a page on regular endpoints, 1,000 on sync and bulk, `__next` followed literally, cursors resumed."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from connectors.errors import PermanentError
from connectors.exact import ExactClient, Item, NextLinkPaginator, SyncPage, build_exact_client
from connectors.exact.wire import odata_datetime
from sandbox.exact.entities import ENTITIES

from .conftest import DIVISION, HOST, START, Harness

MANY = {"seed_items": 2500}


async def _all(pages: object) -> list[SyncPage[Item]]:
    return [page async for page in pages]  # type: ignore[attr-defined]


@pytest.mark.parametrize("sim_config", [MANY])
async def test_sync_reads_a_thousand_a_page(exact: ExactClient, harness: Harness) -> None:
    pages = await _all(exact.sync_items(1))
    assert [len(p.rows) for p in pages] == [1000, 1000, 500]
    assert harness.calls("GET sync/Logistics/Items") == 3
    stamps = [p.timestamp for p in pages]
    assert stamps == sorted(stamps) and stamps[-1] == max(i.timestamp or 0 for p in pages for i in p.rows)
    sent = harness.recorder.to("sync/Logistics/Items")
    assert sent[0].url.params["$filter"] == "Timestamp gt 1L"
    assert "Timestamp" in sent[0].url.params["$select"].split(",")
    assert "$skiptoken" in sent[1].url.params  # the __next link, requested as Exact wrote it
    # sync/Logistics/Items has no StandardSalesPrice (the reference lists it on logistics/Items only).
    assert "StandardSalesPrice" not in sent[0].url.params["$select"].split(",")
    assert all(i.standard_sales_price is None for p in pages for i in p.rows)


async def test_regular_endpoints_page_sixty_at_a_time(exact: ExactClient, harness: Harness) -> None:
    account = await exact.find_account_by_code("2")
    assert account is not None
    div = harness.sim.division()
    for n in range(130):  # a busy account, as entered in Exact's UI
        harness.sim.engine.create(div, ENTITIES["Contacts"], {"Account": account.id, "LastName": f"Person {n:03d}"})
    contacts = await exact.contacts_of(account.id)
    assert len(contacts) == 131 and len({c.id for c in contacts}) == 131
    assert harness.calls("GET crm/Contacts") == 3  # 60 + 60 + 11
    first, second, _ = harness.recorder.to("crm/Contacts")
    assert first.url.params["$filter"] == f"Account eq guid'{account.id}'"
    assert second.url.params["$skiptoken"].startswith("guid'")
    assert second.url.params["$filter"] == first.url.params["$filter"]  # carried in __next, not rebuilt


@pytest.mark.parametrize("sim_config", [MANY])
async def test_sync_resumes_from_the_stored_cursor_with_only_changed_rows(exact: ExactClient, harness: Harness) -> None:
    pages = await _all(exact.sync_items(1))
    cursor = pages[-1].timestamp
    assert [p async for p in exact.sync_items(cursor)] == [SyncPage(rows=[], timestamp=cursor)]
    harness.sim.clock.advance(60)
    harness.sim.upsert_item("SKU-0007", {"Description": "Guatemala Antigua beans 1kg (new crop)"})
    harness.sim.upsert_item("SKU-2400", {"StandardSalesPrice": "12.34"})
    harness.sim.set_stock("SKU-1000", 500)  # a stock count changes the item's Stock too
    changed = await _all(exact.sync_items(cursor))
    rows = [item for page in changed for item in page.rows]
    assert sorted(i.code or "" for i in rows) == ["SKU-0007", "SKU-1000", "SKU-2400"]
    assert changed[-1].timestamp > cursor
    # The price is not on the sync endpoint: read it from logistics/Items.
    prices = await exact.item_prices(i.id for i in rows)
    assert str(prices[next(i.id for i in rows if i.code == "SKU-2400")]) == "12.34"
    # Stored after that page, the cursor now yields nothing again.
    assert [p.rows async for p in exact.sync_items(changed[-1].timestamp)] == [[]]


async def test_a_filter_with_an_amsterdam_time_literal(exact: ExactClient, harness: Harness) -> None:
    harness.sim.clock.advance(3600)
    after = harness.sim.clock.now()
    harness.sim.clock.advance(1)
    harness.sim.upsert_item("SKU-0005", {"Notes": "changed"})
    found = await exact._list("logistics/Items", Item, filter=f"Modified gt {odata_datetime(after)}")
    assert [i.code for i in found] == ["SKU-0005"]
    before = await exact._list("logistics/Items", Item, filter=f"Modified le {odata_datetime(START)}")
    assert len(before) == 39  # all others were last modified at the start


async def test_items_by_codes_batches_within_the_url_limit(exact: ExactClient, harness: Harness) -> None:
    codes = [f"SKU-{n:04d}" for n in range(1, 41)] + [f"MISSING-{n:05d}" for n in range(400)]
    found = await exact.items_by_codes([*codes, "sku-0001"])
    assert set(found) == {f"SKU-{n:04d}" for n in range(1, 41)} | {"sku-0001"}
    assert found["sku-0001"].id == found["SKU-0001"].id
    # logistics/Items (bulk/Logistics/Items is not in the reference): at most 60 codes a call, one page each.
    sent = harness.recorder.to("logistics/Items")
    assert len(sent) == harness.calls("GET logistics/Items") == 8  # 441 codes, 60 a call
    assert all(len(str(r.url)) <= 6000 for r in sent)
    assert all(r.url.params["$filter"].count(" or ") < 60 for r in sent)
    assert await exact.items_by_codes([]) == {}


async def test_item_prices_come_from_the_regular_endpoint_sixty_a_call(exact: ExactClient, harness: Harness) -> None:
    ids = [str(i["ID"]) for i in harness.sim.division().store("Items").records.values()]
    prices = await exact.item_prices(ids)
    assert len(prices) == len(ids) == 40
    assert prices[harness.sim.item_by_code("SKU-0001")["ID"]] == Decimal("24.95")
    sent = harness.recorder.to("logistics/Items")
    assert len(sent) == 1 and sent[0].url.params["$select"] == "ID,StandardSalesPrice"


def test_paginator_refuses_a_repeated_link_and_a_foreign_host() -> None:
    paginator = NextLinkPaginator(f"{HOST}/api/v1/")
    link = f"{HOST}/api/v1/{DIVISION}/crm/Accounts?$skiptoken=guid'a'"
    assert paginator.advance(link, "crm/Accounts") == link
    with pytest.raises(PermanentError, match="repeated"):
        paginator.advance(link, "crm/Accounts")
    with pytest.raises(PermanentError, match="another host"):
        NextLinkPaginator(f"{HOST}/api/v1/").advance("https://evil.example.com/api/v1/1/x", "x")
    assert NextLinkPaginator(f"{HOST}/api/v1/").advance(None, "x") is None


class _Looping(httpx.AsyncBaseTransport):
    """A misbehaving server: every units page links to the same next page."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/logistics/Units"):
            self.pages += 1
            body = {"d": {"results": [], "__next": f"{HOST}/api/v1/{DIVISION}/logistics/Units?$skiptoken=guid'x'"}}
            return httpx.Response(200, content=json.dumps(body).encode())
        return await self.inner.handle_async_request(request)


async def test_a_server_that_pages_forever_is_stopped(harness: Harness) -> None:
    looping = _Looping(harness.recorder)
    async with httpx.AsyncClient(transport=looping) as http:
        client = build_exact_client(harness.settings, http, harness.redis, clock=harness.clock, sleep=harness.sleep)
        response = await http.get(client.authorize_url("s"))
        await client.exchange_code(httpx.URL(response.headers["location"]).params["code"])
        with pytest.raises(PermanentError, match="repeated"):
            await client.units()
    assert looping.pages == 2
