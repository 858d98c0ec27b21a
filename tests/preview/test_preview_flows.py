"""`POST /flows/{flow}/preview` for every flow: a record id in, the exact payload out, nothing written.

Each test previews a record through the service function the API and the console call, proves that neither
simulator received a write (their own counters) and that no key of the installation changed in Redis, then runs the
record for real and compares: what the preview said would be sent is what was sent (a new record's placeholder id
standing for the id the real run got).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from app.services.flows import PreviewRequest, preview
from connectors.dryrun import PLACEHOLDER_PREFIX
from flows.base import FlowDefinition, Outcome
from mapping import jsonable
from tests.harness import World


async def redis_state(world: World) -> dict[str, Any]:
    """Every key of this installation with its value (rate-budget counters aside: reads spend budget)."""
    prefix = world.settings.redis.key_prefix
    state: dict[str, Any] = {}
    async for raw in world.redis.scan_iter(match=f"{prefix}:*", count=1000):
        key = raw.decode()
        if ":budget" in key or ":ratelimit" in key or ":rate:" in key:
            continue
        kind = (await world.redis.type(key)).decode()
        if kind == "string":
            state[key] = await world.redis.get(key)
        elif kind == "hash":
            state[key] = await world.redis.hgetall(key)
        elif kind == "zset":
            state[key] = await world.redis.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            state[key] = await world.redis.lrange(key, 0, -1)
        elif kind == "set":
            state[key] = await world.redis.smembers(key)
        else:
            state[key] = kind
    return state


def writes(world: World) -> tuple[int, int]:
    return world.exact_sim.counters()["writes"], world.ea_sim.counters()["writes"]


async def previewed(world: World, flow: str, record_id: str, **request: Any) -> dict[str, Any]:
    """The preview of `record_id`, asserted to have written nothing at either API or in Redis."""
    before_writes, before_state = writes(world), await redis_state(world)
    answer = await preview(world.engine, flow, PreviewRequest(record_id=record_id, **request))
    assert writes(world) == before_writes, "a preview wrote to an API"
    after_state = await redis_state(world)
    changed = {k for k in before_state.keys() | after_state.keys() if before_state.get(k) != after_state.get(k)}
    assert not changed, f"a preview changed Redis: {sorted(changed)}"
    json.dumps(answer)  # the API's answer is JSON as it stands
    assert answer["written"] is False
    return answer


def sent(outcome: Outcome) -> Any:
    return json.loads(json.dumps(jsonable(outcome.target_payload)))


def placeholders_replaced(payload: Any, ids: dict[str, str]) -> Any:
    text = json.dumps(payload)
    for placeholder, real in ids.items():
        text = text.replace(placeholder, real)
    return json.loads(text)


async def run(world: World, definition: FlowDefinition, record_id: str, **options: Any) -> Outcome:
    return await world.run(definition, record_id, **options)


# -- orders ---------------------------------------------------------------------------------------------------------


async def test_orders_preview_of_a_new_customers_order_is_the_payload_sent_and_the_account_it_creates_first(
    world: World,
) -> None:
    from flows.orders import ORDERS

    order_id = str(world.ea_sim.create_order("1009", [("SKU-0001", 2), ("SKU-0002", 3)], your_reference="PO-77")["Id"])
    answer = await previewed(world, "orders", order_id)
    assert answer["error"] is None and answer["skipped"] is None, answer
    assert answer["mapping"] == "orders_to_exact_sales_order"
    payload = answer["payload"]
    assert payload["YourRef"] == "PO-77"
    assert payload["OrderedBy"].startswith(PLACEHOLDER_PREFIX)  # the account created first
    account = next(c for c in answer["creates"] if c["entity"] == "Accounts")
    assert account["system"] == "exact" and account["payload"]["Name"] == "Koffiehuis De Molen B.V."
    assert account["placeholder_id"] == payload["OrderedBy"]
    assert any(c["entity"] == "Contacts" for c in answer["creates"])  # its contact person
    assert answer["warnings"] == []  # among others: the totals Exact will compute are eAccounting's
    assert {e["target"] for e in answer["trace"]} >= {"OrderedBy", "YourRef"}
    assert any(e["target"].startswith("SalesOrderLines[") for e in answer["trace"])

    outcome = await run(world, ORDERS, order_id)
    assert outcome.action == "created"
    real_account = sent(outcome)["OrderedBy"]
    assert placeholders_replaced(payload, {payload["OrderedBy"]: real_account}) == sent(outcome)

    again = await previewed(world, "orders", order_id)  # now transferred: the preview says so, and sends nothing
    assert again["payload"] is None
    assert "already transferred" in again["skipped"]
    fresh = await previewed(world, "orders", order_id, fresh=True)  # as if it were new: the returning customer
    assert fresh["payload"] is not None, (fresh["skipped"], fresh["error"], fresh["outcome"])
    assert fresh["payload"]["OrderedBy"] == real_account
    assert fresh["creates"] == []


# -- products, stock ------------------------------------------------------------------------------------------------


async def test_products_preview_of_a_new_item_is_the_article_created(world: World) -> None:
    from flows.products import PRODUCTS

    group = str(world.exact_sim.division().store("ItemGroups").by_code_get("TEA")["ID"])
    item = world.exact_sim.upsert_item(
        "TEA-100",
        {"Description": "Sencha green tea 250g", "IsSalesItem": True, "IsStockItem": True,
         "ItemGroup": group, "Unit": "kg", "SalesVatCode": "2", "StandardSalesPrice": "7.45"},
    )  # fmt: skip
    world.exact_sim.set_stock("TEA-100", 12)
    answer = await previewed(world, "products", item["ID"])
    assert answer["error"] is None, answer
    assert answer["payload"]["Number"] == "TEA-100"
    assert answer["outcome"]["action"] == "created" and answer["outcome"]["mode"] == "create"
    assert any(e["target"] == "CodingId" for e in answer["trace"])  # the coding came from the flow's own lookups
    outcome = await run(world, PRODUCTS, item["ID"])
    assert outcome.action == "created"
    assert answer["payload"] == sent(outcome)


async def test_stock_preview_is_the_stock_balance_written(world: World) -> None:
    from flows.stock import STOCK

    item_id = str(world.exact_sim.item_by_code("SKU-0003")["ID"])
    world.exact_sim.set_stock("SKU-0003", 77)
    answer = await previewed(world, "stock", item_id)
    assert answer["error"] is None, answer
    outcome = await run(world, STOCK, item_id)
    assert outcome.action == "updated", outcome
    assert answer["payload"] == sent(outcome)
    assert answer["writes"] and answer["writes"][-1]["system"] == "eaccounting"


# -- customers ------------------------------------------------------------------------------------------------------


async def test_customers_to_eaccounting_preview_is_the_customer_created(world: World) -> None:
    from flows.customers import CUSTOMERS_TO_EACCOUNTING

    account = world.exact_sim.upsert_account(
        {"Name": "Koffiebranderij Noord B.V.", "Status": "C", "IsSales": True, "Email": "inkoop@branderijnoord.nl",
         "AddressLine1": "Havenweg 3", "Postcode": "9711 AA", "City": "Groningen", "Country": "NL",
         "VATNumber": "NL001234567B01", "ChamberOfCommerce": "01234567", "PaymentConditionSales": "30"}
    )  # fmt: skip
    answer = await previewed(world, "customers_to_eaccounting", account["ID"])
    assert answer["error"] is None, answer
    assert answer["payload"]["Name"] == "Koffiebranderij Noord B.V."
    outcome = await run(world, CUSTOMERS_TO_EACCOUNTING, account["ID"])
    assert outcome.action == "created"
    assert answer["payload"] == sent(outcome)


async def test_customers_to_exact_preview_is_the_account_created(world: World) -> None:
    from flows.customers import CUSTOMERS_TO_EXACT

    customer = world.ea_sim.by_unique("customers", "1009")
    assert customer is not None
    answer = await previewed(world, "customers_to_exact", customer["Id"])
    assert answer["error"] is None, answer
    assert answer["payload"]["Name"] == "Koffiehuis De Molen B.V."
    outcome = await run(world, CUSTOMERS_TO_EXACT, customer["Id"])
    assert outcome.action == "created"
    assert answer["payload"] == sent(outcome)


# -- shipments ------------------------------------------------------------------------------------------------------


async def _placed_order(world: World, rows: list[tuple[str, int]]) -> tuple[str, int]:
    """An eAccounting order and its Exact sales order, linked as the orders flow leaves them: (ea id, Exact number)."""
    from flows.shipments import ORDER_KIND

    ea_order = world.ea_sim.create_order("1009", rows)
    account = next(iter(world.exact_sim.division().store("Accounts").records))
    lines = [{"Item": world.exact_sim.item_by_code(code)["ID"], "Quantity": qty} for code, qty in rows]
    sales_order = await world.exact.create_sales_order(
        {"OrderedBy": account, "YourRef": str(ea_order["Number"]), "SalesOrderLines": lines}
    )
    assert sales_order.order_id is not None and sales_order.order_number is not None
    await world.engine.xref.link(ORDER_KIND, ea_order["Id"], sales_order.order_id)
    return str(ea_order["Id"]), sales_order.order_number


async def test_shipments_preview_is_the_order_update_sent_and_warns_of_an_unmapped_shipping_method(
    world: World,
) -> None:
    from flows.shipments import SHIPMENTS

    ea_id, number = await _placed_order(world, [("SKU-0004", 2)])
    delivery = world.exact_sim.deliver_order(number, shipping_method="UPS", tracking_number="1Z999")
    answer = await previewed(world, "shipments", delivery["EntryID"])
    assert answer["error"] is None, answer
    assert answer["payload"]["Status"] == 3
    assert answer["outcome"]["target_id"] == ea_id
    assert any("UPS has no eAccounting delivery method" in w for w in answer["warnings"]), answer["warnings"]
    assert answer["writes"][-1]["method"] == "PUT" and answer["creates"] == []
    outcome = await run(world, SHIPMENTS, delivery["EntryID"])
    assert outcome.action == "updated"
    assert answer["payload"] == sent(outcome)


# -- a pasted record, problems ----------------------------------------------------------------------------------------


async def test_a_pasted_record_goes_the_same_way_as_one_fetched(world: World) -> None:
    order_id = str(world.ea_sim.create_order("1009", [("SKU-0001", 1)])["Id"])
    by_id = await previewed(world, "orders", order_id)
    source = by_id["source"]
    before = writes(world)
    pasted = await preview(world.engine, "orders", PreviewRequest(record=source))
    assert writes(world) == before
    assert pasted["payload"] == by_id["payload"]
    assert pasted["creates"] == by_id["creates"]


async def test_a_missing_sku_is_the_error_the_run_would_fail_with_and_nothing_is_created(world: World) -> None:
    order_id = str(world.ea_sim.create_order("1010", [("SKU-0001", 1)])["Id"])
    order = world.ea_sim.get("orders", order_id)
    order["Rows"][0]["ArticleNumber"] = "SKU-9999"
    world.ea_sim.put("orders", order)
    answer = await previewed(world, "orders", order_id)
    assert answer["payload"] is None
    assert answer["error"]["type"] == "RecordFailed" and "SKU-9999" in answer["error"]["message"], answer["error"]
    assert answer["creates"] == []  # SKUs are checked before a customer would be created


async def test_the_api_answers_the_preview_of_a_real_order_id_with_its_payload(world: World) -> None:
    """The issue's report: `POST /flows/orders/preview` with a real order id answered `payload: null`."""
    from app.main import create_app
    from app.settings import DEMO_ADMIN_TOKEN
    from flows.registry import load_flows

    order_id = str(world.ea_sim.create_order("1009", [("SKU-0002", 1)])["Id"])
    # The app's own process runs on the real clock: bring the simulators' clocks (and token lifetimes) to it.
    world.exact_sim.clock.advance(time.time() - world.exact_sim.clock.timestamp())
    world.ea_sim.advance_clock(time.time() - world.ea_sim.now().timestamp())
    for client in (world.exact, world.ea):  # connected again at that time (the tokens live in the link's Redis)
        consent = await world.http.get(client.authorize_url("state"))
        await client.exchange_code(httpx.URL(consent.headers["location"]).params["code"])
    app = create_app(world.settings, configure_logs=False, flow_definitions=load_flows(), http=world.http)
    async with app.router.lifespan_context(app) as state:

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)

        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="https://ledgerbridge.test") as api:
            before = writes(world)
            response = await api.post(
                "/flows/orders/preview",
                json={"record_id": order_id},
                headers={"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"},
            )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payload"]["SalesOrderLines"][0]["Quantity"] in ("1", 1)
    assert body["creates"][0]["entity"] == "Accounts"
    assert writes(world) == before


