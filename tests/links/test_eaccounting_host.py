"""The eAccounting simulator serving two companies behind one host: the company chosen at consent is bound to the
tokens, a token reaches its company only, and the rate limit is counted per client and endpoint across companies."""

from __future__ import annotations

import httpx

from sandbox.eaccounting import EAccountingSimConfig
from sandbox.eaccounting.host import create_eaccounting_host
from tests.harness import START

HOST = "http://eaccounting.test"
REDIRECT = "http://localhost:8000/oauth/eaccounting/callback"
CLIENT = ("ledgerbridge-demo", "demo-eaccounting-client-secret")


async def _consent(http: httpx.AsyncClient, company: str | None) -> str:
    if company is not None:
        assert (await http.post("/_sim/consent-company", json={"company": company})).status_code == 200
    response = await http.get(
        "/connect/authorize",
        params={
            "client_id": CLIENT[0],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "ea:api ea:sales offline_access",
            "state": "s",
        },
    )
    code = httpx.URL(response.headers["location"]).params["code"]
    token = await http.post(
        "/connect/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}, auth=CLIENT
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


async def test_each_token_reaches_the_company_chosen_at_its_consent() -> None:
    host = create_eaccounting_host(EAccountingSimConfig(start_time=START), ["Koffie Noord BV", "Koffie Zuid BV"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=HOST) as http:
        north, south = await _consent(http, "Koffie Noord BV"), await _consent(http, "Koffie Zuid BV")

        async def company(token: str) -> str:
            response = await http.get("/v2/companysettings", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
            return str(response.json()["Name"])

        assert await company(north) == "Koffie Noord BV"
        assert await company(south) == "Koffie Zuid BV"
        # An order placed in one company is invisible to the other's token.
        order = host.sim("Koffie Zuid BV").create_order("1001", [("SKU-0001", 1)])
        seen = {
            name: [
                o["Id"]
                for o in (await http.get("/v2/orders", headers={"Authorization": f"Bearer {token}"})).json()["Data"]
            ]
            for name, token in (("north", north), ("south", south))
        }
        assert order["Id"] in seen["south"] and order["Id"] not in seen["north"]
        assert (await http.post("/_sim/consent-company", json={"company": "Nowhere AB"})).status_code == 404


async def test_the_rate_limit_is_counted_per_client_and_endpoint_across_companies() -> None:
    config = EAccountingSimConfig(start_time=START, rate_limit_per_minute=3)
    host = create_eaccounting_host(config, ["A AB", "B AB"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=HOST) as http:
        a, b = await _consent(http, "A AB"), await _consent(http, "B AB")
        statuses = [
            (await http.get("/v2/units", headers={"Authorization": f"Bearer {token}"})).status_code
            for token in (a, b, a, b)
        ]
        assert statuses == [200, 200, 200, 429]
        assert host.counters()["rate_limited"] == 1
