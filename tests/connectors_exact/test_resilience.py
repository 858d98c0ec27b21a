"""Rate limits, dropped connections and server errors: nothing lost, nothing written twice."""

from __future__ import annotations

import pytest

from connectors.errors import RateLimited, TransientError
from connectors.exact import ExactClient
from sandbox.exact import Fault
from sandbox.exact.seed import VAT_CODES

from .conftest import DIVISION, Harness


async def test_a_minute_spent_elsewhere_costs_one_429_and_the_request_still_succeeds(
    exact: ExactClient, harness: Harness
) -> None:
    assert await exact.units()  # the budget has now seen Exact's headers
    harness.sim.rate.exhaust(DIVISION)  # another worker of the same app spent the minute
    units = await exact.units()
    assert units
    assert harness.sim.counters()["rate_limited"] == 1
    assert harness.calls("GET logistics/Units") == 3  # ok, 429, the same request again after the reset
    assert len(harness.sleeps) == 1 and harness.sleeps[0] > 0
    # The wait ran to the reset: the retry landed in the next minute (the clock started on a minute boundary).
    assert harness.clock() % 60 < 5
    # Every later call goes through without another 429: the budget knows the new window.
    for _ in range(5):
        assert await exact.warehouses()
    assert harness.sim.counters()["rate_limited"] == 1


async def test_a_429_on_the_first_call_is_waited_out(exact: ExactClient, harness: Harness) -> None:
    harness.sim.rate.exhaust(DIVISION)
    assert await exact.journals()
    assert harness.sim.counters()["rate_limited"] == 1


@pytest.mark.parametrize("sim_config", [{"minutely_limit": 5, "seed_items": 40}])
async def test_the_budget_waits_for_the_window_instead_of_running_into_429(
    exact: ExactClient, harness: Harness
) -> None:
    total = 0
    for _ in range(4):  # 16 calls with 5 allowed a minute
        total += len(await exact.vat_codes()) + len(await exact.units())
        total += len(await exact.warehouses()) + len(await exact.journals())
    assert total == 4 * (len(VAT_CODES) + 3 + 2 + 2)
    assert harness.sim.counters()["rate_limited"] == 0
    assert harness.sleeps and all(0 < s <= 60 for s in harness.sleeps)
    assert harness.clock() - harness.sim.config.start_time.timestamp() >= 180  # type: ignore[union-attr]


async def test_a_spent_day_is_not_waited_out_in_process(exact: ExactClient, harness: Harness) -> None:
    assert await exact.units()
    harness.sim.rate.exhaust(DIVISION, daily=True)
    with pytest.raises(RateLimited) as caught:
        await exact.units()
    assert caught.value.retry_after > 90  # until the next UTC day; the job is deferred instead
    assert harness.sim.counters()["rate_limited"] == 1
    with pytest.raises(RateLimited):  # the budget now knows: no second 429 is provoked
        await exact.warehouses()
    assert harness.sim.counters()["rate_limited"] == 1


async def test_a_post_is_not_resent_after_a_dropped_connection(exact: ExactClient, harness: Harness) -> None:
    account = await exact.find_account_by_code("1")
    assert account is not None
    harness.sim.add_fault(Fault(path="salesorder/SalesOrders", method="POST", drop="after"))
    item = await exact.find_item_by_code("SKU-0003")
    assert item is not None
    order = {"OrderedBy": account.id, "YourRef": "WEB-7001", "SalesOrderLines": [{"Item": item.id, "Quantity": 1}]}
    with pytest.raises(TransientError) as caught:
        await exact.create_sales_order(order)
    assert caught.value.retryable and caught.value.status is None
    assert harness.calls("POST salesorder/SalesOrders") == 1
    # Exact did write it: the caller's re-check by YourRef finds it, so nothing is created twice.
    found = await exact.find_sales_order_by_yourref("WEB-7001")
    assert found is not None and found.ordered_by == account.id


async def test_a_post_answered_503_is_not_resent(exact: ExactClient, harness: Harness) -> None:
    harness.sim.add_fault(Fault(path="logistics/Items", method="POST", status=503))
    with pytest.raises(TransientError) as caught:
        await exact.create_item({"Code": "NEW-2", "Description": "Maybe created"})
    assert caught.value.status == 503
    assert harness.calls("POST logistics/Items") == 1 and harness.sleeps == []


async def test_a_get_is_retried_after_a_dropped_connection_and_a_503(exact: ExactClient, harness: Harness) -> None:
    harness.sim.add_fault(Fault(path="logistics/Items", method="GET", drop="before"))
    harness.sim.add_fault(Fault(path="logistics/Items", method="GET", status=503))
    item = await exact.find_item_by_code("SKU-0001")
    assert item is not None and item.code == "SKU-0001"
    assert harness.calls("GET logistics/Items") == 3
    assert len(harness.sleeps) == 2 and all(0 < s <= 5 for s in harness.sleeps)


async def test_a_put_is_retried_because_it_is_idempotent(exact: ExactClient, harness: Harness) -> None:
    item = await exact.find_item_by_code("SKU-0002")
    assert item is not None
    harness.sim.add_fault(Fault(path="logistics/Items", method="PUT", drop="after"))
    await exact.update_item(item.id, {"Notes": "restocked"})
    assert harness.calls("PUT logistics/Items({id})") == 2
    assert (await exact.get_item(item.id)).notes == "restocked"
