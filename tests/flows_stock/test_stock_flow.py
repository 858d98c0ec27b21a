"""The stock flow end to end: Exact simulator -> real Exact connector -> flow -> real eAccounting connector ->
eAccounting simulator, through the engine and arq where it matters. Counts come from the simulators.

Exact's figures come from `sync/Inventory/StockPositions` (polls) and `inventory/ItemWarehouses` (webhook runs);
`sync/Inventory/ItemWarehouses` carries no quantities (the reference lists none), and the simulator refuses them."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from flows.products import PRODUCTS
from flows.stock import STOCK
from sandbox.exact.entities import ENTITIES
from tests.harness import (
    EA_HOST,
    World,
    drain,
    ea_calls_by_endpoint,
    exact_calls_by_endpoint,
    poll_and_handle,
    webhook_bridge,
)

PUT = "PUT /v2/articles/{articleId}"
GET = "GET /v2/articles/{articleId}"
ARTICLES = "GET /v2/articles"
POSITIONS = "GET sync/Inventory/StockPositions"


def _exact(world: World) -> dict[str, int]:
    """Exact calls by endpoint; `current/Me` (the division, read once per client) counts toward no limit."""
    return {k: v for k, v in exact_calls_by_endpoint(world.exact_sim).items() if k != "GET current/Me"}


def _balance(world: World, number: str) -> Decimal:
    article = world.ea_sim.by_unique("articles", number)
    assert article is not None
    return Decimal(str(article["StockBalance"]))


def _item_id(world: World, code: str) -> str:
    return str(world.exact_sim.item_by_code(code)["ID"])


def _rows(world: World, code: str) -> list[dict[str, Any]]:
    div = world.exact_sim.division()
    return world.exact_sim.engine.item_warehouses(div, _item_id(world, code))


def _available(world: World, code: str) -> Decimal:
    return sum((r["CurrentStock"] - r["PlannedStockOut"] for r in _rows(world, code)), Decimal(0))


def _on_hand(world: World, code: str) -> Decimal:
    return sum((r["CurrentStock"] for r in _rows(world, code)), Decimal(0))


def _adjust(world: World, code: str, warehouse: str = "1", **change: Any) -> None:
    """A stock movement as Exact's UI or a purchase order makes it (`planned_in`, `planned_out`, `current`)."""
    div = world.exact_sim.division()
    wh = div.store("Warehouses").by_code_get(warehouse)["ID"]
    world.exact_sim.engine.adjust_stock(div, _item_id(world, code), wh, **{k: Decimal(v) for k, v in change.items()})


def _reserve(world: World, code: str, quantity: str) -> None:
    div = world.exact_sim.division()
    row = dict(_rows(world, code)[0])
    row["ReservedStock"] = Decimal(quantity)
    world.exact_sim.engine.save(div, ENTITIES["ItemWarehouses"], row)


async def _reconciled(world: World, **options: Any) -> str | None:
    """A first full reconcile, handled; returns the cursor the engine stores."""
    _, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll", options=options))
    world.reset_counters()
    return cursor


