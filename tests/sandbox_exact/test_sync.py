"""Sync API: Timestamp cursor, 1000 rows a page, `$select` mandatory, only Timestamp filters; sync/Deleted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.exact import ExactSim, ExactSimConfig

from .conftest import START, url


@pytest.fixture
def config() -> ExactSimConfig:
    return ExactSimConfig(start_time=START, seed_items=1500)


async def _sync(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, since: int, select: str = "Timestamp,ID,Code"
) -> tuple[list[dict[str, Any]], int]:
    """Follow `__next` to the end; return rows and the highest Timestamp (the next cursor)."""
    response = await client.get(
        url(path), params={"$filter": f"Timestamp gt {since}L", "$select": select}, headers=headers
    )
    rows: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()["d"]
        assert len(body["results"]) <= 1000
        rows += body["results"]
        if "__next" not in body:
            break
        assert "$skiptoken=" in body["__next"]
        response = await client.get(body["__next"], headers=headers)
    cursor = max((row["Timestamp"] for row in rows), default=since)
    return rows, cursor


async def test_cursor_returns_only_changes(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    rows, cursor = await _sync(client, headers, "sync/Logistics/Items", 1)
    assert len(rows) == 1500
    assert len({row["ID"] for row in rows}) == 1500
    assert [row["Timestamp"] for row in rows] == sorted(row["Timestamp"] for row in rows)
    nothing, same = await _sync(client, headers, "sync/Logistics/Items", cursor)
    assert nothing == [] and same == cursor
    response = await client.post("/_sim/items", json={"code": "SKU-0042", "Description": "Renamed in the UI"})
    assert response.status_code == 200, response.text
    sim.upsert_item("SKU-9999", {"Description": "Brand new", "IsSalesItem": True})
    changed, newer = await _sync(client, headers, "sync/Logistics/Items", cursor, "Timestamp,Code,Description")
    assert [(row["Code"], row["Description"]) for row in changed] == [
        ("SKU-0042", "Renamed in the UI"),
        ("SKU-9999", "Brand new"),
    ]
    assert newer > cursor


async def test_stock_positions_view(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    _, cursor = await _sync(client, headers, "sync/Inventory/StockPositions", 1, "Timestamp,ItemCode")
    sim.set_stock("SKU-0003", 17)
    rows, _ = await _sync(
        client, headers, "sync/Inventory/StockPositions", cursor, "Timestamp,ID,ItemId,ItemCode,CurrentStock,FreeStock"
    )
    assert len(rows) == 1
    assert rows[0]["ItemCode"] == "SKU-0003"
    assert rows[0]["CurrentStock"] == 17
    assert rows[0]["ItemId"] == sim.item_by_code("SKU-0003")["ID"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$filter": "Timestamp gt 1"}, "$select"),
        ({"$filter": "Timestamp gt 1", "$select": "*"}, "$select=*"),
        ({"$select": "ID"}, "Timestamp"),
        ({"$filter": "Code eq 'SKU-0001'", "$select": "ID"}, "Timestamp"),
        ({"$filter": "Timestamp gt 1", "$select": "ID,Nope"}, "Nope"),
    ],
)
async def test_sync_strictness(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], fragment: str
) -> None:
    response = await client.get(url("sync/Logistics/Items"), params=params, headers=headers)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]["value"]


async def test_sync_deleted(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    account = sim.upsert_account({"Name": "Short-lived BV"})
    _, cursor = await _sync(client, headers, "sync/Deleted", 1, "Timestamp,EntityKey")
    deleted = await client.delete(url(f"crm/Accounts(guid'{account['ID']}')"), headers=headers)
    assert deleted.status_code == 204
    rows, _ = await _sync(client, headers, "sync/Deleted", cursor, "Timestamp,EntityKey,EntityType,DeletedDate")
    assert [(row["EntityKey"], row["EntityType"]) for row in rows] == [(account["ID"], 2)]
    # The deletion log keeps two months only.
    sim.clock.advance(62 * 86400)
    headers["Authorization"] = f"Bearer {sim.issue_tokens()['access_token']}"
    gone, _ = await _sync(client, headers, "sync/Deleted", cursor, "Timestamp,EntityKey")
    assert gone == []


async def test_sales_order_header_sync_has_id(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    rows, _ = await _sync(client, headers, "sync/SalesOrder/SalesOrderHeaders", 1, "Timestamp,ID,OrderID,OrderNumber")
    assert len(rows) == 3
    assert all(row["ID"] == row["OrderID"] for row in rows)
