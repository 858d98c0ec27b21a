"""One pydantic-settings object, built at start-up (never at import time).

`load_settings` turns every way the configuration can be wrong into one `SettingsError` that names each setting at
fault by its environment variable and says what to do; the CLI prints it and exits 2, without a traceback. Values
of secret settings never appear in an error (`hide_input_in_errors`, and the report leaves them out).
"""

from __future__ import annotations

from typing import Any, Literal

from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from app.bodylimit import DEFAULT_MAX_BODY_BYTES
from connectors.keys import Keys

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


# Outside demo mode the service cannot start without these (docker-compose.yml refuses to start without them too).
REQUIRED_SECRETS: tuple[str, ...] = (
    "TOKEN_ENCRYPTION_KEY",
    "ADMIN__TOKEN",
    "EXACT__CLIENT_ID",
    "EXACT__CLIENT_SECRET",
    "EXACT__WEBHOOK_SECRET",
    "EACCOUNTING__CLIENT_ID",
    "EACCOUNTING__CLIENT_SECRET",
)
_HOW_TO_GET = {
    "TOKEN_ENCRYPTION_KEY": "generate one with `ledgerbridge gen-key` and keep it: tokens stored with it need it",
    "ADMIN__TOKEN": "choose a long random string, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
    "EXACT__CLIENT_ID": "copy it from your app in the Exact App Center",
    "EXACT__CLIENT_SECRET": "copy it from your app in the Exact App Center",
    "EXACT__WEBHOOK_SECRET": "copy the webhook secret from your app in the Exact App Center",
    "EACCOUNTING__CLIENT_ID": "copy it from your application in the Visma Developer Portal",
    "EACCOUNTING__CLIENT_SECRET": "copy it from your application in the Visma Developer Portal",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class RedisSection(_Section):
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for the queue, token store and activity log")
    key_prefix: str = Field(
        "lb", min_length=1, description="Prefix of every key ledgerbridge writes, arq's included (app/redis.py)"
    )
    queue_name: str = Field("", description="arq queue name; empty: {REDIS__KEY_PREFIX}:queue")

    @model_validator(mode="after")
    def _derive_queue(self) -> RedisSection:
        if not self.queue_name:
            self.queue_name = Keys.of_section(self).default_queue
        return self


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
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Larger request bodies are refused with 413 (every route but the webhook, which has "
        "ENGINE__WEBHOOK_MAX_BODY_BYTES)",
    )


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
    lease_seconds: float = Field(
        15.0,
        ge=3,
        le=120,
        description="Locks and running jobs are leases this long, renewed while alive: a crashed run's record is "
        "free again within it",
    )
    run_timeout_seconds: float = Field(
        240.0, gt=0, description="A record run taking longer is cut off and retried (below lock_seconds)"
    )
    coalesce_seconds: float = Field(
        1.0, ge=0, le=60, description="Webhook/poll triggers wait this long so a burst of changes makes one run"
    )
    webhook_max_body_bytes: int = Field(65536, ge=1024, description="Larger webhook bodies are refused with 413")
    budget_wait_seconds: float = Field(
        5.0,
        ge=0,
        le=120,
        description="A call waits this long in place for its rate budget; longer defers the run",
    )
    max_queued_per_flow: int = Field(
        500, ge=10, description="Most record jobs a link's polls keep queued per flow; the rest waits in the source"
    )
    subscribe_webhooks_on_start: bool = Field(True, description="Ensure Exact webhook subscriptions at worker start")


def _check_engine(engine: EngineSection) -> list[tuple[str, str]]:
    if engine.lease_seconds >= engine.lock_seconds:
        return [
            (
                "ENGINE__LEASE_SECONDS",
                f"is {engine.lease_seconds:g} s but must stay below ENGINE__LOCK_SECONDS ({engine.lock_seconds:g} s), "
                "the longest a run may hold its record",
            )
        ]
    if engine.run_timeout_seconds > engine.lock_seconds - 10:
        return [
            (
                "ENGINE__RUN_TIMEOUT_SECONDS",
                f"is {engine.run_timeout_seconds:g} s but must stay at least 10 s below ENGINE__LOCK_SECONDS "
                f"({engine.lock_seconds:g} s): a run still going when its record lock expires could overlap the next "
                "run of that record. Lower it or raise ENGINE__LOCK_SECONDS",
            )
        ]
    return []


class Settings(BaseSettings):
    """All configuration. Environment variables use `__` for nesting, e.g. `EXACT__CLIENT_ID`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="ignore",
        secrets_dir=None,
        hide_input_in_errors=True,
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

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            try:
                Fernet(value.get_secret_value().encode())
            except (ValueError, TypeError):
                raise PydanticCustomError(
                    "fernet_key",
                    "is not a Fernet key (a Fernet key is 32 url-safe base64-encoded bytes, 44 characters); "
                    "generate one with `ledgerbridge gen-key`",
                ) from None
        return value

    @model_validator(mode="after")
    def _require_secrets(self) -> Settings:
        problems = _check_engine(self.engine)
        if self.demo:
            self._fill_demo_defaults()
        else:
            problems += self._secret_problems()
        if problems:
            detail = "; ".join(f"{name} {message}" for name, message in problems)
            raise PydanticCustomError("settings_invalid", "{detail}", {"detail": detail, "problems": problems})
        return self

    def _secret_problems(self) -> list[tuple[str, str]]:
        required: dict[str, str | SecretStr | None] = {
            "TOKEN_ENCRYPTION_KEY": self.token_encryption_key,
            "ADMIN__TOKEN": self.admin.token,
            "EXACT__CLIENT_ID": self.exact.client_id,
            "EXACT__CLIENT_SECRET": self.exact.client_secret,
            "EXACT__WEBHOOK_SECRET": self.exact.webhook_secret,
            "EACCOUNTING__CLIENT_ID": self.eaccounting.client_id,
            "EACCOUNTING__CLIENT_SECRET": self.eaccounting.client_secret,
        }
        assert tuple(required) == REQUIRED_SECRETS
        problems: list[tuple[str, str]] = []
        for name, value in required.items():
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if text is None:
                problems.append((name, f"is required outside demo mode: {_HOW_TO_GET[name]}"))
            elif text.strip().lower() in PLACEHOLDER_SECRETS:
                problems.append((name, f"still holds a placeholder value: {_HOW_TO_GET[name]}"))
        key = self.token_encryption_key
        if key is not None and key.get_secret_value() == DEMO_TOKEN_KEY:
            problems.append(
                ("TOKEN_ENCRYPTION_KEY", "is the public demo key; generate your own with `ledgerbridge gen-key`")
            )
        return problems

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


class SettingsError(ValueError):
    """The configuration cannot start ledgerbridge. `problems` holds (environment variable, what is wrong and what
    to do), one per setting at fault; `str()` is the whole readable message."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        count = f"{len(problems)} setting{'s' if len(problems) != 1 else ''}"
        lines = [
            f"ledgerbridge cannot start: {count} in the environment or .env need{'s' if len(problems) == 1 else ''} "
            "attention."
        ]
        lines += [f"  {name}: {message}" for name, message in problems]
        lines.append(
            "Every setting is listed with a comment in .env.example. To try ledgerbridge without accounts, "
            "set DEMO=true (or run `make run`)."
        )
        super().__init__("\n".join(lines))


_PHRASES = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "missing": "is required",
    "string_type": "must be text",
    "extra_forbidden": "is not a ledgerbridge setting (a typo?)",
}


