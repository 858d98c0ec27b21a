"""The mapping editor's API: a flow's mapping with its overrides and diff, saved and reset, validated as configs."""

from __future__ import annotations

from arq.connections import ArqRedis
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings

AUTH = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
URL = "/flows/orders/mappings/orders_to_exact_sales_order"


async def test_edit_diff_and_reset_a_mapping(settings: Settings, redis: ArqRedis) -> None:
    change = {
        "fields": {"YourRef": {"source": "OurReference"}, "Remarks": None, "SalesOrderLines[*].Notes": {"const": "web"}}
    }
    with TestClient(create_app(settings, configure_logs=False)) as client:
        shipped = client.get(URL, headers=AUTH).json()
        saved = client.put(URL, json=change, headers=AUTH)
        edited = client.get(URL, headers=AUTH).json()
        config = client.get("/flows/orders/config", headers=AUTH).json()
        client.delete(URL, headers=AUTH)
        reset = client.get(URL, headers=AUTH).json()
    assert shipped["overrides"] == {} and shipped["diff"] == []
    assert shipped["target"] == "exact.SalesOrder" and "YourRef" in shipped["target_fields"][""]
    assert saved.status_code == 200, saved.text
    assert config["config"]["mapping_overrides"] == {"orders_to_exact_sales_order": change}
    diff = {(d["key"], d["change"]) for d in edited["diff"]}
    assert diff == {("YourRef", "changed"), ("Remarks", "removed"), ("SalesOrderLines[*].Notes", "added")}
    assert edited["effective"]["fields"]["YourRef"] == {"source": "OurReference"}
    assert reset["overrides"] == {} and reset["diff"] == []


async def test_an_unknown_target_field_or_a_bad_rule_is_a_422_and_nothing_is_stored(
    settings: Settings, redis: ArqRedis
) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        typo = client.put(URL, json={"fields": {"SalesOrderLines[*].Quantiy": {"const": 1}}}, headers=AUTH)
        bad = client.put(URL, json={"fields": {"YourRef": {"source": "X", "transforms": ["uper"]}}}, headers=AUTH)
        other = client.get("/flows/orders/mappings/customers_exact_to_eaccounting", headers=AUTH)
        after = client.get(URL, headers=AUTH).json()
    assert typo.status_code == 422
    assert typo.json()["detail"][0]["loc"][-1] == "SalesOrderLines[*].Quantiy"
    assert "'Quantity'" in typo.json()["detail"][0]["msg"]
    assert bad.status_code == 422 and "uper" in bad.json()["detail"][0]["msg"]
    assert other.status_code == 404  # not one of the orders flow's mappings
    assert after["overrides"] == {}