async def test_full_reconcile_writes_the_on_hand_stock_and_a_rerun_changes_nothing(world: World) -> None:
    codes = [f"SKU-{n:04d}" for n in range(1, 41)]
    right = [code for code in codes if _balance(world, code) == _on_hand(world, code)]
    ctx = world.ctx(STOCK, trigger="poll")
    outcomes, cursor = await poll_and_handle(STOCK, ctx)
    # The first poll is a full reconcile: it compares with the articles' StockBalance (one list call) and enqueues
    # only the items whose article differs.
    assert len(outcomes) == 40 - len(right) > 0
    assert {o.action for o in outcomes.values()} == {"updated"}
    for code in codes:  # SKU-0001..0012 have open sales orders: on hand, not minus them (docs/flows/stock.md)
        assert _balance(world, code) == _on_hand(world, code)
    assert _available(world, "SKU-0001") < _on_hand(world, "SKU-0001")
    assert _exact(world) == {POSITIONS: 1}  # runs read the rows their page carried
    # The articles (1,000 a call), each differing one read and written, and the company's modules once (cached):
    # with the stock module active, StockBalance is read-only (flows/stock_target.py).
    calls = {ARTICLES: 1, GET: len(outcomes), PUT: len(outcomes), "GET /v2/companysettings": 1}
    assert ea_calls_by_endpoint(world.ea_sim) == calls

    world.reset_counters()
    again, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    assert again == {}
    assert _exact(world) == {POSITIONS: 1}
    # An incremental poll compares with the last values written, and lists the articles eAccounting changed since:
    # our own writes (1 call, 1,000 a page), each with the value written: nothing to do.
    assert ea_calls_by_endpoint(world.ea_sim) == {ARTICLES: 1}
    world.reset_counters()
    full_again, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), "0")  # a forced full read
    assert full_again == {}
    assert ea_calls_by_endpoint(world.ea_sim) == {ARTICLES: 1}  # the articles, 1,000 a call


async def test_a_change_is_found_by_the_incremental_poll_and_written_with_no_exact_call_per_item(
    world: World,
) -> None:
    cursor = await _reconciled(world)
    world.exact_sim.set_stock("SKU-0014", 77)
    before = _balance(world, "SKU-0014")
    outcomes, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    assert [(o.action, o.reason) for o in outcomes.values()] == [
        ("updated", f"StockBalance {before.normalize():f} -> 77 (on_hand, all warehouses)")
    ]
    assert _balance(world, "SKU-0014") == 77
    assert _exact(world) == {POSITIONS: 1}
    assert ea_calls_by_endpoint(world.ea_sim) == {ARTICLES: 1, GET: 1, PUT: 1}


async def test_stock_is_summed_over_the_selected_warehouses_also_when_only_one_row_changed(world: World) -> None:
    main = _on_hand(world, "SKU-0016")
    world.exact_sim.set_stock("SKU-0016", 10, "2")
    cursor = await _reconciled(world)
    assert _balance(world, "SKU-0016") == main + 10
    # Only warehouse 2 changes: the poll reads that one row and takes warehouse 1 from its index.
    world.exact_sim.set_stock("SKU-0016", 4, "2")
    _, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    assert _balance(world, "SKU-0016") == main + 4
    assert _exact(world) == {POSITIONS: 1}
    # Selecting warehouse 1 changes what every value means: the next poll compares every item.
    outcomes, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll", options={"warehouses": ["1"]}), cursor)
    assert [o.action for o in outcomes.values()] == ["updated"]
    assert _balance(world, "SKU-0016") == main


@pytest.mark.parametrize(
    ("calculation", "expected"),
    [
        ("on_hand", Decimal(100)),
        ("available", Decimal(100 - 30)),
        ("on_hand_minus_reserved_plus_planned_in", Decimal(100 - 6 + 25)),
    ],
)
async def test_calculation_modes(world: World, calculation: str, expected: Decimal) -> None:
    world.exact_sim.set_stock("SKU-0020", 100)
    _adjust(world, "SKU-0020", planned_out="30", planned_in="25")
    _reserve(world, "SKU-0020", "6")
    outcome = await world.run(STOCK, _item_id(world, "SKU-0020"), options={"calculation": calculation})
    assert outcome.action == "updated"
    assert _balance(world, "SKU-0020") == expected


async def test_negative_available_stock_is_written_as_zero_unless_asked(world: World) -> None:
    world.exact_sim.set_stock("SKU-0021", 5)
    _adjust(world, "SKU-0021", planned_out="8")
    await world.run(STOCK, _item_id(world, "SKU-0021"), options={"calculation": "available"})
    assert _balance(world, "SKU-0021") == 0
    await world.run(STOCK, _item_id(world, "SKU-0021"), options={"calculation": "available", "floor_at_zero": False})
    assert _balance(world, "SKU-0021") == -3


