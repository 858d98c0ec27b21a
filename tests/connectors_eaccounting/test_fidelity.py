"""The client against what the 2020 description and eaccounting-facts.md allow: answers typed only `object`, paged
VAT codes, date-only fields typed date-time, the usual first-connection failures. Every client method raises only
the connector error tree (connectors/errors.py), and no write is repeated because its answer was thin."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest

from connectors.eaccounting import EAccountingClient, build_eaccounting_client
from connectors.errors import AccessNotSetUp, NotFound, PermanentError, TransientError

from .conftest import Harness


def _puts(harness: Harness, path: str) -> int:
    return harness.recorder.count("PUT", path)


@pytest.mark.parametrize("mode", ["full", "partial", "empty"])
async def test_get_customer_holds_whatever_the_object_typed_answer_is(
    ea: EAccountingClient, harness: Harness, mode: str
) -> None:
    harness.sim.object_answers = mode  # type: ignore[assignment]
    known = next(iter(harness.sim.table("customers").values()))
    customer = await ea.get_customer(str(known["Id"]))
    assert customer.id == known["Id"] and customer.name == known["Name"]
    assert customer.invoice_city == known["InvoiceCity"]  # the whole customer, not the thin answer
    with pytest.raises(NotFound):
        await ea.get_customer(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        await ea.get_customer("not-a-guid")


@pytest.mark.parametrize("mode", ["full", "partial", "empty"])
async def test_update_order_reads_back_a_thin_answer_and_never_writes_twice(
    ea: EAccountingClient, harness: Harness, mode: str
) -> None:
    harness.sim.object_answers = mode  # type: ignore[assignment]
    order = await anext(ea.list_orders(status=2))
    body = order.to_payload() | {"YourReference": f"PO-{mode}"}
    updated = await ea.update_order(order.id, body)
    assert updated.id == order.id and updated.your_reference == f"PO-{mode}"
    assert updated.rows and updated.customer_id == order.customer_id  # the whole order
    assert _puts(harness, f"/v2/orders/{order.id}") == 1
    reads = harness.recorder.count("GET", f"/v2/orders/{order.id}")
    assert reads == (0 if mode == "full" else 1)
    shipped = await ea.mark_order_shipped(order.id, date(2026, 3, 3))
    assert shipped.status == 3 and _puts(harness, f"/v2/orders/{order.id}") == 2


async def test_vat_codes_read_every_page_with_the_servers_page_size(ea: EAccountingClient, harness: Harness) -> None:
    for n in range(70):  # more than one default page (50)
        harness.sim.put("vatcodes", {"Code": f"X{n:02d}", "Description": f"Extra {n}", "VatRate": Decimal("0.1")})
    total = len(harness.sim.table("vatcodes"))
    codes = await ea.vat_codes()
    assert len(codes) == total > 50 and len({c.id for c in codes}) == total
    sent = [r for r in harness.recorder.api() if r.url.path == "/v2/vatcodes"]
    assert dict(sent[0].url.params) == {}  # the first request as the 2020 description has it
    assert [dict(r.url.params) for r in sent[1:]] == [{"$page": "2", "$pagesize": "50"}]
    harness.sim.vatcodes_paged = False  # an API answering the 2020 way: a plain array, one call
    assert len(await ea.vat_codes()) == total


async def test_date_only_fields_go_out_with_a_time(ea: EAccountingClient, harness: Harness) -> None:
    order = await anext(ea.list_orders(status=2))
    await ea.mark_order_shipped(order.id, date(2026, 3, 3))
    sent = [r for r in harness.recorder.requests if r.method == "PUT" and r.url.path == f"/v2/orders/{order.id}"]
    body = sent[-1].content.decode()
    assert '"ShippedDateTime":"2026-03-03T00:00:00"' in body.replace(" ", "")
    assert '"OrderDate":"' in body and '"OrderDate":"2026-03-02"' not in body.replace(" ", "")


@pytest.mark.parametrize(
    ("problem", "says"),
    [("api_module", "Apps and extensions"), ("startup_guide", "complete the startup guide")],
)
async def test_first_connection_failures_say_what_to_do_and_show_in_the_status(
    ea: EAccountingClient, harness: Harness, problem: str, says: str
) -> None:
    harness.sim.access_problem = problem  # type: ignore[assignment]
    with pytest.raises(AccessNotSetUp) as refused:
        await ea.company_settings()
    assert says in refused.value.message and refused.value.status == 403
    status = await ea.auth_status()
    assert status["connected"] is True and says in (status["problem"] or "")
    harness.sim.access_problem = None
    await ea.company_settings()  # fixed in eAccounting: the next call succeeds and the problem is forgotten
    assert (await ea.auth_status())["problem"] is None


class _Garbled(httpx.AsyncBaseTransport):
    """Answers one path with something the description does not allow (not JSON, or the wrong shape)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str, content: bytes) -> None:
        self.inner, self.path, self.content = inner, path, content

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            return httpx.Response(200, content=self.content, request=request)
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize(
    ("content", "error"),
    [(b"<html>proxy error</html>", TransientError), (b'{"Meta": "x", "Data": 5}', PermanentError)],
)
async def test_an_answer_the_model_cannot_hold_is_a_connector_error(
    harness: Harness, content: bytes, error: type[Exception]
) -> None:
    async with httpx.AsyncClient(transport=_Garbled(harness.recorder, "/v2/units", content)) as http:
        client = build_eaccounting_client(
            harness.settings, http, harness.redis, clock=harness.clock, sleep=harness.sleep
        )
        response = await http.get(client.authorize_url("s"))
        await client.exchange_code(httpx.URL(response.headers["location"]).params["code"])
        with pytest.raises(error) as caught:
            await client.units()
        assert isinstance(caught.value, (TransientError, PermanentError))
        assert not isinstance(caught.value, ValueError)
