"""The administrations page without script: where each link's alerts go (masked), its own alert URL saved through
the same validation as `PATCH /links/{link}` (a refused URL is marked at its field), and cleared again."""

from __future__ import annotations

from arq.connections import ArqRedis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.main import create_app
from app.settings import DEMO_ADMIN_TOKEN, Settings
from tests.console.pages import signed_in

PAGE = "/console/links"
TOKEN = "link-Tok3n-dddd"
URL = f"https://hooks.slack.example/services/T9/B9/{TOKEN}"
INSTALLATION_TOKEN = "install-Tok3n-eeee"


def _signed_in(client: TestClient) -> str:
    return signed_in(client, PAGE, "Administrations")


async def test_a_links_alert_url_is_set_masked_refused_when_invalid_and_cleared(
    settings: Settings, redis: ArqRedis
) -> None:
    url = SecretStr(f"https://hooks.installation.example/services/T0/B0/{INSTALLATION_TOKEN}")
    settings = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"webhook_url": url})})
    api = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
    with TestClient(create_app(settings, configure_logs=False)) as client:
        csrf = _signed_in(client)
        first = client.get(PAGE).text
        assert "https://hooks.installation.example/********** (the installation's)" in first
        assert INSTALLATION_TOKEN not in first

        action = f"{PAGE}/default/alerts"
        refused = client.post(action, data={"csrf": csrf, "alert_url": "ftp://hooks.example/x", "action": "save"})
        assert refused.status_code == 422 and "Alert URL must be an http or https URL" in refused.text
        empty = client.post(action, data={"csrf": csrf, "alert_url": "", "action": "save"})
        assert empty.status_code == 422 and "Enter the incoming-webhook URL." in empty.text
        assert client.post(action, data={"alert_url": URL, "action": "save"}).status_code == 403  # no CSRF token
        assert client.get("/links/default", headers=api).json()["alerts_to"] == "installation"

        saved = client.post(action, data={"csrf": csrf, "alert_url": URL, "action": "save"}, follow_redirects=True)
        assert saved.status_code == 200
        assert "Alerts of default go to https://hooks.slack.example/********** from now on." in saved.text
        assert "https://hooks.slack.example/**********</strong> (its own)" in saved.text
        assert TOKEN not in saved.text
        shown = client.get("/links/default", headers=api).json()
        assert shown["alerts_to"] == "link" and shown["alert_url"] == "https://hooks.slack.example/**********"

        cleared = client.post(action, data={"csrf": csrf, "action": "clear"}, follow_redirects=True)
        assert "go to the installation&#39;s destination again" in cleared.text
        assert client.get("/links/default", headers=api).json()["alerts_to"] == "installation"
        assert client.post(f"{PAGE}/nope/alerts", data={"csrf": csrf, "alert_url": URL}).status_code == 404