async def test_manage_stock_off_writes_nothing(world: World) -> None:
    before = _balance(world, "SKU-0022")
    world.exact_sim.set_stock("SKU-0022", 1)
    outcome = await world.run(STOCK, _item_id(world, "SKU-0022"), options={"manage_stock": False})
    assert (outcome.action, outcome.reason) == ("skipped", "manage_stock is off: eAccounting's stock is not written")
    assert _balance(world, "SKU-0022") == before
    outcomes, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll", options={"manage_stock": False}))
    assert outcomes == {}
    assert world.ea_calls() == 0


async def test_an_item_without_an_article_is_skipped_or_fails_with_a_clear_reason(world: World) -> None:
    world.exact_sim.upsert_item("ONLY-EXACT", {"Description": "Exact only", "IsSalesItem": True, "IsStockItem": True})
    world.exact_sim.set_stock("ONLY-EXACT", 3)
    item_id = _item_id(world, "ONLY-EXACT")
    reason = "SKU ONLY-EXACT has no eAccounting article (the products flow creates it)"
    skipped = await world.run(STOCK, item_id)
    assert (skipped.action, skipped.reason) == ("skipped", reason)

    await world.configure(STOCK, options={"missing_article": "fail"})
    assert await world.engine.run_record("stock", item_id, "manual") == "failed"
    entries, _ = await world.engine.activity.query(flow="stock", source_id=item_id)
    assert entries[0].reason == reason
    assert entries[0].source_payload is not None and entries[0].source_payload["ItemCode"] == "ONLY-EXACT"
    assert await world.engine.dead_letters.get("stock", item_id) is not None


async def test_an_older_reading_never_replaces_a_newer_write(world: World) -> None:
    cursor = await _reconciled(world)
    world.exact_sim.set_stock("SKU-0023", 50)
    ctx = world.ctx(STOCK, trigger="poll")
    assert STOCK.poll is not None
    pages = [page async for page in STOCK.poll(ctx, cursor)]
    stale = next(p.payloads for p in pages if p.record_ids)[_item_id(world, "SKU-0023")]
    # A minute later the stock changes again and its webhook run writes 60 before the poll's job runs.
    world.exact_sim.clock.advance(60)
    row = world.exact_sim.set_stock("SKU-0023", 60)
    fresh = await world.run(STOCK, str(row["ID"]), trigger="webhook")
    assert fresh.action == "updated"
    late = await STOCK.handle(ctx, stale)
    assert (late.action, late.reason) == ("unchanged", "a newer stock reading of SKU-0023 (60) was written")
    assert _balance(world, "SKU-0023") == 60


async def test_a_webhook_names_an_item_warehouse_and_costs_one_exact_call_once_the_index_knows_it(
    world: World,
) -> None:
    row = world.exact_sim.set_stock("SKU-0024", 9)  # a warehouse row the index has not seen yet
    world.reset_counters()
    assert (await world.run(STOCK, str(row["ID"]), trigger="webhook")).action == "updated"
    # The row by a filtered read of its ID (a row deleted meanwhile answers empty, not 404), then the item's rows.
    assert _exact(world) == {"GET inventory/ItemWarehouses": 2}
    world.exact_sim.set_stock("SKU-0024", 8)
    world.reset_counters()
    assert (await world.run(STOCK, str(row["ID"]), trigger="webhook")).action == "updated"
    assert _exact(world) == {"GET inventory/ItemWarehouses": 1}
    assert _balance(world, "SKU-0024") == 8


