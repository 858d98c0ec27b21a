from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import DEMO_TOKEN_KEY, Settings

REAL = {
    "token_encryption_key": "x" * 44,
    "admin": {"token": "admin-token-123"},
    "exact": {"client_id": "cid", "client_secret": "csecret", "webhook_secret": "whsecret"},
    "eaccounting": {"client_id": "ea", "client_secret": "easecret"},
}


def test_missing_secret_outside_demo_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO", raising=False)
    cfg = {**REAL, "exact": {"client_id": "cid", "client_secret": "csecret"}}
    with pytest.raises(ValidationError) as excinfo:
        Settings(_env_file=None, **cfg)
    assert "EXACT__WEBHOOK_SECRET" in str(excinfo.value)
    assert "EXACT__CLIENT_ID" not in str(excinfo.value)


def test_all_secrets_present_is_valid() -> None:
    s = Settings(_env_file=None, **REAL)
    assert s.demo is False
    assert s.exact.client_secret is not None
    assert s.exact.client_secret.get_secret_value() == "csecret"
    assert "csecret" not in repr(s)


def test_placeholder_secret_refused() -> None:
    cfg = {**REAL, "admin": {"token": "changethis"}}
    with pytest.raises(ValidationError, match="ADMIN__TOKEN"):
        Settings(_env_file=None, **cfg)


def test_demo_key_refused_outside_demo() -> None:
    with pytest.raises(ValidationError, match="demo key"):
        Settings(_env_file=None, **{**REAL, "token_encryption_key": DEMO_TOKEN_KEY})


def test_demo_mode_needs_nothing() -> None:
    s = Settings(_env_file=None, demo=True)
    assert s.admin.token is not None
    assert s.exact.webhook_secret is not None


def test_nested_env_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO", "true")
    monkeypatch.setenv("EXACT__API_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("EACCOUNTING__IDENTITY_BASE_URL", "http://127.0.0.1:9998")
    monkeypatch.setenv("RETENTION__ACTIVITY_LOG_DAYS", "7")
    s = Settings(_env_file=None)
    assert s.exact.api_base_url == "http://127.0.0.1:9999"
    assert s.eaccounting.identity_base_url == "http://127.0.0.1:9998"
    assert s.retention.activity_log_days == 7


def test_unknown_nested_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="client_idd"):
        Settings(_env_file=None, demo=True, exact={"client_idd": "typo"})
