"""The mapping editor's pages without script (forms posted, pages rendered on the server), before any connection:
validation marks a typo, a valid change is saved through the flow config and shown as a diff, reset removes it."""

from __future__ import annotations

from arq.connections import ArqRedis
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from tests.console.pages import signed_in

PAGE = "/console/flows/orders/mapping"
CHANGE = '{"fields": {"YourRef": {"source": "Number", "transforms": ["to_str", {"prefix": "WEB-"}]}}}'


def _signed_in(client: TestClient) -> str:
    return signed_in(client, PAGE, "Your changes")


async def test_validate_save_and_reset_without_script(settings: Settings, redis: ArqRedis) -> None:
    with TestClient(create_app(settings, configure_logs=False)) as client:
        csrf = _signed_in(client)
        base = {"csrf": csrf, "name": "orders_to_exact_sales_order", "record": ""}
        typo = client.post(f"{PAGE}/try", data={**base, "overrides": '{"fields": {"YuorRef": {"const": 1}}}',
                                                "action": "validate"})  # fmt: skip
        assert typo.status_code == 422
        assert "has no field &#39;YuorRef&#39; (did you mean &#39;YourRef&#39;?)" in typo.text
        broken = client.post(f"{PAGE}/try", data={**base, "overrides": '{"fields": ', "action": "validate"})
        assert broken.status_code == 422 and "not JSON" in broken.text
        valid = client.post(f"{PAGE}/try", data={**base, "overrides": CHANGE, "action": "validate"})
        assert valid.status_code == 200 and "Valid: the mapping compiles" in valid.text
        fragment = client.post(
            f"{PAGE}/try", data={**base, "overrides": CHANGE, "action": "validate"}, headers={"X-Fragment": "result"}
        )
        assert fragment.text.lstrip().startswith("<h2") and "<html" not in fragment.text
        no_token = {k: v for k, v in base.items() if k != "csrf"}
        refused = client.post(f"{PAGE}/save", data={**no_token, "overrides": CHANGE})
        assert refused.status_code == 403  # no CSRF token: refused, nothing saved
        assert "None: the shipped default as it is." in client.get(PAGE).text
        saved = client.post(f"{PAGE}/save", data={**base, "overrides": CHANGE}, follow_redirects=True)
        assert "Mapping orders_to_exact_sales_order saved" in saved.text
        config = client.get("/flows/orders/config", headers={"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}).json()
        assert config["config"]["mapping_overrides"]["orders_to_exact_sales_order"]["fields"]["YourRef"]["source"] == (
            "Number"
        )
        assert "diff-changed" in saved.text
        reset = client.post(f"{PAGE}/reset", data={"csrf": csrf, "name": "orders_to_exact_sales_order"},
                            follow_redirects=True)  # fmt: skip
        assert "is the shipped default again" in reset.text and "None: the shipped default as it is." in reset.text