async def test_a_poll_through_the_engine_stashes_the_rows_so_jobs_make_no_exact_call(world: World) -> None:
    wrong = [n for n in range(1, 41) if _balance(world, f"SKU-{n:04d}") != _on_hand(world, f"SKU-{n:04d}")]
    assert await world.engine.poll_flow("stock") == len(wrong)  # the first poll compares with eAccounting
    await drain(world)
    world.reset_counters()
    for code, quantity in (("SKU-0025", 1), ("SKU-0026", 2), ("SKU-0027", 3)):
        world.exact_sim.set_stock(code, quantity)
    assert await world.engine.poll_flow("stock") == 3
    await drain(world)
    assert [_balance(world, c) for c in ("SKU-0025", "SKU-0026", "SKU-0027")] == [1, 2, 3]
    assert _exact(world) == {POSITIONS: 1}
    assert ea_calls_by_endpoint(world.ea_sim)[PUT] == 3
    entries, _ = await world.engine.activity.query(flow="stock", outcome="updated", limit=3)
    assert {(e.trigger, e.source_payload["ItemCode"]) for e in entries if e.source_payload} == {
        ("poll", "SKU-0025"),
        ("poll", "SKU-0026"),
        ("poll", "SKU-0027"),
    }


async def test_fifty_changes_in_a_second_give_at_most_two_writes_and_the_last_value(world: World) -> None:
    code = "SKU-0030"
    async with webhook_bridge(world, {"stock": STOCK}) as bridge:
        await bridge.subscribe(world, "StockPositions")
        row = world.exact_sim.set_stock(code, 1)
        await bridge.flush(world)
        world.reset_counters()

        async def burst() -> None:
            # Once the first run has read the stock (1), 49 more changes land in Exact within a second. The first run
            # reads the row (its item is not in the index yet), then the item's rows: two calls.
            for _ in range(5000):
                if exact_calls_by_endpoint(world.exact_sim).get("GET inventory/ItemWarehouses", 0) >= 2:
                    break
                await asyncio.sleep(0.001)
            for quantity in range(2, 51):
                world.exact_sim.clock.advance(0.02)
                world.exact_sim.set_stock(code, quantity)
            await bridge.flush(world)

        await asyncio.gather(drain(world), burst())
        await drain(world)
    assert bridge.statuses.count(202) == 50  # every change was a distinct, accepted event
    puts = ea_calls_by_endpoint(world.ea_sim).get(PUT, 0)
    assert puts == 2  # the first run's 1, then 50 from the run the burst caused; runs in between wrote nothing
    assert _balance(world, code) == 50
    entries, _ = await world.engine.activity.query(flow="stock")
    # One item in one warehouse: one record id (the ItemWarehouse) for the whole burst.
    assert {e.source_id for e in entries} == {str(row["ID"]).lower()}


class _HeldRead(httpx.AsyncBaseTransport):
    """In front of the eAccounting simulator: the first GET of one article is answered, then held until `release`,
    so the run that made it sits between reading and writing the article. Only the network is held; both flows run
    unchanged."""

    def __init__(self, inner: httpx.AsyncBaseTransport, article_id: str) -> None:
        self.inner = inner
        self.path = f"/v2/articles/{article_id}"
        self.read = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "GET" and request.url.path == self.path and not self.read.is_set():
            self.read.set()
            await self.release.wait()
        return response


def _hold_first_read(world: World, article_id: str) -> _HeldRead:
    router = world.router
    held = _HeldRead(router.routes[EA_HOST], article_id)
    router.routes[EA_HOST] = held
    return held