def env_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable of a settings location: ("exact", "client_id") -> EXACT__CLIENT_ID."""
    return "__".join(str(part).upper() for part in loc)


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    model: Any = Settings
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return True  # unknown: never echo it
        model = fields[part].annotation
    return "SecretStr" in repr(model)


def _phrase(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _PHRASES:
        return _PHRASES[kind]
    for key, words in (("ge", "at least"), ("gt", "greater than"), ("le", "at most"), ("lt", "less than")):
        if key in ctx:
            bound = ctx[key]
            shown = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
            return f"must be {words} {shown}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def settings_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(environment variable, problem in words) for every error in a Settings validation error."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        if error["type"] == "settings_invalid":
            problems += [(str(name), str(message)) for name, message in error["ctx"]["problems"]]
            continue
        loc = tuple(error["loc"])
        name = env_name(loc) if loc else "configuration"
        value = error.get("input")
        shown = ""
        if loc and not _is_secret(loc) and isinstance(value, str | int | float) and error["type"] != "missing":
            shown = f" (it is {str(value)[:60]!r})"
        if error["type"] == "extra_forbidden" and len(loc) == 2:
            section = Settings.model_fields.get(str(loc[0]))
            known = getattr(section.annotation, "model_fields", {}) if section is not None else {}
            shown = f"; the {str(loc[0]).upper()}__ settings are {', '.join(env_name((loc[0], f)) for f in known)}"
        problems.append((name, f"{_phrase(error)}{shown}"))
    return problems


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and `.env`), with keyword overrides taking precedence.

    Raises:
        SettingsError: naming every setting at fault and what to do.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(settings_problems(exc)) from None
    except SourceError as exc:
        # pydantic-settings could not even read a value (e.g. a section given as malformed JSON).
        raise SettingsError([("configuration", str(exc))]) from None
