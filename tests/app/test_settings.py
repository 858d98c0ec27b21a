from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.settings import DEMO_TOKEN_KEY, Settings

REAL = {
    "token_encryption_key": Fernet.generate_key().decode(),
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


# --- one readable message per setting at fault (issue 17) -----------------------------------------------------

SETTING_PREFIXES = ("DEMO", "TOKEN_", "REDIS__", "EXACT__", "EACCOUNTING__", "ADMIN__", "LOG__", "RETENTION__")
SETTING_PREFIXES += ("WORKER__", "ALERTS__", "ENGINE__")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ledgerbridge setting from the developer's environment leaks into the test."""
    import os

    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


def _problems(**env: str) -> dict[str, str]:
    import os

    from app.settings import SettingsError, load_settings

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        load_settings(_env_file=None)
    except SettingsError as exc:
        return dict(exc.problems)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    raise AssertionError("the settings were accepted")


def test_every_missing_secret_is_named_with_what_to_do(clean_env: pytest.MonkeyPatch) -> None:
    from app.settings import REQUIRED_SECRETS

    problems = _problems()
    assert tuple(problems) == REQUIRED_SECRETS
    assert "ledgerbridge gen-key" in problems["TOKEN_ENCRYPTION_KEY"]
    assert "App Center" in problems["EXACT__WEBHOOK_SECRET"]
    assert "Developer Portal" in problems["EACCOUNTING__CLIENT_SECRET"]


def test_a_malformed_fernet_key_names_the_setting_and_never_echoes_it(clean_env: pytest.MonkeyPatch) -> None:
    problems = _problems(DEMO="true", TOKEN_ENCRYPTION_KEY="s3cret-but-not-a-fernet-key")
    assert list(problems) == ["TOKEN_ENCRYPTION_KEY"]
    assert "Fernet key" in problems["TOKEN_ENCRYPTION_KEY"]
    assert "32 url-safe base64-encoded bytes" in problems["TOKEN_ENCRYPTION_KEY"]
    assert "ledgerbridge gen-key" in problems["TOKEN_ENCRYPTION_KEY"]
    assert "s3cret" not in str(problems)


def test_bad_numbers_and_choices_are_named_with_the_value_given(clean_env: pytest.MonkeyPatch) -> None:
    problems = _problems(DEMO="true", WORKER__MAX_JOBS="ten", LOG__LEVEL="LOUD", ENGINE__MAX_TRIES="0")
    assert problems == {
        "WORKER__MAX_JOBS": "must be a whole number (it is 'ten')",
        "LOG__LEVEL": "must be one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (it is 'LOUD')",
        "ENGINE__MAX_TRIES": "must be at least 1 (it is '0')",
    }


def test_a_misspelt_setting_lists_the_real_ones(clean_env: pytest.MonkeyPatch) -> None:
    problems = _problems(DEMO="true", EXACT__CLIENTID="x")
    assert "is not a ledgerbridge setting" in problems["EXACT__CLIENTID"]
    assert "EXACT__CLIENT_ID" in problems["EXACT__CLIENTID"]


def test_field_errors_and_engine_rule_come_together(clean_env: pytest.MonkeyPatch) -> None:
    problems = _problems(DEMO="true", ENGINE__LOCK_SECONDS="100")
    assert list(problems) == ["ENGINE__RUN_TIMEOUT_SECONDS"]
    assert "ENGINE__LOCK_SECONDS" in problems["ENGINE__RUN_TIMEOUT_SECONDS"]


def test_the_message_is_one_readable_block(clean_env: pytest.MonkeyPatch) -> None:
    from app.settings import SettingsError, load_settings

    clean_env.setenv("EXACT__CLIENT_ID", "cid")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    lines = str(excinfo.value).splitlines()
    assert lines[0] == "ledgerbridge cannot start: 6 settings in the environment or .env need attention."
    assert lines[1].startswith("  TOKEN_ENCRYPTION_KEY: is required outside demo mode")
    assert "DEMO=true" in lines[-1]
