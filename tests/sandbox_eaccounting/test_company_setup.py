"""What the 2020 description and eaccounting-facts.md allow that a lenient simulator would hide: the stock module
making StockBalance read-only, answers typed only `object`, and the usual first-connection failures. Each is a
setting of the simulator, switched at run time through `/_sim/settings`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.eaccounting import EAccountingSim


async def _article(client: httpx.AsyncClient, auth: dict[str, str], number: str) -> dict[str, Any]:
    found = await client.get("/v2/articles", params={"$filter": f"Number eq '{number}'"}, headers=auth)
    data: list[dict[str, Any]] = found.json()["Data"]
    return data[0]


def _writable(article: dict[str, Any]) -> dict[str, Any]:
    read_only = {"StockBalanceReserved", "StockBalanceAvailable", "CodingName", "UnitName", "UnitAbbreviation"}
    return {k: v for k, v in article.items() if v is not None and k not in read_only}


async def test_with_the_stock_module_a_stock_balance_put_is_accepted_and_ignored(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    settings = (await client.get("/v2/companysettings", headers=auth)).json()
    assert "stock" not in settings["ActivatedModules"]
    article = await _article(client, auth, "SKU-0003")
    written = await client.put(
        f"/v2/articles/{article['Id']}", json=_writable(article) | {"StockBalance": 77}, headers=auth
    )
    assert written.status_code == 200 and written.json()["StockBalance"] == 77

    switched = await client.post("/_sim/settings", json={"stock_module": True})
    assert switched.json()["stock_module"] is True
    settings = (await client.get("/v2/companysettings", headers=auth)).json()
    assert "stock" in settings["ActivatedModules"]
    again = await client.put(
        f"/v2/articles/{article['Id']}", json=_writable(article) | {"StockBalance": 5}, headers=auth
    )
    assert again.status_code == 200  # accepted: nothing tells the client
    assert again.json()["StockBalance"] == 77  # ... but the value was ignored
    assert (await _article(client, auth, "SKU-0003"))["StockBalance"] == 77


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("full", None), ("partial", {"Id", "CustomerNumber", "Name"}), ("empty", set())],
)
async def test_a_customer_by_id_answers_what_the_object_type_allows(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim, mode: str, expected: set[str] | None
) -> None:
    customer = (await client.get("/v2/customers", params={"$pagesize": 1}, headers=auth)).json()["Data"][0]
    await client.post("/_sim/settings", json={"object_answers": mode})
    answer = (await client.get(f"/v2/customers/{customer['Id']}", headers=auth)).json()
    assert set(answer) == (set(customer) if expected is None else expected)
    if expected:
        assert answer["Id"] == customer["Id"]


async def test_an_order_put_answers_only_an_object_by_default(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    order = (await client.get("/v2/orders", params={"$filter": "Status eq 2", "$pagesize": 1}, headers=auth)).json()[
        "Data"
    ][0]
    body = {k: v for k, v in order.items() if v is not None} | {"YourReference": "PO-9"}
    answer = await client.put(f"/v2/orders/{order['Id']}", json=body, headers=auth)
    assert answer.status_code == 200 and set(answer.json()) == {"Id", "Number", "Status"}
    sim.object_answers = "empty"
    assert (await client.put(f"/v2/orders/{order['Id']}", json=body, headers=auth)).json() == {}
    stored = (await client.get(f"/v2/orders/{order['Id']}", headers=auth)).json()
    assert stored["YourReference"] == "PO-9"


@pytest.mark.parametrize(
    ("problem", "code", "text"),
    [("api_module", 4002, "No access to module: api_standard"), ("startup_guide", 4003, "startup guide")],
)
async def test_first_connection_failures_answer_every_call(
    client: httpx.AsyncClient, auth: dict[str, str], problem: str, code: int, text: str
) -> None:
    await client.post("/_sim/settings", json={"access_problem": problem})
    for path in ("/v2/companysettings", "/v2/articles"):
        refused = await client.get(path, headers=auth)
        assert refused.status_code == 403
        assert refused.json()["ErrorCode"] == code and text in refused.json()["DeveloperErrorMessage"]
    await client.post("/_sim/settings", json={"clear_access_problem": True})
    assert (await client.get("/v2/companysettings", headers=auth)).status_code == 200
