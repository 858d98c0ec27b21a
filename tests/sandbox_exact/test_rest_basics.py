"""Status codes and envelopes of the REST surface: 401, 403, 404, 405, 406, error body shape."""

from __future__ import annotations

import httpx

from sandbox.exact import ExactSim, ExactSimConfig, create_exact_app

from .conftest import BASE_URL, START, url


def _error_text(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == ""
    assert body["error"]["message"]["lang"] == ""
    text: str = body["error"]["message"]["value"]
    return text


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(url("logistics/Items"), headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert _error_text(response) == "Unauthorized"
    assert "X-RateLimit-Remaining" not in response.headers


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(
        url("logistics/Items"), headers={"Authorization": "Bearer nope", "Accept": "application/json"}
    )
    assert response.status_code == 401


async def test_accept_json_is_required(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(
        url("vat/VATCodes"), headers={"Authorization": headers["Authorization"], "Accept": "*/*"}
    )
    assert response.status_code == 406
    assert "Accept: application/json" in _error_text(response)


async def test_wrong_division_is_403(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/999/vat/VATCodes", headers=headers)
    assert response.status_code == 403
    assert _error_text(response) == "Forbidden - WrongDivision"


async def test_unknown_endpoint_is_404(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(url("logistics/Nope"), headers=headers)
    assert response.status_code == 404
    assert "logistics/Nope" in _error_text(response)


async def test_unknown_id_is_404(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(url("crm/Accounts(guid'00000000-0000-0000-0000-000000000001')"), headers=headers)
    assert response.status_code == 404


async def test_method_not_allowed(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    entry = "00000000-0000-0000-0000-000000000001"
    response = await client.delete(url(f"salesorder/GoodsDeliveries(guid'{entry}')"), headers=headers)
    assert response.status_code == 405
    response = await client.post(url("vat/VATCodes"), headers=headers, json={"Code": "9"})
    assert response.status_code == 405


async def test_get_by_key_and_deferred_lines(client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]) -> None:
    order = next(iter(sim.division().store("SalesOrders").records.values()))
    response = await client.get(url(f"salesorder/SalesOrders(guid'{order['OrderID']}')"), headers=headers)
    assert response.status_code == 200
    d = response.json()["d"]
    assert d["OrderID"] == order["OrderID"]
    assert d["__metadata"]["type"] == "Exact.Web.Api.Models.SalesOrder.SalesOrder"
    deferred = d["SalesOrderLines"]["__deferred"]["uri"]
    lines = await client.get(deferred, headers=headers)
    assert lines.status_code == 200
    assert [line["OrderID"] for line in lines.json()["d"]["results"]] == [order["OrderID"]] * 2


async def test_scope_violation_is_403() -> None:
    app = create_exact_app(ExactSimConfig(start_time=START, granted_scopes=frozenset({"Logistics items"})))
    sim: ExactSim = app.state.sim
    headers = {"Authorization": f"Bearer {sim.issue_tokens()['access_token']}", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        allowed = await client.get(url("logistics/Items"), params={"$filter": "Code eq 'SKU-0001'"}, headers=headers)
        denied = await client.get(url("crm/Accounts"), params={"$filter": "Name eq 'x'"}, headers=headers)
    assert allowed.status_code == 200
    assert denied.status_code == 403
    assert _error_text(denied) == "Forbidden - Application Scope Violated"


async def test_dates_and_decimals_on_the_wire(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(
        url("logistics/Items"),
        params={"$filter": "Code eq 'SKU-0001'", "$select": "StandardSalesPrice,Created"},
        headers=headers,
    )
    assert '"StandardSalesPrice":24.95' in response.text  # exact decimal text, never a float artefact
    created = response.json()["d"]["results"][0]["Created"]
    # START is 10:00 UTC = 12:00 Amsterdam (CEST); Exact writes the wall clock as if it were UTC.
    assert created == f"/Date({int(START.timestamp() * 1000) + 2 * 3600 * 1000})/"
    assert "\\/Date(" in response.text
