"""`EAccountingErrorPolicy` on the API's documented answers: the message, the type, the 429 wait."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from connectors.eaccounting import EAccountingErrorPolicy
from connectors.errors import AuthError, NotFound, PermanentError, RateLimited, Rejected, TransientError

POLICY = EAccountingErrorPolicy()


def _error(status: int, code: int, message: str, **headers: str) -> httpx.Response:
    body = {"ErrorCode": code, "DeveloperErrorMessage": message, "ErrorId": "5f0c3a4e-0000-4000-8000-000000000001"}
    return httpx.Response(status, json={**body, "Errors": []}, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 2000, Rejected),
        (400, 4002, Rejected),
        (409, 4000, Rejected),
        (404, 3000, NotFound),
        (401, 4005, AuthError),
        (403, 4006, AuthError),
        (500, 0, TransientError),
        (503, 0, TransientError),
        (501, 0, PermanentError),
    ],
)
def test_status_and_code_choose_the_error_type(status: int, code: int, kind: type[Exception]) -> None:
    error = POLICY.error(_error(status, code, "The field Name is required."), "customers")
    assert type(error) is kind
    assert error.message == "The field Name is required."
    assert error.details["error_code"] == code
    assert error.details["error_id"] == "5f0c3a4e-0000-4000-8000-000000000001"
    assert error.system == "eaccounting" and error.endpoint == "customers" and error.status == status


def test_rate_limit_code_is_rate_limited_with_the_named_wait() -> None:
    message = "API calls quota exceeded! maximum admitted 600 per Minute. Try again in 55 seconds."
    error = POLICY.error(_error(429, 4010, message), "orders")
    assert isinstance(error, RateLimited) and error.retry_after == 55


def test_retry_after_prefers_the_header_then_the_message_then_the_window() -> None:
    message = "API calls quota exceeded! maximum admitted 600 per Minute. Try again in 42 seconds."
    assert POLICY.retry_after(_error(429, 4010, message, **{"Retry-After": "3"}), 0) == 3
    assert POLICY.retry_after(_error(429, 4010, message), 0) == 42
    assert POLICY.retry_after(_error(429, 4010, "quota exceeded"), 0) == 60
    assert POLICY.retry_after(httpx.Response(429, text="Too Many Requests"), 0) == 60
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    dated = _error(429, 4010, message, **{"Retry-After": format_datetime(datetime(2026, 3, 2, 10, 0, 9, tzinfo=UTC))})
    assert POLICY.retry_after(dated, now.timestamp()) == 9
    assert POLICY.retry_after(_error(429, 4010, message, **{"Retry-After": "soon"}), 0) == 42


def test_bodies_that_are_not_the_documented_shape_still_give_a_message() -> None:
    html = httpx.Response(502, text="<html>Bad gateway</html>")
    assert POLICY.error(html, "orders").message == "Bad Gateway"
    errors_only = httpx.Response(400, json={"Errors": [{"ErrorMessage": "Quantity too large"}]})
    assert POLICY.error(errors_only, "orders").message == "Quantity too large"
