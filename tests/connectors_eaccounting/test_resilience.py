"""A token expiring mid-run, server errors, and what is (not) resent."""

from __future__ import annotations

import pytest

from connectors.eaccounting import EAccountingClient
from connectors.errors import TransientError
from sandbox.eaccounting import Fault

from .conftest import Harness


async def test_token_expiring_between_pages_is_refreshed_without_losing_a_page(harness: Harness) -> None:
    ea = harness.client(page_size=4)
    await harness.connect(ea)
    pages = ea.list_orders()
    seen = [await anext(pages) for _ in range(4)]  # the first page, fetched with the first token
    harness.sim.advance_clock(3601)  # the access token dies while we work on it
    seen += [o async for o in pages]
    assert len({o.id for o in seen}) == 17
    assert harness.recorder.count("POST", "/connect/token") == 2  # exchange + one refresh
    assert harness.sim.counters()["route_statuses"].get("GET /v2/orders 401", 0) == 0


async def test_server_errors_on_reads_are_retried(harness: Harness, ea: EAccountingClient) -> None:
    harness.sim.add_fault(Fault(status=503, path="/v2/units", times=2))
    assert await ea.units()
    assert len(harness.sleeps) == 2 and all(0 < s <= 5 for s in harness.sleeps)
    assert harness.sim.counters()["route_statuses"]["GET /v2/units 503"] == 2


async def test_a_failed_create_is_not_resent_blindly(harness: Harness, ea: EAccountingClient) -> None:
    terms = (await ea.terms_of_payments())[0].id
    harness.sim.add_fault(Fault(status=503, path="/v2/customers", method="POST", times=1))
    body = {"Name": "Maybe Created AB", "IsPrivatePerson": False, "IsActive": True, "TermsOfPaymentId": terms}
    with pytest.raises(TransientError) as caught:
        await ea.create_customer({**body, "InvoiceCity": "Lund", "InvoicePostalCode": "222 22"})
    assert caught.value.retryable and caught.value.status == 503
    # The outcome is unknown, so the POST is not repeated: the caller re-checks by natural key first.
    assert harness.recorder.count("POST", "/v2/customers") == 1
    assert harness.sleeps == []
