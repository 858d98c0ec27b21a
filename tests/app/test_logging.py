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


# The redaction shortcuts (a cached verdict per key, strings without `=` or whitespace skipping the patterns, plain
# values passed through, one redaction per event plus the rendered traceback) must not let anything through.


def test_secret_keys_are_redacted_every_time_and_in_any_case(json_logs) -> None:  # type: ignore[no-untyped-def]
    log = structlog.get_logger("t")
    for n in range(3):  # the second and third lines take the cached verdicts
        log.info("call", Access_Token=f"AT-{n}-secret", api_key=f"K-{n}-secret", token_type="bearer", n=n)
    lines = json_logs()
    assert [line["Access_Token"] for line in lines] == [REDACTED] * 3
    assert [line["api_key"] for line in lines] == [REDACTED] * 3
    assert [line["token_type"] for line in lines] == ["bearer"] * 3
    assert "secret" not in json.dumps(lines)


def test_secrets_nested_in_dicts_and_lists_are_redacted(json_logs) -> None:  # type: ignore[no-untyped-def]
    structlog.get_logger("t").info(
        "nested",
        request={"headers": [{"Cookie": "sid=S-secret"}, ("X-Api-Key", "plain")], "body": {"Password": "P-secret"}},
        calls=[{"args": {"refresh_token": "RT-secret", "n": 1.5, "ok": True, "none": None}}],
        tokens=("Bearer AT.secret",),
    )
    (line,) = json_logs()
    assert line["request"]["headers"][0]["Cookie"] == REDACTED
    assert line["request"]["body"]["Password"] == REDACTED
    assert line["calls"][0]["args"] == {"refresh_token": REDACTED, "n": 1.5, "ok": True, "none": None}
    assert line["tokens"] == REDACTED  # the key itself is a secret name
    assert "secret" not in json.dumps(line).lower().replace("secret_", "")


def test_credentials_inside_string_values_are_redacted(json_logs) -> None:  # type: ignore[no-untyped-def]
    structlog.get_logger("t").info(
        "fetched",
        url="https://x/api/oauth2/token?grant_type=authorization_code&code=C0DE-x1&state=s",
        next="https://x/cb?access_token=AT-x2",  # no whitespace, one `=`
        header="Authorization:\tBearer\tAT-x3",  # tabs, no `=`
        nested={"deep": [["prefix basic dXNlcjpwYXNz"]]},
        plain="0f6c1d2e-aaaa-4bbb-8ccc-123456789abc",
    )
    (line,) = json_logs()
    text = json.dumps(line)
    for secret in ("C0DE-x1", "AT-x2", "AT-x3", "dXNlcjpwYXNz"):
        assert secret not in text
    assert line["url"] == f"https://x/api/oauth2/token?grant_type=authorization_code&code={REDACTED}&state=s"
    assert line["plain"] == "0f6c1d2e-aaaa-4bbb-8ccc-123456789abc"


def test_redact_copies_rather_than_passing_containers_through() -> None:
    data = {"a": ({"secret": "s"},), "b": [1, 2.0, None, True, "x=1 code=abc"]}
    assert redact(data) == {"a": [{"secret": REDACTED}], "b": [1, 2.0, None, True, f"x=1 code={REDACTED}"]}
    assert data["a"][0]["secret"] == "s"  # the caller's objects are left as they were


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_credentials_in_exception_messages_are_redacted(fmt: str) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", fmt, cache=False, stream=out)
    try:
        try:
            raise ValueError("upstream refused Bearer AT-in-message for https://x/t?refresh_token=RT-in-message")
        except ValueError:
            structlog.get_logger("t").exception("engine.record_crashed")
            logging.getLogger("arq.worker").exception("job failed")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers[:] = []
    text = out.getvalue()
    assert text.count("upstream refused") >= 2  # both tracebacks are there
    assert "AT-in-message" not in text
    assert "RT-in-message" not in text


def test_stdlib_extra_fields_are_redacted(json_logs) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("arq.jobs").info("job %s", "j1", extra={"password": "P-extra", "url": "https://x?code=C-extra"})
    (line,) = json_logs()
    assert line["password"] == REDACTED
    assert "C-extra" not in json.dumps(line)
