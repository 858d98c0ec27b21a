"""OData: paging by `__next` to the end, `$top`, `$select`, `$filter` operators and literals, strictness."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.exact import ExactSim, ExactSimConfig
from sandbox.exact.seed import VAT_CODES

from .conftest import START, url


@pytest.fixture
def config() -> ExactSimConfig:
    return ExactSimConfig(start_time=START, seed_items=150)


async def _get(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: str) -> httpx.Response:
    return await client.get(url(path), params=params, headers=headers)


async def _results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["d"]["results"]
    return results


async def test_paging_follows_next_to_the_end(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _get(
        client, headers, "logistics/Items", **{"$filter": "IsSalesItem eq true", "$select": "ID,Code"}
    )
    codes: list[str] = []
    pages = 0
    while True:
        pages += 1
        body = response.json()["d"]
        assert len(body["results"]) <= 60
        codes += [row["Code"] for row in body["results"]]
        if "__next" not in body:
            break
        assert "$skiptoken=guid'" in body["__next"]
        assert "$select=ID,Code" in body["__next"]
        response = await client.get(body["__next"], headers=headers)
    assert pages == 3
    assert sorted(codes) == [f"SKU-{n:04d}" for n in range(1, 151)]


async def test_top_returns_a_bare_array(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _get(client, headers, "logistics/Items", **{"$filter": "IsStockItem eq true", "$top": "5"})
    assert response.status_code == 200
    assert isinstance(response.json()["d"], list)
    assert len(response.json()["d"]) == 5


async def test_top_larger_than_a_page_pages_with_the_rest(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _get(
        client, headers, "logistics/Items", **{"$filter": "IsStockItem eq true", "$top": "100", "$select": "ID"}
    )
    first = await _results(response)
    assert len(first) == 60
    second = await _results(await client.get(response.json()["d"]["__next"], headers=headers))
    assert len(second) == 40
    assert {r["ID"] for r in first}.isdisjoint(r["ID"] for r in second)


async def test_inlinecount(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _get(
        client,
        headers,
        "logistics/Items",
        **{"$filter": "startswith(Code,'SKU-00') eq true", "$select": "Code", "$inlinecount": "allpages"},
    )
    assert response.json()["d"]["__count"] == "99"


async def test_select_limits_properties(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    rows = await _results(
        await _get(client, headers, "logistics/Items", **{"$filter": "Code eq 'SKU-0002'", "$select": "Code,Stock"})
    )
    assert set(rows[0]) == {"__metadata", "Code", "Stock"}


async def test_unknown_select_property_is_400(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _get(client, headers, "logistics/Items", **{"$filter": "Code eq 'x'", "$select": "Code,Nope"})
    assert response.status_code == 400
    assert "Nope" in response.json()["error"]["message"]["value"]


async def test_select_required_where_exact_requires_it(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    missing = await _get(client, headers, "salesorder/GoodsDeliveries", **{"$filter": "DeliveryNumber gt 0"})
    assert missing.status_code == 400
    assert (
        missing.json()["error"]["message"]["value"] == "Please add a $select or a $top=1 statement to the query string"
    )
    top_one = await _get(
        client, headers, "salesorder/GoodsDeliveries", **{"$filter": "DeliveryNumber gt 0", "$top": "1"}
    )
    assert top_one.status_code == 200
    bulk = await _get(client, headers, "bulk/SalesOrder/SalesOrderLines", **{"$filter": "Quantity gt 0"})
    assert bulk.status_code == 400


async def test_mandatory_filter(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _get(client, headers, "logistics/Items", **{"$select": "ID"})
    assert response.status_code == 400
    assert "$filter" in response.json()["error"]["message"]["value"]
    # Reference data without a sync counterpart may be listed whole.
    assert (await _get(client, headers, "vat/VATCodes")).status_code == 200


async def test_bulk_serves_only_what_the_reference_lists(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The reference lists bulk/SalesOrder/SalesOrderLines with its own fields; picqer's other Bulk* classes (e.g.
    bulk/Logistics/Items) only override their parent's URL and are not in the file, so they are not served."""
    rows = await _results(
        await _get(
            client, headers, "bulk/SalesOrder/SalesOrderLines", **{"$filter": "Quantity gt 0", "$select": "ID,ItemCode"}
        )
    )
    assert len(rows) == 6 and set(rows[0]) == {"ID", "ItemCode"}
    lacking = await _get(
        client,
        headers,
        "bulk/SalesOrder/SalesOrderLines",
        **{"$filter": "Quantity gt 0", "$select": "QuantityDelivered"},
    )
    assert lacking.status_code == 400 and "QuantityDelivered" in lacking.text
    unlisted = await _get(
        client, headers, "bulk/Logistics/Items", **{"$filter": "IsStockItem eq true", "$select": "ID"}
    )
    assert unlisted.status_code == 404


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Code eq 'SKU-0007'", ["SKU-0007"]),
        ("Code eq 'sku-0007'", ["SKU-0007"]),  # SQL Server collation: case-insensitive
        ("Code eq 'SKU-0007' or Code eq 'SKU-0009'", ["SKU-0007", "SKU-0009"]),
        ("(Code eq 'SKU-0007' or Code eq 'SKU-0009') and StandardSalesPrice gt 20", ["SKU-0007"]),
        ("substringof('Espresso beans', Description) and Code le 'SKU-0041'", ["SKU-0001", "SKU-0041"]),
        ("startswith(Code, 'SKU-000') and StandardSalesPrice ge 24.95", ["SKU-0001", "SKU-0004", "SKU-0007"]),
        ("Code ne 'SKU-0001' and Code lt 'SKU-0003'", ["SKU-0002"]),
        ("Description eq 'Rooibos tea 100g'", ["SKU-0015"]),
        ("Notes eq null and Code eq 'SKU-0003'", ["SKU-0003"]),
        ("not (IsStockItem eq true)", []),
        ("Created ge datetime'2026-05-04T12:00:00' and Code eq 'SKU-0001'", ["SKU-0001"]),
        ("Created gt datetime'2026-05-04T12:00:00' and Code eq 'SKU-0001'", []),
    ],
)
async def test_filter_expressions(
    client: httpx.AsyncClient, headers: dict[str, str], expression: str, expected: list[str]
) -> None:
    rows = await _results(await _get(client, headers, "logistics/Items", **{"$filter": expression, "$select": "Code"}))
    assert sorted(row["Code"] for row in rows) == expected


