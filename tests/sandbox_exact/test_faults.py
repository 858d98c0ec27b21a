"""Fault injection and call counters over `/_sim`, and the seeded demo data."""

from __future__ import annotations

import httpx
import pytest

from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app, endpoint_template

from .conftest import START, url


async def test_status_fault_hits_n_times(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    fault = {"path": "salesorder/SalesOrders", "method": "POST", "status": 503, "times": 2}
    assert (await client.post("/_sim/faults", json=fault)).status_code == 201
    account = next(iter(sim.division().store("Accounts").records))
    body = {"OrderedBy": account, "SalesOrderLines": [{"Item": sim.item_by_code("SKU-0001")["ID"], "Quantity": 1}]}
    orders_before = len(sim.division().store("SalesOrders"))
    statuses = [
        (await client.post(url("salesorder/SalesOrders"), headers=headers, json=body)).status_code for _ in "abc"
    ]
    assert statuses == [503, 503, 201]
    assert len(sim.division().store("SalesOrders")) == orders_before + 1
    # GETs on the same resource were never affected.
    got = await client.get(url("salesorder/SalesOrders"), params={"$filter": "OrderNumber gt 0"}, headers=headers)
    assert got.status_code == 200


async def test_429_fault_carries_rate_headers(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    sim.add_fault(path="vat/VATCodes", status=429)
    response = await client.get(url("vat/VATCodes"), headers=headers)
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert response.headers["X-RateLimit-Minutely-Reset"] == str(int(START.timestamp() * 1000) + 60_000)


async def test_dropped_connection_before_and_after(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    accounts = sim.division().store("Accounts")
    before = len(accounts)
    sim.add_fault(path="crm/Accounts", method="POST", drop="before")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(url("crm/Accounts"), headers=headers, json={"Name": "Lost"})
    assert len(accounts) == before
    await client.post("/_sim/faults", json={"path": "crm/Accounts", "method": "POST", "drop": "after"})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(url("crm/Accounts"), headers=headers, json={"Name": "Written but unanswered"})
    assert len(accounts) == before + 1  # the write happened; the client must look it up before retrying


async def test_delay_and_clear(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    sim.add_fault(path="vat/VATCodes", delay=0.01, times=None)
    assert (await client.get(url("vat/VATCodes"), headers=headers)).status_code == 200
    assert (await client.delete("/_sim/faults")).status_code == 204
    assert sim.faults == []


async def test_token_endpoint_fault(client: httpx.AsyncClient, sim: ExactSim) -> None:
    sim.add_fault(path="oauth2/token", status=500)
    response = await client.post("/api/oauth2/token", data={"grant_type": "refresh_token"})
    assert response.status_code == 500


async def test_counters_by_template(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    item = sim.item_by_code("SKU-0001")["ID"]
    await client.get(url(f"logistics/Items(guid'{item}')"), headers=headers)
    await client.put(url(f"logistics/Items(guid'{item}')"), headers=headers, json={"Notes": "x"})
    await client.get(url("vat/VATCodes"), headers=headers)
    await client.get(url("vat/VATCodes"), headers=headers)
    await client.get("/_sim/counters")  # controls are not counted
    counters = (await client.get("/_sim/counters")).json()
    assert counters["by_endpoint"] == {
        "GET logistics/Items({id})": 1,
        "PUT logistics/Items({id})": 1,
        "GET vat/VATCodes": 2,
    }
    assert counters["total"] == 4
    assert counters["by_status"] == {"200": 3, "204": 1}
    assert (await client.post("/_sim/reset-counters")).status_code == 204
    assert sim.counters()["total"] == 0


async def test_clock_control(client: httpx.AsyncClient) -> None:
    response = await client.post("/_sim/clock/advance", json={"seconds": 90})
    assert response.json()["now"] == "2026-05-04T10:01:30+00:00"


def test_endpoint_templates() -> None:
    assert endpoint_template("/api/v1/1/salesorder/SalesOrders(guid'x')/SalesOrderLines") == (
        "salesorder/SalesOrders({id})/SalesOrderLines",
        "salesorder/SalesOrders",
    )
    assert endpoint_template("/api/v1/1/sync/Logistics/Items") == ("sync/Logistics/Items", "sync/Logistics/Items")
    assert endpoint_template("/api/v1/current/Me") == ("current/Me", "current/Me")


def test_seed_demo_data(sim: ExactSim) -> None:
    div = sim.division()
    codes = sorted(div.store("Items").by_code)
    assert codes[0] == "SKU-0001" and codes[-1] == "SKU-0040" and len(codes) == 40
    assert sim.item_by_code("SKU-0001")["Description"] == "Espresso beans 1kg"
    vat = div.store("VATCodes")
    assert [str(vat.by_code_get(c)["Percentage"]) for c in ("2", "1", "0", "DEH")] == ["0.21", "0.09", "0", "0.19"]  # type: ignore[index]
    assert {"14", "30"} <= set(div.store("PaymentConditions").by_code)
    assert {"DHL", "PostNL", "UPS"} <= set(div.store("ShippingMethods").by_code)
    assert {"8000", "8100", "8200"} <= set(div.store("GLAccounts").by_code)
    assert all(c["Email"] for c in div.store("Contacts").records.values())
    assert len(div.store("SalesOrders")) == 3


def test_seed_is_reproducible_and_scales() -> None:
    first = create_exact_app(ExactSimConfig(start_time=START)).state.sim
    second = create_exact_app(ExactSimConfig(start_time=START)).state.sim
    assert first.item_by_code("SKU-0007")["ID"] == second.item_by_code("SKU-0007")["ID"]
    big = create_exact_app(ExactSimConfig(start_time=START, seed_items=10_000)).state.sim
    assert len(big.division().store("Items")) == 10_000
    assert big.item_by_code("SKU-9999")["Description"] == "Caramel syrup 700ml (250)"
