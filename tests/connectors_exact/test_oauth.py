"""Exact's OAuth through the connector: consent, encrypted storage, the 570 s rule, rotation under concurrency,
a token expiring mid-read, and a dead refresh token."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.keys import Keys
from connectors.errors import AuthError, ReauthorizationRequired
from connectors.exact import ExactClient
from connectors.oauth import RedisTokenStore, TokenSet, make_fernet

from .conftest import DIVISION, HOST, REDIRECT, Harness


async def _stored(harness: Harness) -> TokenSet:
    assert harness.settings.token_encryption_key is not None
    store = RedisTokenStore(
        harness.redis,
        key=Keys(harness.settings.redis.key_prefix).token("exact"),
        fernet=make_fernet(harness.settings.token_encryption_key.get_secret_value()),
    )
    tokens = await store.get()
    assert tokens is not None
    return tokens


def test_authorize_url_is_exacts_consent_page(harness: Harness) -> None:
    url = httpx.URL(harness.client().authorize_url("xyz"))
    assert f"{url.scheme}://{url.host}{url.path}" == f"{HOST}/api/oauth2/auth"
    assert url.params["client_id"] == harness.settings.exact.client_id
    assert url.params["redirect_uri"] == REDIRECT
    assert url.params["response_type"] == "code"
    assert url.params["state"] == "xyz"
    assert url.params["force_login"] == "0"


async def test_consent_stores_tokens_encrypted_and_client_authenticates_in_the_form(harness: Harness) -> None:
    client = harness.client()
    assert (await client.auth_status())["connected"] is False
    await harness.connect(client)
    status = await client.auth_status()
    assert status["connected"] is True and status["division"] == DIVISION
    assert status["access_token_expires_at"] == pytest.approx(harness.clock() + 600)  # expires_in "600" (a string)
    tokens = await _stored(harness)
    raw: bytes = await harness.redis.hget(Keys(harness.settings.redis.key_prefix).token("exact"), "tokens")  # type: ignore[misc]
    assert tokens.access_token.encode() not in raw and tokens.refresh_token.encode() not in raw
    token_request = next(r for r in harness.recorder.requests if r.url.path == "/api/oauth2/token")
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form["grant_type"] == "authorization_code" and form["client_secret"]
    assert "authorization" not in token_request.headers
    assert await client.vat_codes()


async def test_a_still_url_encoded_code_is_decoded_before_the_exchange(harness: Harness) -> None:
    client = harness.client()
    response = await harness.http.get(client.authorize_url("s"))
    code = httpx.URL(response.headers["location"]).params["code"]
    assert "!" in code
    await client.exchange_code(code.replace("!", "%21"))
    assert (await client.auth_status())["connected"] is True


async def test_not_connected_is_reauthorization_required_without_any_call(harness: Harness) -> None:
    with pytest.raises(ReauthorizationRequired):
        await harness.client().vat_codes()
    assert harness.sim.counters()["total"] == 0


async def test_no_refresh_is_attempted_before_570_seconds(exact: ExactClient, harness: Harness) -> None:
    harness.sim.clock.advance(569)
    assert await exact.units()
    harness.sim.clock.advance(9)  # 578 s: inside the 570-600 s window but before our 20 s margin
    assert await exact.units()
    assert harness.token_calls == 1  # only the code exchange
    harness.sim.clock.advance(3)  # 581 s: due and allowed
    assert await exact.units()
    assert harness.token_calls == 2 and harness.sim.counters()["token_refreshes"] == 1
    assert harness.sim.counters()["by_status"].get("401", 0) == 0  # never "Access token not expired"


async def test_a_401_before_570_seconds_does_not_provoke_a_refused_refresh(
    exact: ExactClient, harness: Harness
) -> None:
    harness.sim.clock.advance(100)
    harness.sim.oauth.expire_access_tokens()  # the token dies early (revoked, or a clock far off)
    with pytest.raises(AuthError) as caught:
        await exact.units()
    assert caught.value.status == 401
    assert harness.token_calls == 1  # a refresh now would be refused and count against 200 token calls a day
    harness.sim.clock.advance(470)  # 570 s: a refresh is allowed, so the 401 is answered with one
    assert await exact.units()
    assert harness.sim.counters()["token_refreshes"] == 1
    assert harness.calls("GET logistics/Units") == 3  # the 401 before, the 401 that led to the refresh, the retry


@pytest.mark.parametrize("sim_config", [{"seed_items": 2500}])
async def test_token_expiring_mid_read_is_refreshed_once_and_no_row_is_lost(
    exact: ExactClient, harness: Harness
) -> None:
    pages = exact.sync_items(1)
    first = await anext(pages)
    harness.sim.clock.advance(601)  # the access token dies while we work on the first page
    rest = [page async for page in pages]
    codes = [item.code for page in [first, *rest] for item in page.rows]
    assert len(codes) == len(set(codes)) == 2500
    assert harness.calls("GET sync/Logistics/Items") == 3
    assert harness.sim.counters()["token_refreshes"] == 1
    assert harness.sim.counters()["by_status"].get("401", 0) == 0  # refreshed before use, not after a 401


async def test_two_processes_refreshing_at_once_make_one_refresh_and_keep_the_chain(
    exact: ExactClient, harness: Harness
) -> None:
    other = harness.client()  # a second process: its own TokenManager and locks, the same Redis
    before = await _stored(harness)
    harness.sim.clock.advance(601)
    results = await asyncio.gather(*(c.units() for c in (exact, other, exact, other, exact, other)))
    assert all(results)
    assert harness.sim.counters()["token_refreshes"] == 1
    assert harness.token_calls == 2  # the exchange and exactly one refresh
    after = await _stored(harness)
    assert after.refresh_token != before.refresh_token
    # The chain still works: the next refresh (by either process) uses the rotated token Exact expects.
    harness.sim.clock.advance(601)
    assert await other.units() and await exact.units()
    assert harness.sim.counters()["token_refreshes"] == 2
    assert harness.sim.counters()["by_status"].get("400", 0) == 0  # no "Old refresh token used"


async def test_dead_refresh_token_asks_for_reauthorization_once(exact: ExactClient, harness: Harness) -> None:
    harness.sim.expire_refresh_tokens()
    harness.sim.clock.advance(601)
    with pytest.raises(ReauthorizationRequired):
        await exact.units()
    status = await exact.auth_status()
    assert status["connected"] is False
    assert "refresh token refused" in status["needs_reauthorization"]
    assert "expired" in status["needs_reauthorization"]
    calls = harness.sim.counters()["total"]
    for _ in range(3):  # no crash loop: later calls fail fast, neither the token endpoint nor the API is called
        with pytest.raises(ReauthorizationRequired):
            await exact.units()
    with pytest.raises(ReauthorizationRequired):
        await harness.client().units()  # another process sees the stored state too
    assert harness.sim.counters()["total"] == calls
    await harness.connect(exact)  # a human connects again
    assert (await exact.auth_status())["connected"] is True
    assert await exact.units()
