"""Visma Connect through the connector: consent, encrypted storage, rotation on expiry, single-flight refresh."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.keys import Keys
from connectors.eaccounting import EAccountingClient
from connectors.errors import ReauthorizationRequired
from connectors.oauth import RedisTokenStore, TokenSet, make_fernet

from .conftest import REDIRECT, Harness


async def _stored(harness: Harness) -> TokenSet:
    assert harness.settings.token_encryption_key is not None
    store = RedisTokenStore(
        harness.redis,
        key=Keys(harness.settings.redis.key_prefix).token("eaccounting"),
        fernet=make_fernet(harness.settings.token_encryption_key.get_secret_value()),
    )
    tokens = await store.get()
    assert tokens is not None
    return tokens


def test_authorize_url_names_client_scopes_redirect_and_state(harness: Harness) -> None:
    url = httpx.URL(harness.client().authorize_url("xyz"))
    assert url.path == "/connect/authorize"
    params = url.params
    assert params["client_id"] == harness.settings.eaccounting.client_id
    assert params["redirect_uri"] == REDIRECT
    assert params["response_type"] == "code"
    assert params["state"] == "xyz"
    assert set(params["scope"].split()) == {"ea:api", "ea:sales", "ea:accounting", "offline_access"}
    assert "forceselectcompany:true" in params["acr_values"]


async def test_consent_then_exchange_connects_and_stores_tokens_encrypted(harness: Harness) -> None:
    client = harness.client()
    assert (await client.auth_status())["connected"] is False
    await harness.connect(client)
    status = await client.auth_status()
    assert status["connected"] is True
    assert status["needs_reauthorization"] is None
    assert status["access_token_expires_at"] == pytest.approx(harness.clock() + 3600)
    tokens = await _stored(harness)
    raw = await harness.redis.hget(Keys(harness.settings.redis.key_prefix).token("eaccounting"), "tokens")
    assert tokens.access_token.encode() not in raw and tokens.refresh_token.encode() not in raw
    # The token request authenticated with HTTP Basic, not with the secret in the form.
    token_request = next(r for r in harness.recorder.requests if r.url.path == "/connect/token")
    assert token_request.headers["authorization"].startswith("Basic ")
    assert b"client_secret" not in token_request.content
    settings = await client.company_settings()
    assert settings.country_code == "NL"


async def test_not_connected_is_reauthorization_required(harness: Harness) -> None:
    with pytest.raises(ReauthorizationRequired):
        await harness.client().company_settings()
    assert harness.recorder.api() == []


async def test_expired_access_token_is_refreshed_and_the_refresh_token_rotates(
    harness: Harness, ea: EAccountingClient
) -> None:
    before = await _stored(harness)
    harness.sim.advance_clock(3600 - 30)  # inside the refresh margin
    await ea.company_settings()
    after = await _stored(harness)
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    assert harness.recorder.count("POST", "/connect/token") == 2  # exchange + one refresh
    # The old refresh token is dead (one-time): replaying it is refused by the identity server.
    replay = await harness.http.post(
        "http://eaccounting.test/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": before.refresh_token},
        auth=(harness.sim.config.client_id, harness.sim.config.client_secret),
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


async def test_concurrent_calls_in_two_processes_refresh_once(harness: Harness, ea: EAccountingClient) -> None:
    other = harness.client()  # a second process: its own TokenManager, the same Redis
    harness.sim.advance_clock(3601)
    results = await asyncio.gather(*(c.vat_codes() for c in (ea, other, ea, other, ea, other)))
    assert all(results)
    assert harness.recorder.count("POST", "/connect/token") == 2  # exchange + exactly one refresh
    assert harness.sim.counters()["statuses"].get("401", 0) == 0


async def test_token_revoked_server_side_is_recovered_by_one_refresh_on_401(
    harness: Harness, ea: EAccountingClient
) -> None:
    harness.sim.oauth.access.clear()  # the server forgot every access token (e.g. revoked)
    units = await ea.units()
    assert units
    assert harness.recorder.count("POST", "/connect/token") == 2
    assert harness.sim.counters()["statuses"]["401"] == 1  # one 401, then the retry with the fresh token


async def test_dead_refresh_token_asks_for_reauthorization(harness: Harness, ea: EAccountingClient) -> None:
    harness.sim.expire_refresh_tokens()
    harness.sim.advance_clock(3601)
    with pytest.raises(ReauthorizationRequired):
        await ea.units()
    status = await ea.auth_status()
    assert status["connected"] is False
    assert "refresh token refused" in status["needs_reauthorization"]
    # Connecting again clears the state.
    await harness.connect(ea)
    assert (await ea.auth_status())["connected"] is True
    assert await ea.units()
