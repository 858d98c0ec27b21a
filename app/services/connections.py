"""Connecting a link's systems (OAuth authorization code), their state, and Exact webhook subscriptions.

The consent round trip leaves our process: `start_authorization` remembers (system, link) under a random `state`
for `STATE_TTL_SECONDS`, the provider sends the admin back to the callback with a code and that state, and
`finish_authorization` exchanges the code for the link's connection. A state is used once.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from app.engine import Engine
from app.scope import Process
from app.services.errors import InvalidInput
from app.services.links import remember_company
from app.subscriptions import ensure_subscriptions, webhook_topics
from app.tokenwatch import REFRESH_TOKEN_DAYS
from connectors.errors import ConnectorError

log = structlog.get_logger("connections")

System = Literal["exact", "eaccounting"]
STATE_TTL_SECONDS = 600


def _client(engine: Engine, system: System) -> Any:
    return engine.exact if system == "exact" else engine.eaccounting


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def _readable(system: str, status: dict[str, Any], now: float) -> dict[str, Any]:
    """Token times as ISO 8601 (UTC) with the seconds left (0 once passed), instead of epoch floats: when the access
    token expires, when the refresh token was issued and, where the system lets an unused one die (Exact: 30 days),
    when it does."""
    shown = dict(status)
    expires = status.get("access_token_expires_at")
    if isinstance(expires, int | float):
        shown["access_token_expires_at"] = _iso(expires)
        shown["access_token_expires_in_seconds"] = max(0, round(expires - now))
    issued = status.get("refresh_token_issued_at")
    if isinstance(issued, int | float):
        shown["refresh_token_issued_at"] = _iso(issued)
        days = REFRESH_TOKEN_DAYS.get(system)
        if days is not None:
            dies = issued + days * 86400
            shown["refresh_token_expires_at"] = _iso(dies)
            shown["refresh_token_expires_in_seconds"] = max(0, round(dies - now))
    return shown


async def connection_status(engine: Engine, now: float | None = None) -> dict[str, Any]:
    """Both systems' connection state for the link (no secrets); times as ISO 8601 with the seconds left."""
    moment = time.time() if now is None else now
    result: dict[str, Any] = {}
    for system in ("exact", "eaccounting"):
        try:
            result[system] = _readable(system, await _client(engine, system).auth_status(), moment)
        except ConnectorError as exc:
            result[system] = {"connected": False, "error": exc.to_dict()}
    return result


async def start_authorization(engine: Engine, system: System, *, back: str | None = None) -> str:
    """The provider's consent page for `system` of the link; the returned URL carries a fresh one-time state.
    `back`: the console page a person's browser returns to after the callback (default: the overview)."""
    state = secrets.token_urlsafe(24)
    remembered = json.dumps({"system": system, "link": engine.link, **({"back": back} if back else {})})
    await engine.redis.set(engine.process.keys.oauth_state(state), remembered, ex=STATE_TTL_SECONDS)
    url: str = _client(engine, system).authorize_url(state)
    return url


async def finish_authorization(process: Process, system: System, *, code: str, state: str) -> dict[str, Any]:
    """Exchange the code for the link the state was issued for; InvalidInput for an unknown or used state."""
    stored = await process.redis.getdel(process.keys.oauth_state(state))
    remembered = _remembered(stored)
    if remembered is None or remembered["system"] != system:
        raise InvalidInput("unknown or expired state; start again")
    engine = await process.engine_of(remembered["link"])
    if engine is None:
        raise InvalidInput("the link this consent was for no longer exists")
    try:
        await _client(engine, system).exchange_code(code)
    except ConnectorError as exc:
        raise InvalidInput(exc.to_dict()) from None
    log.info("oauth.connected", system=system, link=engine.link)
    status: dict[str, Any] = await _client(engine, system).auth_status()
    result: dict[str, Any] = {"connected": True, "system": system, "link": engine.link, "status": status}
    if remembered.get("back"):
        result["back"] = remembered["back"]
    if system == "eaccounting":
        # A token is bound to the company the admin picked at consent: show which one this link now reaches.
        try:
            result["company"] = (await engine.eaccounting.company_settings()).name
        except ConnectorError as exc:
            log.warning("oauth.company_unknown", link=engine.link, error=str(exc))
        else:
            await remember_company(process, engine.link, result["company"])
    return result


async def abandon_authorization(process: Process, state: str) -> dict[str, str] | None:
    """A consent refused at the provider: its state is used up; what it was for (system, link, the page to go back
    to), or None for an unknown or expired state."""
    return _remembered(await process.redis.getdel(process.keys.oauth_state(state)))


def _remembered(raw: bytes | None) -> dict[str, str] | None:
    if raw is None:
        return None
    text = raw.decode()
    if text in ("exact", "eaccounting"):  # a state issued before links existed
        return {"system": text, "link": "default"}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and {"system", "link"} <= data.keys() else None


async def subscribe_webhooks(engine: Engine) -> dict[str, Any]:
    """Make sure Exact sends the flows' topics of the link's division to the public URL (raises ConnectorError)."""
    url = engine.settings.exact.public_webhook_url
    if not url:
        raise InvalidInput("EXACT__PUBLIC_WEBHOOK_URL is not set; polling only")
    done = await ensure_subscriptions(engine.exact, url, webhook_topics(engine.flows))
    return {"callback_url": url, "topics": done}