async def test_guid_and_quoted_string_literals(
    client: httpx.AsyncClient, sim: ExactSim, headers: dict[str, str]
) -> None:
    account = sim.upsert_account({"Name": "O'Brien Coffee", "Status": "C"})
    by_id = await _results(
        await _get(client, headers, "crm/Accounts", **{"$filter": f"ID eq guid'{account['ID']}'", "$select": "Name"})
    )
    assert by_id[0]["Name"] == "O'Brien Coffee"
    by_name = await _results(
        await _get(client, headers, "crm/Accounts", **{"$filter": "Name eq 'O''Brien Coffee'", "$select": "ID,Code"})
    )
    assert by_name[0]["ID"] == account["ID"]
    code = by_name[0]["Code"]
    assert len(code) == 18 and code.strip() == "6"  # 18 characters, right-aligned
    unpadded = await _results(
        await _get(client, headers, "crm/Accounts", **{"$filter": "Code eq '6'", "$select": "ID"})
    )
    assert unpadded == []
    trimmed = await _results(
        await _get(client, headers, "crm/Accounts", **{"$filter": "trim(Code) eq '6'", "$select": "ID"})
    )
    assert [row["ID"] for row in trimmed] == [account["ID"]]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("ID eq 'abc'", "incompatible"),
        ("Nope eq 1", "Nope"),
        ("Code eq", "Syntax error"),
        ("Code eq 'x' and", "Syntax error"),
        ("ItemGroup/Code eq 'x'", "navigation"),
        ("ID eq guid'not-a-guid'", "GUID"),
        ("frobnicate(Code) eq 'x'", "unknown function"),
    ],
)
async def test_bad_filters_are_400(
    client: httpx.AsyncClient, headers: dict[str, str], expression: str, fragment: str
) -> None:
    response = await _get(client, headers, "logistics/Items", **{"$filter": expression})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]["value"]


async def test_skip_and_unknown_options_are_refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    skip = await _get(client, headers, "vat/VATCodes", **{"$skip": "10"})
    assert skip.status_code == 400
    unknown = await _get(client, headers, "vat/VATCodes", **{"$format": "json"})
    assert unknown.status_code == 400


async def test_orderby(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    rows = await _results(
        await _get(
            client,
            headers,
            "logistics/Items",
            **{"$filter": "Code le 'SKU-0005'", "$select": "Code", "$orderby": "Code desc"},
        )
    )
    assert [row["Code"] for row in rows] == ["SKU-0005", "SKU-0004", "SKU-0003", "SKU-0002", "SKU-0001"]


async def test_count_segment(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(url("vat/VATCodes/$count"), headers={"Authorization": headers["Authorization"]})
    assert response.status_code == 200
    assert response.text == str(len(VAT_CODES))


async def test_expand_lines_with_select(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    rows = await _results(
        await _get(
            client,
            headers,
            "salesorder/SalesOrders",
            **{
                "$filter": "YourRef eq 'DEMO-1001'",
                "$expand": "SalesOrderLines",
                "$select": "OrderNumber,SalesOrderLines/ItemCode,SalesOrderLines/Quantity",
            },
        )
    )
    lines = rows[0]["SalesOrderLines"]["results"]
    assert [(line["ItemCode"], line["Quantity"]) for line in lines] == [("SKU-0001", 1), ("SKU-0002", 2)]
    no_expand = await _get(
        client, headers, "salesorder/SalesOrders", **{"$filter": "YourRef eq 'x'", "$select": "SalesOrderLines/Item"}
    )
    assert no_expand.status_code == 400
