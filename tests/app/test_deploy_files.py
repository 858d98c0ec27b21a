"""Docker can't run here: keep the compose file and Dockerfile honest by reading them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from app.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services_commands_and_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "api", "worker"}
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert services["api"]["command"][0] == "api"
    assert services["worker"]["command"] == ["worker"]
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-2:] == ["ledgerbridge", "check-worker"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
        assert services[name]["environment"]["REDIS__URL"].startswith("redis://redis:6379")


def test_compose_requires_every_secret() -> None:
    env = _compose()["services"]["api"]["environment"]
    for var in (
        "TOKEN_ENCRYPTION_KEY",
        "ADMIN__TOKEN",
        "EXACT__CLIENT_ID",
        "EXACT__CLIENT_SECRET",
        "EXACT__WEBHOOK_SECRET",
        "EACCOUNTING__CLIENT_ID",
        "EACCOUNTING__CLIENT_SECRET",
    ):
        assert re.fullmatch(r"\$\{" + var + r":\?.+\}", env[var]), var


@pytest.mark.parametrize("command", [["api", "--host", "0.0.0.0", "--port", "8000"], ["worker"], ["check-worker"]])
def test_compose_commands_exist_in_the_cli(command: list[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli_main([*command, "--help"])  # argparse exits 2 on an unknown subcommand or option
    assert excinfo.value.code == 0


def test_dockerfile_is_multistage_nonroot_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER app$", text, re.M)
    assert "HEALTHCHECK" in text
    assert 'ENTRYPOINT ["ledgerbridge"]' in text
    for package in ("app", "connectors", "flows", "mapping", "sandbox"):
        assert f"COPY {package} ./{package}" in text


def test_env_example_lists_every_setting() -> None:
    from app.settings import Settings

    text = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.M))
    expected = set()
    for field, info in Settings.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            expected |= {f"{field.upper()}__{sub.upper()}" for sub in annotation.model_fields}
        else:
            expected.add(field.upper())
    assert expected - names == set()
