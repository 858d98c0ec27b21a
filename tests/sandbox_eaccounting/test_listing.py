"""Paging with `Meta`, OData `$filter`/`$orderby`/`$select`, and `ModifiedUtc` cursors."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.eaccounting import EAccountingSim


async def _get(client: httpx.AsyncClient, auth: dict[str, str], path: str, **params: Any) -> httpx.Response:
    return await client.get(path, params=params, headers=auth)


async def test_paging_walks_every_article_once(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    first = (await _get(client, auth, "/v2/articles", **{"$pagesize": 7})).json()
    meta = first["Meta"]
    assert meta["TotalNumberOfResults"] == 42  # SKU-0001..0040, SKU-9999, SHIPPING
    assert meta["PageSize"] == 7
    assert meta["TotalNumberOfPages"] == 6
    assert meta["CurrentPage"] == 1
    assert meta["ServerTimeUtc"] == "2026-03-02T10:00:00.000Z"
    seen = [a["Number"] for a in first["Data"]]
    for page in range(2, meta["TotalNumberOfPages"] + 1):
        body = (await _get(client, auth, "/v2/articles", **{"$pagesize": 7, "$page": page})).json()
        assert body["Meta"]["CurrentPage"] == page
        seen += [a["Number"] for a in body["Data"]]
    assert len(seen) == len(set(seen)) == 42
    assert {f"SKU-{i:04d}" for i in range(1, 41)} | {"SKU-9999", "SHIPPING"} == set(seen)
    beyond = (await _get(client, auth, "/v2/articles", **{"$pagesize": 7, "$page": 7})).json()
    assert beyond["Data"] == []
    assert beyond["Meta"]["TotalNumberOfResults"] == 42


async def test_default_page_size_is_50(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    assert (await _get(client, auth, "/v2/articles")).json()["Meta"]["PageSize"] == 50


async def test_page_options_are_checked(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for params in ({"$pagesize": 1001}, {"$pagesize": 0}, {"$page": 0}, {"$page": "two"}, {"$top": 5}):
        response = await _get(client, auth, "/v2/articles", **params)
        assert response.status_code == 400, params
        assert response.json()["ErrorCode"] == 2000
    assert (await _get(client, auth, "/v2/articles", **{"$pagesize": 1000})).status_code == 200


async def test_modified_utc_cursor_returns_only_changed_orders(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    cursor = (await _get(client, auth, "/v2/orders", **{"$pagesize": 1})).json()["Meta"]["ServerTimeUtc"]
    assert (await _get(client, auth, "/v2/orders", **{"$filter": f"ModifiedUtc gt {cursor}"})).json()["Data"] == []
    sim.advance_clock(90)
    order = (await _get(client, auth, "/v2/orders", **{"$filter": "Status eq 2", "$pagesize": 1})).json()["Data"][0]
    order["YourReference"] = "changed by a clerk"
    put = await client.put(f"/v2/orders/{order['Id']}", json=_writable_order(order), headers=auth)
    assert put.status_code == 200, put.text
    changed = (await _get(client, auth, "/v2/orders", **{"$filter": f"ModifiedUtc gt {cursor}"})).json()
    assert [o["Id"] for o in changed["Data"]] == [order["Id"]]
    assert changed["Data"][0]["ModifiedUtc"] == "2026-03-02T10:01:30.000Z"


def _writable_order(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k not in ("Id", "CreatedUtc", "ModifiedUtc", "Number")}


async def test_filter_operators_and_functions(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    async def numbers(expr: str, path: str = "/v2/articles") -> list[str]:
        response = await _get(client, auth, path, **{"$filter": expr, "$pagesize": 100})
        assert response.status_code == 200, response.text
        return [a["Number"] for a in response.json()["Data"]]

    assert await numbers("Number eq 'SKU-0001'") == ["SKU-0001"]
    assert await numbers("startswith(Number, 'SKU-00') and NetPrice gt 50") == ["SKU-0020", "SKU-0024", "SKU-0025"]
    assert await numbers("contains(Name, 'tea')") == ["SKU-0013", "SKU-0014", "SKU-0015", "SKU-0016", "SKU-0017"]
    assert await numbers("Number eq 'SKU-9999' or Number eq 'SHIPPING'") == ["SKU-9999", "SHIPPING"]
    assert "SKU-0040" not in await numbers("StockBalance ne 0")
    customers = await _get(client, auth, "/v2/customers", **{"$filter": "EmailAddress eq 'lisa.bakker@example.nl'"})
    [lisa] = customers.json()["Data"]
    assert lisa["IsPrivatePerson"] is True
    assert lisa["CustomerNumber"] == "1002"
    by_id = await _get(client, auth, "/v2/orders", **{"$filter": f"CustomerId eq {lisa['Id']}"})
    assert {o["CustomerId"] for o in by_id.json()["Data"]} == {lisa["Id"]}


async def test_filter_mistakes_are_400_with_a_message(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    cases = {
        "ModifiedUtc gt '2026-01-01T00:00:00Z'": "incompatible types",
        "Nope eq 1": "Could not find a property named 'Nope'",
        "Status eq": "Unexpected end",
        "Rows/any(r: r/ArticleNumber eq 'x')": "not supported",
        "ModifiedUtc gt 2026-01-01": "full datetime",
    }
    for expr, fragment in cases.items():
        response = await _get(client, auth, "/v2/orders", **{"$filter": expr})
        assert response.status_code == 400, expr
        assert fragment in response.json()["DeveloperErrorMessage"], expr


async def test_orderby_and_select(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = (await _get(client, auth, "/v2/orders", **{"$orderby": "Number desc", "$select": "Number,Status"})).json()
    numbers = [o["Number"] for o in body["Data"]]
    assert numbers == sorted(numbers, reverse=True)
    assert set(body["Data"][0]) == {"Number", "Status"}
    bad = await _get(client, auth, "/v2/orders", **{"$orderby": "Rows desc"})
    assert bad.status_code == 400


async def test_vat_codes_are_paged_as_the_newest_description_has_it(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    """2018 and 2020 answer a plain array; the 2024 description pages `GET /v2/vatcodes` (eaccounting-facts.md)."""
    paged = (await _get(client, auth, "/v2/vatcodes")).json()
    assert paged["Meta"]["CurrentPage"] == 1 and paged["Meta"]["PageSize"] == 50
    codes = {v["Code"] for v in paged["Data"]}
    assert codes >= {"1A", "1B", "1E", "3A", "3B"}
    rates = {v["Code"]: v["VatRate"] for v in paged["Data"]}
    assert (rates["1A"], rates["1B"], rates["1E"]) == (0.21, 0.09, 0)
    second = (await _get(client, auth, "/v2/vatcodes", **{"$page": "2", "$pagesize": "2"})).json()
    assert second["Meta"]["CurrentPage"] == 2 and len(second["Data"]) == 2
    sim.vatcodes_paged = False
    plain = (await _get(client, auth, "/v2/vatcodes")).json()
    assert isinstance(plain, list) and {v["Code"] for v in plain} == codes


async def test_reference_data_endpoints(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for path in (
        "/v2/termsofpayments",
        "/v2/deliverymethods",
        "/v2/deliveryterms",
        "/v2/units",
        "/v2/articlelabels",
        "/v2/articleaccountcodings",
        "/v2/costcenters",
        "/v2/countries",
        "/v2/currencies",
        "/v2/fiscalyears",
        "/v2/accounts",
        "/v2/projects",
        "/v2/vouchers",
        "/v2/customerinvoices",
        "/v2/customerinvoicedrafts",
    ):
        response = await _get(client, auth, path)
        assert response.status_code == 200, path
        assert set(response.json()) == {"Meta", "Data"}, path
    centers = (await _get(client, auth, "/v2/costcenters")).json()["Data"]
    assert [len(c["Items"]) for c in centers] == [3, 3, 0]
    terms = (await _get(client, auth, "/v2/termsofpayments")).json()["Data"]
    assert sorted((t["NumberOfDays"], t["TermsOfPaymentTypeId"]) for t in terms) == [(0, 2), (0, 3), (8, 0), (30, 0)]
    settings = (await _get(client, auth, "/v2/companysettings")).json()
    assert (settings["CountryCode"], settings["CurrencyCode"]) == ("NL", "EUR")
    home = (await _get(client, auth, "/v2/countries/NL")).json()
    assert home["IsEuMember"] is True
