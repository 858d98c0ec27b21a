from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from pydantic import SecretStr

from app.logging import REDACTED, configure_logging, redact


@pytest.fixture
def json_logs():  # type: ignore[no-untyped-def]
    out = io.StringIO()
    configure_logging("DEBUG", "json", cache=False, stream=out)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


def test_secret_keys_and_values_never_rendered(json_logs) -> None:  # type: ignore[no-untyped-def]
    log = structlog.get_logger("t")
    log.info(
        "oauth.refreshed",
        access_token="AT-very-secret",
        refresh_token="RT-very-secret",
        client_secret=SecretStr("CS-very-secret"),
        headers={"Authorization": "Bearer AT-very-secret", "Accept": "application/json"},
        url="https://x/api/oauth2/token?code=CODE-secret&state=1",
        note="sent Bearer AT-very-secret upstream",
        token_type="bearer",
    )
    (line,) = json_logs()
    text = json.dumps(line)
    for secret in ("AT-very-secret", "RT-very-secret", "CS-very-secret", "CODE-secret"):
        assert secret not in text
    assert line["access_token"] == REDACTED
    assert line["headers"]["Authorization"] == REDACTED
    assert line["headers"]["Accept"] == "application/json"
    assert line["token_type"] == "bearer"
    assert line["event"] == "oauth.refreshed"


def test_stdlib_logs_go_through_the_same_pipeline(json_logs) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("uvicorn.error").warning("client sent Bearer abc.def.ghi")
    (line,) = json_logs()
    assert line["logger"] == "uvicorn.error"
    assert line["level"] == "warning"
    assert "abc.def.ghi" not in line["event"]
    assert "timestamp" in line


def test_context_vars_are_merged(json_logs) -> None:  # type: ignore[no-untyped-def]
    with structlog.contextvars.bound_contextvars(job_id="flow:1", flow="orders"):
        structlog.get_logger().info("job.done")
    (line,) = json_logs()
    assert line["job_id"] == "flow:1"
    assert line["flow"] == "orders"


def test_redact_nested_structures() -> None:
    data = {"a": [{"password": "p"}, "Basic dXNlcjpwYXNz"], "ok": 1}
    assert redact(data) == {"a": [{"password": REDACTED}, f"Basic {REDACTED}"], "ok": 1}


def _fail_holding_secrets() -> None:
    client_secret = "CS-in-a-local"  # noqa: F841 - a local of the failing frame, as in a token request
    body = {"refresh_token": "RT-in-a-local", "client_id": "x"}  # noqa: F841
    raise ValueError("expires_in is not a number")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_carry_no_local_variables(fmt: str) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", fmt, cache=False, stream=out)
    try:
        try:
            _fail_holding_secrets()
        except ValueError:
            structlog.get_logger("t").exception("engine.record_crashed")
            logging.getLogger("arq.worker").exception("job failed")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers[:] = []
    text = out.getvalue()
    assert "expires_in is not a number" in text and "_fail_holding_secrets" in text  # the traceback is there
    assert "CS-in-a-local" not in text
    assert "RT-in-a-local" not in text
