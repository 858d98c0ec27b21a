"""Error mapping: the simulator's real refusals through the connector, and the 429 wait from the reset headers."""

from __future__ import annotations

import uuid

import httpx
import pytest

from connectors.errors import AuthError, NotFound, PermanentError, RateLimited, Rejected, TransientError
from connectors.exact import ExactClient, ExactErrorPolicy
from sandbox.exact.errors import error_body

from .conftest import DIVISION, Harness


@pytest.mark.wire_unchecked("an unknown property, on purpose: Exact's message naming it must surface")
async def test_refused_body_is_rejected_with_the_api_message_naming_the_field(exact: ExactClient) -> None:
    with pytest.raises(Rejected) as caught:
        await exact.create_item({"Code": "NEW-1"})
    assert caught.value.status == 400
    assert caught.value.message == "Mandatory field is missing: Description"
    assert caught.value.endpoint == f"{DIVISION}/logistics/Items"
    with pytest.raises(Rejected, match="Colour"):
        await exact.create_item({"Code": "NEW-1", "Description": "x", "Colour": "red"})
    order = {"OrderedBy": str(uuid.uuid4()), "SalesOrderLines": [{"Item": str(uuid.uuid4()), "Quantity": 1}]}
    with pytest.raises(Rejected, match="OrderedBy"):
        await exact.create_sales_order(order)


async def test_missing_record_is_not_found(exact: ExactClient, harness: Harness) -> None:
    with pytest.raises(NotFound) as caught:
        await exact.get_account(str(uuid.uuid4()))
    assert caught.value.status == 404 and not caught.value.retryable
    assert harness.calls("GET crm/Accounts({id})") == 1  # a 404 is not retried


async def test_wrong_division_is_an_auth_error_that_says_so(harness: Harness) -> None:
    client = harness.client(division=999)
    await harness.connect(client)
    with pytest.raises(AuthError) as caught:
        await client.vat_codes()
    assert caught.value.status == 403
    assert "WrongDivision" in caught.value.message and "EXACT__DIVISION" in caught.value.message
    assert harness.calls("GET vat/VATCodes") == 1


@pytest.mark.parametrize("sim_config", [{"granted_scopes": frozenset({"Crm accounts"})}])
async def test_missing_scope_is_an_auth_error_that_names_the_scope_problem(exact: ExactClient) -> None:
    assert await exact.find_account_by_code("1") is not None
    with pytest.raises(AuthError, match=r"Application Scope Violated.*App Center"):
        await exact.find_item_by_code("SKU-0001")


def _response(status: int, message: str = "x", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=error_body(message), headers=headers)


def test_statuses_map_onto_the_error_tree() -> None:
    policy = ExactErrorPolicy()
    assert isinstance(policy.error(_response(409, "conflict"), "e"), Rejected)
    assert isinstance(policy.error(_response(422), "e"), Rejected)
    assert isinstance(policy.error(_response(401, "Unauthorized"), "e"), AuthError)
    assert type(policy.error(_response(503), "e")) is TransientError
    assert type(policy.error(_response(501), "e")) is PermanentError
    assert type(policy.error(_response(406), "e")) is PermanentError
    limited = policy.error(_response(429, "API rate limit exceeded"), "e")
    assert isinstance(limited, RateLimited) and limited.retryable
    # The OAuth shape and an empty body still give a useful message.
    oauth = httpx.Response(400, json={"error": "invalid_grant", "error_description": "Old refresh token used"})
    assert policy.error(oauth, "e").message == "Old refresh token used"
    expired = httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error_description="access token expired"'})
    assert "access token expired" in policy.error(expired, "e").message


def test_wait_comes_from_the_reset_header_of_the_spent_window() -> None:
    policy = ExactErrorPolicy(skew=1.0)
    now = 1_777_888_840.0  # 40 s into a minute
    minute = {"X-RateLimit-Minutely-Remaining": "0", "X-RateLimit-Minutely-Reset": "1777888860000"}
    assert policy.retry_after(_response(429, headers=minute), now) == pytest.approx(21.0)
    day = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1777939200000"}
    assert policy.retry_after(_response(429, headers=day), now) == pytest.approx(1777939200 - now + 1)
    # A window with calls left does not decide the wait; no headers at all: the minute is over within 60 s.
    both = {**minute, "X-RateLimit-Remaining": "4000", "X-RateLimit-Reset": "1777939200000"}
    assert policy.retry_after(_response(429, headers=both), now) == pytest.approx(21.0)
    assert policy.retry_after(_response(429), now) == 60.0
    assert policy.retry_after(_response(429, headers={"Retry-After": "5"}), now) == 60.0  # Exact sends none
