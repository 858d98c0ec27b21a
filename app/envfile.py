""".env.example, generated from the settings model so the two cannot drift apart.

Every setting appears once, as `NAME=default` under its section, with its description as a comment; the required
secrets are empty and marked. docker-compose.yml hands this whole file (copied to `.env`) to both roles, so what is
documented here is what the API and the worker get. `make env-example` rewrites the file; a test fails when the
committed file differs from what the model generates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from app.settings import REQUIRED_SECRETS, Settings, env_name

HEADER = """\
# ledgerbridge configuration: copy to .env and fill in. Nested sections use `__` (EXACT__CLIENT_ID).
# Nothing is needed for the demo: `make run` sets DEMO=true and uses the bundled simulators.
# docker compose passes every variable of .env to both the API and the worker.
# Generated from app/settings.py by `make env-example`; edit the settings' descriptions, not this file.
"""

# Written empty although the model has a default, with why.
EMPTY_ON_PURPOSE = {
    "REDIS__URL": "empty: redis://127.0.0.1:6379/0, and under docker compose its own redis service",
}


def _value(value: Any) -> str:
    if value is None or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _entry(name: str, info: FieldInfo) -> list[str]:
    comment = info.description or ""
    if name in EMPTY_ON_PURPOSE:
        comment = f"{comment}; {EMPTY_ON_PURPOSE[name]}" if comment else EMPTY_ON_PURPOSE[name]
    if name in REQUIRED_SECRETS:
        comment = f"{comment} (required outside demo mode)".strip()
    value = "" if name in EMPTY_ON_PURPOSE else _value(info.get_default(call_default_factory=True))
    return ([f"# {comment}"] if comment else []) + [f"{name}={value}"]


def setting_names() -> list[str]:
    """Every environment variable the settings model reads, in model order."""
    names: list[str] = []
    for field, info in Settings.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names += [env_name((field, sub)) for sub in section.model_fields]
        else:
            names.append(env_name((field,)))
    return names


def env_example() -> str:
    """The text of .env.example."""
    lines = [HEADER]
    for field, info in Settings.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            lines.append(f"# --- {field} ---")
            for sub, sub_info in section.model_fields.items():
                lines += _entry(env_name((field, sub)), sub_info)
        else:
            lines += _entry(env_name((field,)), info)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(env_example())