@pytest.mark.parametrize("first", ["products", "stock"])
async def test_products_and_stock_writing_one_article_at_once_undo_neither_write(world: World, first: str) -> None:
    """eAccounting's PUT replaces the whole article: a write between another run's GET and PUT would be undone by
    that PUT (a stock write put back by the products flow, or a new name put back by the stock flow)."""
    code = "SKU-0014"
    item_id = _item_id(world, code)
    await poll_and_handle(PRODUCTS, world.ctx(PRODUCTS, trigger="poll"))  # the articles are linked
    await _reconciled(world)  # and their stock written (the stock flow remembers what it wrote)
    article = world.ea_sim.by_unique("articles", code)
    assert article is not None
    before = _balance(world, code)
    world.exact_sim.upsert_item(code, {"Description": "Kenya AA 500g (renamed)"})
    world.exact_sim.set_stock(code, 77)
    assert _available(world, code) == 77 != before

    held = _hold_first_read(world, str(article["Id"]))
    runs = {"products": (PRODUCTS, {}), "stock": (STOCK, {})}
    second = "stock" if first == "products" else "products"
    flow, kwargs = runs[first]
    first_run = asyncio.create_task(world.run(flow, item_id, **kwargs))
    second_run: asyncio.Task[Any] | None = None
    try:
        await held.read.wait()  # the first run has read the article and not written it yet
        flow, kwargs = runs[second]
        second_run = asyncio.create_task(world.run(flow, item_id, **kwargs))
        # Without one lock for both flows the second run reads and writes the article now, and the first run's PUT
        # then undoes that; with it, the second run waits for the first to write.
        await asyncio.wait({second_run}, timeout=1.0)
    finally:
        held.release.set()
    outcomes = {first: await first_run, second: await second_run}
    assert {name: o.action for name, o in outcomes.items()} == {"products": "updated", "stock": "updated"}
    written = world.ea_sim.by_unique("articles", code)
    assert written is not None
    assert (written["Name"], written["StockBalance"]) == ("Kenya AA 500g (renamed)", Decimal(77))
    assert (await world.run(STOCK, item_id)).action == "unchanged"


async def test_a_balance_eaccounting_lowered_itself_is_put_back_by_the_next_poll(world: World) -> None:
    """eAccounting lowers StockBalance when one of its orders is marked shipped. The next incremental poll lists the
    articles eAccounting changed since the last poll (ChangedUtc, 1,000 a call) and puts Exact's figure back."""
    cursor = await _reconciled(world)
    code = "SKU-0015"
    right = _balance(world, code)
    world.ea_sim.advance_clock(60)
    order = world.ea_sim.create_order("1002", [(code, 2)])
    await world.ea.mark_order_shipped(str(order["Id"]), date(2026, 3, 2))
    assert _balance(world, code) == right - 2  # eAccounting took the shipped quantity off the stock itself
    world.reset_counters()
    outcomes, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    assert [(o.action, o.reason) for o in outcomes.values()] == [
        ("updated", f"StockBalance {(right - 2).normalize():f} -> {right.normalize():f} (on_hand, all warehouses)")
    ]
    assert _balance(world, code) == right
    assert _exact(world) == {POSITIONS: 1}  # no Exact change: the index has the item's rows
    assert ea_calls_by_endpoint(world.ea_sim) == {ARTICLES: 1, GET: 1, PUT: 1}


@pytest.mark.parametrize(
    ("since", "options"),
    [("0", {}), ("timestamp", {}), (None, {"full_reconcile_hours": 0})],
    ids=["since-0", "since-a-timestamp", "full-reconcile-due"],
)
async def test_a_reconcile_corrects_a_stock_balance_eaccounting_changed_unseen(
    world: World, since: str | None, options: dict[str, Any]
) -> None:
    """A change eAccounting made without moving the article's ChangedUtc (whether every change moves it is not
    documented) is not in the incremental poll's list: a full reconcile or a manual `since` corrects it."""
    cursor = await _reconciled(world)
    world.ea_sim.advance_clock(60)
    _, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)  # eAccounting's time moved on
    assert cursor is not None
    code = "SKU-0015"
    right = _balance(world, code)
    article = world.ea_sim.by_unique("articles", code)
    assert article is not None
    world.ea_sim.put("articles", {**article, "StockBalance": right - 2}, touch=False)
    world.exact_sim.set_stock(code, right)  # a recount in Exact that finds the same number: the row changes
    world.reset_counters()
    # An incremental poll compares with the last value written: the same number, so nothing is enqueued.
    incremental, stored = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    assert incremental == {}
    assert ea_calls_by_endpoint(world.ea_sim) == {ARTICLES: 1}  # the list of articles changed since: none
    world.reset_counters()
    # A full reconcile (forced, or due) or a manual `since` compares with the article's StockBalance.
    start = {"0": "0", "timestamp": str(json.loads(cursor)["ts"]), None: stored}[since]
    ctx = world.ctx(STOCK, trigger="poll", options=options)
    outcomes, _ = await poll_and_handle(STOCK, ctx, start)
    assert [(o.action, o.reason) for o in outcomes.values()] == [
        ("updated", f"StockBalance {(right - 2).normalize():f} -> {right.normalize():f} (on_hand, all warehouses)")
    ]
    assert _balance(world, code) == right
    # The articles (1,000 a call; by number for a few items), then the GET and PUT of the one that differs.
    assert ea_calls_by_endpoint(world.ea_sim) == {ARTICLES: 1, GET: 1, PUT: 1}


