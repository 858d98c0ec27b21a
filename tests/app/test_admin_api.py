"""The admin API with the shipped flows, before either system is connected: clear 4xx answers, never a 5xx."""

from __future__ import annotations

from arq.connections import ArqRedis
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from tests.mapping import records

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}


async def test_preview_of_a_record_to_fetch_says_connect_first(settings: Settings, redis: ArqRedis) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.post(
            "/flows/orders/preview", json={"record_id": "5e2a9c1e-0000-4000-8000-00000000abcd"}, headers=AUTH
        )
    assert response.status_code == 409
    assert "not connected" in response.json()["detail"]["message"]


async def test_preview_of_a_given_record_runs_the_flow_so_it_too_needs_the_connections(
    settings: Settings, redis: ArqRedis
) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.post("/flows/orders/preview", json={"record": records.order()}, headers=AUTH)
    # The flow fetches its own lookup tables (customer, items, VAT codes): without a connection it says so.
    assert response.status_code == 409
    assert "not connected" in response.json()["detail"]["message"]


async def test_preview_of_the_mapping_only_maps_with_the_given_tables_without_any_call(
    settings: Settings, redis: ArqRedis
) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        bare = client.post(
            "/flows/orders/preview", json={"record": records.order(), "mapping_only": True}, headers=AUTH
        )
        body = {"record": records.order(), "lookups": records.order_lookups(), "mapping_only": True}
        full = client.post("/flows/orders/preview", json=body, headers=AUTH).json()
    # Without the lookup tables the mapping names what is missing instead of failing the request.
    assert bare.status_code == 200
    assert bare.json()["payload"] is None
    assert "was not provided" in bare.json()["error"]["message"]
    assert full["payload"]["OrderedBy"] == records.ACCOUNT_ID, full
    assert any(entry["target"] == "OrderedBy" for entry in full["trace"])


async def test_connections_list_both_systems_as_not_connected(settings: Settings, redis: ArqRedis) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        body = client.get("/connections", headers=AUTH).json()
    assert body["exact"]["connected"] is False
    assert body["eaccounting"]["connected"] is False


async def test_config_masks_every_secret(settings: Settings, redis: ArqRedis) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        text = client.get("/config", headers=AUTH).text
    for secret in ("demo-exact-client-secret", "demo-exact-webhook-secret", DEMO_ADMIN_TOKEN):
        assert secret not in text
    assert "**********" in text


async def test_config_masks_the_redis_password(settings: Settings, redis: ArqRedis) -> None:
    from app.routes.config import mask_url_password

    assert mask_url_password("redis://:hunter2@cache:6379/0") == "redis://:**********@cache:6379/0"
    assert mask_url_password("rediss://app:hunter2@cache/1") == "rediss://app:**********@cache/1"
    assert mask_url_password(settings.redis.url) == settings.redis.url  # no password: unchanged
    with TestClient(create_app(settings, configure_logs=False)) as client:
        body = client.get("/config", headers=AUTH).json()
    assert body["settings"]["redis"]["url"] == settings.redis.url


async def test_a_mapping_override_naming_a_target_field_that_does_not_exist_is_a_422_naming_it(
    settings: Settings, redis: ArqRedis
) -> None:
    typo = {"mapping_overrides": {"orders_to_exact_sales_order": {"fields": {"YuorRef": {"source": "Number"}}}}}
    with TestClient(create_app(settings, configure_logs=False)) as client:
        refused = client.put("/flows/orders/config", json=typo, headers=AUTH)
        kept = client.get("/flows/orders/config", headers=AUTH).json()
    assert refused.status_code == 422
    error = refused.json()["detail"][0]
    assert error["loc"] == ["mapping_overrides", "orders_to_exact_sales_order", "fields", "YuorRef"]
    assert "no field 'YuorRef'" in error["msg"] and "'YourRef'" in error["msg"]
    assert kept["config"]["mapping_overrides"] == {}


async def test_a_preview_of_a_record_id_that_is_no_guid_is_a_422_naming_it(settings: Settings, redis: ArqRedis) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        response = client.post("/flows/orders/preview", json={"record_id": "some-order"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "record_id"]
