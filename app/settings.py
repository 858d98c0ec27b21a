"""One pydantic-settings object, built at start-up (never at import time)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "secret", ""})

# Demo values only ever apply when DEMO=true; they point at the bundled simulators.
DEMO_EXACT_CLIENT_ID = "00000000-0000-4000-8000-00000000e1a1"
DEMO_EXACT_CLIENT_SECRET = "demo-exact-client-secret"  # noqa: S105 - simulator credential
DEMO_EXACT_WEBHOOK_SECRET = "demo-exact-webhook-secret"  # noqa: S105 - simulator credential
DEMO_EACCOUNTING_CLIENT_ID = "ledgerbridge-demo"
DEMO_EACCOUNTING_CLIENT_SECRET = "demo-eaccounting-client-secret"  # noqa: S105 - simulator credential
DEMO_ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - demo only, printed by `make run`
# A fixed Fernet key for the demo; never used outside DEMO=true (validated below).
DEMO_TOKEN_KEY = "ZGVtby1rZXktZm9yLWxlZGdlcmJyaWRnZS1vbmx5ISE="  # noqa: S105


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedisSection(_Section):
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for the queue, token store and activity log")
    key_prefix: str = Field("lb", description="Prefix of every key ledgerbridge writes (not arq's own keys)")
    queue_name: str = Field("ledgerbridge:queue", description="arq queue name")


class ExactSection(_Section):
    api_base_url: str = Field("https://start.exactonline.nl", description="Exact Online host for /api/v1 (per country)")
    auth_base_url: str = Field("https://start.exactonline.nl", description="Exact Online host for /api/oauth2")
    client_id: str | None = Field(None, description="App Center client ID (GUID)")
    client_secret: SecretStr | None = Field(None, description="App Center client secret")
    webhook_secret: SecretStr | None = Field(None, description="App Center webhook secret (HashCode key)")
    redirect_uri: str = Field("http://localhost:8000/oauth/exact/callback", description="OAuth redirect URI")
    division: int | None = Field(None, description="Division (administration) number; default: current/Me")
    public_webhook_url: str | None = Field(None, description="Public HTTPS URL of POST /webhooks/exact")
    timeout_seconds: float = Field(30.0, gt=0)


class EAccountingSection(_Section):
    api_base_url: str = Field("https://eaccountingapi.vismaonline.com/v2/", description="eAccounting API v2 base URL")
    identity_base_url: str = Field("https://identity.vismaonline.com", description="Visma Connect identity host")
    client_id: str | None = Field(None, description="Visma Developer Portal client ID")
    client_secret: SecretStr | None = Field(None, description="Visma Developer Portal client secret")
    redirect_uri: str = Field("http://localhost:8000/oauth/eaccounting/callback", description="OAuth redirect URI")
    scopes: str = Field("ea:api ea:sales ea:accounting offline_access", description="Space-separated OAuth scopes")
    timeout_seconds: float = Field(30.0, gt=0)


class AdminSection(_Section):
    token: SecretStr | None = Field(None, description="Bearer token for the admin API")


class LogSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = Field("auto", description="auto: console on a tty, JSON otherwise")
    redact_personal_fields: bool = Field(False, description="Mask e-mail, phone, address in the activity log")


class RetentionSection(_Section):
    activity_log_days: int = Field(14, ge=1, le=365, description="Days an activity-log entry is kept")


class WorkerSection(_Section):
    heartbeat_seconds: float = Field(5.0, gt=0)
    heartbeat_max_age_seconds: float = Field(30.0, gt=0, description="Ready fails when no heartbeat is newer")
    max_jobs: int = Field(10, ge=1)
    poll_interval_seconds: int = Field(60, ge=5, description="Interval of the polling triggers")


class AlertsSection(_Section):
    webhook_url: SecretStr | None = Field(
        None, description="POST JSON alerts here (Slack/Teams incoming webhook); unset: alerts are only logged"
    )
    min_interval_seconds: int = Field(300, ge=1, description="At most one alert per interval; the rest form a digest")


class EngineSection(_Section):
    max_tries: int = Field(6, ge=1, le=50, description="Tries per record before it goes to the dead-letter list")
    backoff_seconds: float = Field(5.0, gt=0, description="First retry delay; doubles per try (capped at 15 min)")
    lock_seconds: float = Field(300.0, gt=0, description="Longest a record run may hold its per-record lock")
    run_timeout_seconds: float = Field(
        240.0, gt=0, description="A record run taking longer is cut off and retried (below lock_seconds)"
    )
    coalesce_seconds: float = Field(
        1.0, ge=0, le=60, description="Webhook/poll triggers wait this long so a burst of changes makes one run"
    )
    webhook_max_body_bytes: int = Field(65536, ge=1024, description="Larger webhook bodies are refused with 413")
    subscribe_webhooks_on_start: bool = Field(True, description="Ensure Exact webhook subscriptions at worker start")


def _check_engine(engine: EngineSection) -> None:
    if engine.run_timeout_seconds > engine.lock_seconds - 10:
        raise ValueError(
            "ENGINE__RUN_TIMEOUT_SECONDS must stay at least 10 s below ENGINE__LOCK_SECONDS: a run still going when "
            "its record lock expires could overlap the next run of that record"
        )


class Settings(BaseSettings):
    """All configuration. Environment variables use `__` for nesting, e.g. `EXACT__CLIENT_ID`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="ignore",
        secrets_dir=None,
    )

    demo: bool = Field(False, description="Demo mode: simulators, fixed demo credentials, nothing to configure")
    token_encryption_key: SecretStr | None = Field(None, description="Fernet key encrypting OAuth tokens at rest")
    redis: RedisSection = RedisSection()
    exact: ExactSection = ExactSection()
    eaccounting: EAccountingSection = EAccountingSection()
    admin: AdminSection = AdminSection()
    log: LogSection = LogSection()
    retention: RetentionSection = RetentionSection()
    worker: WorkerSection = WorkerSection()
    alerts: AlertsSection = AlertsSection()
    engine: EngineSection = EngineSection()

    @model_validator(mode="after")
    def _require_secrets(self) -> Settings:
        _check_engine(self.engine)
        if self.demo:
            self._fill_demo_defaults()
            return self
        required: dict[str, str | SecretStr | None] = {
            "TOKEN_ENCRYPTION_KEY": self.token_encryption_key,
            "ADMIN__TOKEN": self.admin.token,
            "EXACT__CLIENT_ID": self.exact.client_id,
            "EXACT__CLIENT_SECRET": self.exact.client_secret,
            "EXACT__WEBHOOK_SECRET": self.exact.webhook_secret,
            "EACCOUNTING__CLIENT_ID": self.eaccounting.client_id,
            "EACCOUNTING__CLIENT_SECRET": self.eaccounting.client_secret,
        }
        missing = [name for name, value in required.items() if value is None]
        if missing:
            raise ValueError(
                f"missing required setting(s): {', '.join(missing)} (set them in the environment or .env; "
                "or set DEMO=true to run against the bundled simulators)"
            )
        placeholders = [
            name
            for name, value in required.items()
            if (value.get_secret_value() if isinstance(value, SecretStr) else str(value)).strip().lower()
            in PLACEHOLDER_SECRETS
        ]
        if placeholders:
            raise ValueError(f"placeholder value in setting(s): {', '.join(placeholders)}; use real secrets")
        if self.token_encryption_key is not None and self.token_encryption_key.get_secret_value() == DEMO_TOKEN_KEY:
            raise ValueError("TOKEN_ENCRYPTION_KEY is the public demo key; generate one with `ledgerbridge gen-key`")
        return self

    def _fill_demo_defaults(self) -> None:
        if self.token_encryption_key is None:
            self.token_encryption_key = SecretStr(DEMO_TOKEN_KEY)
        if self.admin.token is None:
            self.admin.token = SecretStr(DEMO_ADMIN_TOKEN)
        if self.exact.client_id is None:
            self.exact.client_id = DEMO_EXACT_CLIENT_ID
        if self.exact.client_secret is None:
            self.exact.client_secret = SecretStr(DEMO_EXACT_CLIENT_SECRET)
        if self.exact.webhook_secret is None:
            self.exact.webhook_secret = SecretStr(DEMO_EXACT_WEBHOOK_SECRET)
        if self.eaccounting.client_id is None:
            self.eaccounting.client_id = DEMO_EACCOUNTING_CLIENT_ID
        if self.eaccounting.client_secret is None:
            self.eaccounting.client_secret = SecretStr(DEMO_EACCOUNTING_CLIENT_SECRET)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and `.env`), with keyword overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
