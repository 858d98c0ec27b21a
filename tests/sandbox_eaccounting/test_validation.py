"""Request bodies against the vendor's schema: unknown and missing fields, formats, references."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.eaccounting import EAccountingSim


def _article(sim: EAccountingSim, **extra: Any) -> dict[str, Any]:
    coding = next(iter(sim.table("articleaccountcodings").values()))
    unit = next(iter(sim.table("units").values()))
    body = {"IsActive": True, "Number": "SKU-0500", "Name": "Pour-over kettle", "CodingId": coding["Id"]}
    body |= {"UnitId": unit["Id"], "NetPrice": 399.0}
    return body | extra


def _message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ErrorCode"] == 2000
    return str(body["DeveloperErrorMessage"])


async def test_create_then_read_article(client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim) -> None:
    created = await client.post("/v2/articles", json=_article(sim, StockBalance=12), headers=auth)
    assert created.status_code == 200, created.text
    article = created.json()
    assert article["ChangedUtc"] == "2026-03-02T10:00:00.000Z"
    assert article["GrossPrice"] == 482.79  # 399 plus 21 % VAT
    assert article["StockBalanceAvailable"] == 12
    assert article["UnitAbbreviation"] == "st"
    fetched = (await client.get(f"/v2/articles/{article['Id']}", headers=auth)).json()
    assert fetched == article


async def test_unknown_property_is_refused_by_name(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    message = _message(await client.post("/v2/articles", json=_article(sim, StockLevel=3), headers=auth))
    assert "Could not find member 'StockLevel' on object of type 'ArticleApi'" in message


async def test_unknown_property_in_a_row_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    order = next(o for o in sim.table("orders").values() if o["Status"] == 2)
    body = {k: v for k, v in order.items() if k not in ("Id", "CreatedUtc", "ModifiedUtc", "Number")}
    body = _jsonable(body)
    body["Rows"][0]["Sku"] = "SKU-0001"
    message = _message(await client.put(f"/v2/orders/{order['Id']}", json=body, headers=auth))
    assert "Path 'Rows[0].Sku'" in message


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


async def test_missing_required_properties_are_named(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    message = _message(await client.post("/v2/customers", json={"Name": "Only a name"}, headers=auth))
    for field in ("InvoiceCity", "InvoicePostalCode", "TermsOfPaymentId", "IsPrivatePerson", "IsActive"):
        assert f"The {field} field is required." in message


async def test_formats_lengths_and_decimals(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    assert "System.Guid" in _message(await client.post("/v2/articles", json=_article(sim, UnitId="kg"), headers=auth))
    long_name = _message(await client.post("/v2/articles", json=_article(sim, Name="x" * 51), headers=auth))
    assert "maximum length of 50" in long_name
    cents = _message(await client.post("/v2/articles", json=_article(sim, NetPrice=1.005), headers=auth))
    assert "NetPrice" in cents
    typed = _message(await client.post("/v2/articles", json=_article(sim, IsActive="yes"), headers=auth))
    assert "IsActive" in typed
    null_required = _message(await client.post("/v2/articles", json=_article(sim, Number=None), headers=auth))
    assert "Number" in null_required


async def test_nulls_are_accepted_for_optional_fields(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    response = await client.post("/v2/articles", json=_article(sim, NameEnglish=None, GrossPrice=None), headers=auth)
    assert response.status_code == 200, response.text


async def test_duplicate_number_is_conflict(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    response = await client.post("/v2/articles", json=_article(sim, Number="SKU-0001"), headers=auth)
    assert response.status_code == 409
    assert response.json()["ErrorCode"] == 4000


async def test_unknown_reference_is_resource_not_found(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    body = _article(sim, CodingId="00000000-0000-0000-0000-000000000001")
    response = await client.post("/v2/articles", json=body, headers=auth)
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 3000
    assert "CodingId" in response.json()["DeveloperErrorMessage"]


async def test_ids_in_paths(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    missing = await client.get("/v2/customers/00000000-0000-0000-0000-000000000001", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["ErrorCode"] == 3000
    assert (await client.get("/v2/customers/not-a-guid", headers=auth)).status_code == 400


async def test_body_must_be_json(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    form = await client.post("/v2/articlelabels", data={"Name": "x"}, headers=auth)
    assert form.status_code == 415
    broken = await client.post("/v2/articlelabels", content=b"{", headers=auth | {"Content-Type": "application/json"})
    assert broken.status_code == 400
    empty = await client.post("/v2/articlelabels", content=b"", headers=auth | {"Content-Type": "application/json"})
    assert empty.status_code == 400


async def test_put_replaces_and_moves_changed_utc(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    customer = (await client.get("/v2/customers", params={"$filter": "CustomerNumber eq '1001'"}, headers=auth)).json()
    record = customer["Data"][0]
    sim.advance_clock(10)
    body = {k: v for k, v in record.items() if k not in ("Id", "ChangedUtc", "TermsOfPayment", "PayToAccountId")}
    body["EmailAddress"] = "new@cafedejordaan.nl"
    updated = await client.put(f"/v2/customers/{record['Id']}", json=body, headers=auth)
    assert updated.status_code == 200, updated.text
    assert updated.json()["EmailAddress"] == "new@cafedejordaan.nl"
    assert updated.json()["ChangedUtc"] == "2026-03-02T10:00:10.000Z"
    assert updated.json()["TermsOfPayment"]["NumberOfDays"] == 30


async def test_customer_number_is_assigned_when_missing(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    terms = next(iter(sim.table("termsofpayments").values()))
    body = {
        "Name": "Nils Nilsson",
        "IsPrivatePerson": True,
        "IsActive": True,
        "InvoiceCity": "Lund",
        "InvoicePostalCode": "222 21",
        "TermsOfPaymentId": terms["Id"],
        "EmailAddress": "nils@example.se",
    }
    created = (await client.post("/v2/customers", json=body, headers=auth)).json()
    assert created["CustomerNumber"] == "1016"
    assert created["CurrencyCode"] == "EUR"


async def test_unimplemented_operation_says_so(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/v2/accounts/standardaccounts", headers=auth)
    assert response.status_code == 501
    assert "not implemented" in response.json()["DeveloperErrorMessage"]


async def test_renumbered_article_frees_its_old_number(
    client: httpx.AsyncClient, auth: dict[str, str], sim: EAccountingSim
) -> None:
    created = (await client.post("/v2/articles", json=_article(sim), headers=auth)).json()
    body = _article(sim, Number="SKU-0501")
    assert (await client.put(f"/v2/articles/{created['Id']}", json=body, headers=auth)).status_code == 200
    assert (await client.post("/v2/articles", json=_article(sim), headers=auth)).status_code == 200
    clash = await client.put(f"/v2/articles/{created['Id']}", json=_article(sim), headers=auth)
    assert clash.status_code == 409
