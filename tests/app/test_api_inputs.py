"""Every input the admin API accepts is one the service can run: configs with finite, bounded numbers and known
enum values that read back as stored; a manual `since` and `record_id` checked where they arrive; clear answers
for a run already queued, an unknown flow filter, and token times (issue 17 and 18, on the shipped flows)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from connectors.keys import Keys
from tests.engine.conftest import running_api

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
PREFIXES = ["", "/links/default"]  # the per-link routes and the old paths of link `default`: one code path


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["detail"]]


async def _put(api: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    """A config as raw JSON text: `1e400` must reach the server as written (Python's json cannot write it)."""
    return await api.put(path, content=text, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_number_json_reads_as_infinity_is_refused_naming_the_field_and_the_old_config_stays(
    api: httpx.AsyncClient, prefix: str
) -> None:
    answer = await _put(api, f"{prefix}/flows/stock/config", '{"options": {"full_reconcile_hours": 1e400}}')
    assert answer.status_code == 422, answer.text
    assert _locs(answer) == [["options", "full_reconcile_hours"]]
    stored = (await api.get(f"{prefix}/flows/stock/config")).json()
    assert stored["valid"] is True
    assert stored["options"]["full_reconcile_hours"] == 24.0


@pytest.mark.parametrize(
    ("flow", "body", "loc"),
    [
        ("stock", '{"options": {"full_reconcile_hours": 1e300}}', ["options", "full_reconcile_hours"]),
        ("stock", '{"poll_interval_seconds": 1000000000000000000}', ["poll_interval_seconds"]),
        ("orders", '{"options": {"statuses": [99]}}', ["options", "statuses", 0]),
        ("orders", '{"options": {"statuses": [true]}}', ["options", "statuses"]),
        ("orders", '{"options": {"accounts_refresh_seconds": 1e400}}', ["options", "accounts_refresh_seconds"]),
        ("orders", '{"options": {"items_refresh_seconds": 1e12}}', ["options", "items_refresh_seconds"]),
        ("products", '{"options": {"exchange_rate": 1e400}}', ["options", "exchange_rate"]),
        ("products", '{"options": {"exchange_rate": 1e-400}}', ["options", "exchange_rate"]),
        ("products", '{"options": {"refs_refresh_seconds": 1e9}}', ["options", "refs_refresh_seconds"]),
        (
            "orders",
            '{"mapping_overrides": {"orders_to_exact_sales_order": {"fields": {"Description": {"value": 1e400}}}}}',
            ["mapping_overrides", "orders_to_exact_sales_order", "fields", "Description", "value"],
        ),
    ],
)
async def test_numbers_out_of_bounds_and_unknown_enum_values_are_refused_naming_the_field(
    api: httpx.AsyncClient, flow: str, body: str, loc: list[Any]
) -> None:
    answer = await _put(api, f"/flows/{flow}/config", body)
    assert answer.status_code == 422, answer.text
    assert loc in _locs(answer)
    assert (await api.get(f"/flows/{flow}/config")).json()["valid"] is True


async def test_every_number_in_a_config_that_is_stored_reads_back_as_written(
    api: httpx.AsyncClient, redis: ArqRedis, settings: Settings
) -> None:
    body = {"poll_interval_seconds": 604800, "options": {"full_reconcile_hours": 720, "floor_at_zero": False}}
    assert (await api.put("/flows/stock/config", json=body)).status_code == 200
    stored = json.loads(await redis.get(Keys.of(settings).for_link("default").flow_config("stock")))
    assert stored["poll_interval_seconds"] == 604800
    assert stored["options"]["full_reconcile_hours"] == 720
    assert (await api.get("/flows/stock/config")).json()["valid"] is True


async def test_a_stored_config_that_became_invalid_is_reported_on_read_not_run(
    api: httpx.AsyncClient, redis: ArqRedis, settings: Settings
) -> None:
    # What the old code stored for `1e400` (pydantic writes infinity as null), and a text that is not JSON at all.
    keys = Keys.of(settings).for_link("default")
    await redis.set(keys.flow_config("stock"), json.dumps({"options": {"full_reconcile_hours": None}}))
    await redis.set(keys.flow_config("products"), "{not json")
    stock = (await api.get("/flows/stock/config")).json()
    assert stock["valid"] is False
    assert stock["errors"][0]["loc"] == ["options", "full_reconcile_hours"]
    assert (await api.get("/flows/products/config")).json()["valid"] is False
    listed = {f["name"]: f for f in (await api.get("/flows")).json()}
    assert listed["stock"]["enabled"] is None and "full_reconcile_hours" in listed["stock"]["config_error"]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    ("flow", "since"),
    [("orders", "not-a-date"), ("orders", "2026-13-45"), ("stock", "garbage"), ("products", "-5"), ("stock", "1e9")],
)
async def test_a_since_the_poller_cannot_read_is_422_naming_since_and_queues_nothing(
    api: httpx.AsyncClient, redis: ArqRedis, settings: Settings, prefix: str, flow: str, since: str
) -> None:
    answer = await api.post(f"{prefix}/flows/{flow}/run", json={"since": since})
    assert answer.status_code == 422, answer.text
    assert _locs(answer) == [["body", "since"]]
    assert await redis.zcard(settings.redis.queue_name) == 0


async def test_a_since_is_parsed_at_the_edge_and_a_second_run_says_which_poll_it_joined(
    api: httpx.AsyncClient,
) -> None:
    first = await api.post("/flows/orders/run", json={"since": "2026-12-01"})
    assert first.status_code == 202, first.text
    assert first.json() == {"queued": True, "poll": True, "since": "2026-12-01T00:00:00+00:00"}
    second = (await api.post("/links/default/flows/orders/run", json={"since": "2026-12-02T08:00:00Z"})).json()
    assert second["queued"] is False
    assert "already queued" in second["reason"]
    assert second["existing"]["state"] == "queued"
    queued_at = datetime.fromisoformat(second["existing"]["queued_at"])
    assert abs(queued_at.timestamp() - time.time()) < 60
    assert datetime.fromisoformat(second["existing"]["due_at"]) >= queued_at.replace(microsecond=0)
    stock = (await api.post("/flows/stock/run", json={"since": "12345"})).json()
    assert stock["queued"] is True and stock["since"] == "12345"


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_record_id_that_is_no_guid_is_422_and_a_second_run_of_a_record_says_it_joined(
    api: httpx.AsyncClient, prefix: str
) -> None:
    bad = await api.post(f"{prefix}/flows/products/run", json={"record_id": "not-a-guid"})
    assert bad.status_code == 422 and _locs(bad) == [["body", "record_id"]]
    record = "6F1C2E8A-0000-4000-8000-0000000000AA"
    first = (await api.post(f"{prefix}/flows/products/run", json={"record_id": record})).json()
    assert first == {"queued": True, "record_id": record.lower()}
    again = (await api.post(f"{prefix}/flows/products/run", json={"record_id": record})).json()
    assert again["queued"] is False and "already queued" in again["reason"] and again["existing"]["queued_at"]


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_an_unknown_flow_filter_is_404_not_an_empty_list(api: httpx.AsyncClient, prefix: str) -> None:
    for path in ("/logs", "/dead-letters"):
        answer = await api.get(f"{prefix}{path}", params={"flow": "nosuch"})
        assert answer.status_code == 404, (path, answer.text)
        assert "nosuch" in answer.json()["detail"]
        assert (await api.get(f"{prefix}{path}", params={"flow": "orders"})).status_code == 200


async def test_flows_list_each_mapping_and_topic_once(api: httpx.AsyncClient) -> None:
    for flow in (await api.get("/flows")).json():
        assert len(flow["mapping_choices"]) == len(set(flow["mapping_choices"])), flow
        assert len(flow["webhook_topics"]) == len(set(flow["webhook_topics"])), flow
    orders = next(f for f in (await api.get("/links/default/flows")).json() if f["name"] == "orders")
    assert orders["mapping_choices"][0] == "orders_to_exact_sales_order"


async def test_connections_show_token_times_as_iso_8601_with_seconds_left(settings: Settings, redis: ArqRedis) -> None:
    from tests.harness import make_world

    async with (
        make_world(settings, redis) as world,  # connected to both simulators
        running_api(create_app(world.settings, configure_logs=False, http=world.http)) as api,
    ):
        body = (await api.get("/links/default/connections", headers=AUTH)).json()
    exact = body["exact"]
    assert exact["connected"] is True
    for field in ("access_token_expires_at", "refresh_token_issued_at", "refresh_token_expires_at"):
        assert isinstance(exact[field], str) and datetime.fromisoformat(exact[field]).tzinfo is not None, field
    assert isinstance(exact["access_token_expires_in_seconds"], int) and exact["access_token_expires_in_seconds"] >= 0
    issued = datetime.fromisoformat(exact["refresh_token_issued_at"])
    assert datetime.fromisoformat(exact["refresh_token_expires_at"]) == issued + timedelta(days=30)
    left = (issued + timedelta(days=30)).timestamp() - time.time()
    assert abs(exact["refresh_token_expires_in_seconds"] - max(0, left)) < 60
    assert isinstance(body["eaccounting"]["access_token_expires_at"], str)