async def test_an_unmapped_delivery_method_is_a_warning_of_the_orders_preview(world: World) -> None:
    method = next(iter(world.ea_sim.table("deliverymethods").values()))
    order_id = str(world.ea_sim.create_order("1009", [("SKU-0001", 1)])["Id"])
    order = world.ea_sim.get("orders", order_id)
    world.ea_sim.put("orders", {**order, "DeliveryMethodCode": method["Code"]})
    answer = await previewed(world, "orders", order_id)
    assert answer["payload"] is not None and "ShippingMethod" not in answer["payload"]
    assert any(
        w.startswith(f"ShippingMethod: {method['Code']!r} (DeliveryMethodCode) is not in the mapping's value map")
        for w in answer["warnings"]
    ), answer["warnings"]


async def test_totals_exact_would_compute_differently_are_a_warning_and_the_run_agrees(world: World) -> None:
    """A mapping edit that rounds prices to whole units: the preview warns before anything is sent, and a run with
    the same mapping indeed gets other totals from Exact (flagged as a mismatch)."""
    from flows.orders import ORDERS

    rounded = {
        "fields": {"SalesOrderLines[*].UnitPrice": {"source": "UnitPrice", "transforms": ["to_decimal", {"round": 0}]}}
    }
    order_id = str(world.ea_sim.create_order("1009", [("SKU-0002", 3)])["Id"])
    plain = await previewed(world, "orders", order_id)
    assert not [w for w in plain["warnings"] if "totals" in w]
    edited = await previewed(world, "orders", order_id, mapping_overrides=rounded)
    warning = next(w for w in edited["warnings"] if w.startswith("Exact would compute other totals"))
    outcome = await world.run(ORDERS, order_id, mapping_overrides={"orders_to_exact_sales_order": rounded})
    assert outcome.mismatch is not None
    assert outcome.mismatch["exact"]["gross"] in warning


async def test_the_preview_uses_the_document_the_orders_flow_is_set_to(world: World) -> None:
    from flows.orders import ORDERS

    await world.configure(ORDERS, options={"document": "sales_invoice"})
    order_id = str(world.ea_sim.create_order("1009", [("SKU-0001", 1)])["Id"])
    answer = await previewed(world, "orders", order_id)
    assert answer["mapping"] == "orders_to_exact_sales_invoice"
    assert "SalesInvoiceLines" in answer["payload"] and "Journal" in answer["payload"]
    assert any(e["target"].startswith("SalesInvoiceLines[") for e in answer["trace"])


async def test_prices_the_products_flow_would_leave_out_are_a_warning(world: World) -> None:
    item_id = str(world.exact_sim.item_by_code("SKU-0004")["ID"])
    world.ea_sim.company["CurrencyCode"] = "SEK"  # another currency than Exact's, and no exchange rate set
    answer = await previewed(world, "products", item_id, fresh=True)
    assert any(
        w.startswith("prices not sent: Exact's currency EUR is not eAccounting's SEK") for w in answer["warnings"]
    )
    assert answer["payload"] is None or "NetPrice" not in answer["payload"]