async def test_a_full_reconcile_remembers_what_eaccounting_has_so_incremental_polls_compare_with_it(
    world: World,
) -> None:
    cursor = await _reconciled(world)
    code = "SKU-0017"
    right = _balance(world, code)
    # eAccounting ships 3 and Exact's count comes down by 3 too: both agree, but not with the last value written.
    order = world.ea_sim.create_order("1002", [(code, 3)])
    await world.ea.mark_order_shipped(str(order["Id"]), date(2026, 3, 2))
    world.exact_sim.set_stock(code, right - 3)
    full, cursor = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), "0")
    assert full == {}  # nothing to write
    # A recount in Exact brings the number back to what was last written: the incremental poll must write it.
    world.exact_sim.clock.advance(60)
    world.exact_sim.set_stock(code, right)
    incremental, _ = await poll_and_handle(STOCK, world.ctx(STOCK, trigger="poll"), cursor)
    assert [o.action for o in incremental.values()] == ["updated"]
    assert _balance(world, code) == right


async def test_a_webhook_for_a_deleted_item_warehouse_costs_no_404(world: World) -> None:
    """Exact allows 10 errors per app, user, division and endpoint an hour, then blocks the app for an hour."""
    row = world.exact_sim.set_stock("SKU-0028", 5, "2")  # a row the index has not seen, then deleted
    world.exact_sim.engine.delete(world.exact_sim.division(), ENTITIES["ItemWarehouses"], str(row["ID"]))
    world.reset_counters()
    assert await world.engine.run_record("stock", str(row["ID"]).lower(), "webhook") == "skipped"
    assert "404" not in world.exact_sim.counters()["by_status"]
    entries, _ = await world.engine.activity.query(flow="stock", source_id=str(row["ID"]).lower())
    assert entries[0].reason == "the source record no longer exists"


async def test_a_stock_positions_key_that_is_an_item_id_is_taken_as_the_item(world: World) -> None:
    """The reference does not say what a StockPositions Key names (the simulator sends the ItemWarehouse)."""
    world.exact_sim.set_stock("SKU-0029", 12)
    item_id = _item_id(world, "SKU-0029")
    world.reset_counters()
    outcome = await world.run(STOCK, item_id, trigger="webhook")
    assert outcome.action == "updated"
    assert _balance(world, "SKU-0029") == _on_hand(world, "SKU-0029") == 12
    assert "404" not in world.exact_sim.counters()["by_status"]
    assert _exact(world) == {"GET inventory/ItemWarehouses": 2, "GET logistics/Items": 1}
    world.exact_sim.set_stock("SKU-0029", 11)
    world.reset_counters()
    assert (await world.run(STOCK, item_id, trigger="webhook")).action == "updated"
    assert _exact(world) == {"GET inventory/ItemWarehouses": 1}  # known now: only the item's rows are read
