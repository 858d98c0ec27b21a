"""Connecting both systems (OAuth authorization-code flow) and Exact webhook subscriptions."""

from __future__ import annotations

import secrets
from typing import Any, Literal

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.deps import ADMIN_RESPONSES, AdminDep, KeysDep, RedisDep, SettingsDep
from app.errors import UPSTREAM_RESPONSES, upstream_error
from app.services import Services
from app.subscriptions import ensure_subscriptions, webhook_topics
from connectors.errors import ConnectorError

router = APIRouter(tags=["connections"])
log = structlog.get_logger("connections")

System = Literal["exact", "eaccounting"]
STATE_TTL_SECONDS = 600


def _services(request: Request) -> Services:
    services: Services = request.state.services
    return services


def _client(request: Request, system: System) -> Any:
    services = _services(request)
    return services.exact if system == "exact" else services.eaccounting


@router.get(
    "/connections", dependencies=[AdminDep], responses=ADMIN_RESPONSES, summary="Connection state of both systems"
)
async def connections(request: Request) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for system in ("exact", "eaccounting"):
        try:
            result[system] = await _client(request, system).auth_status()
        except ConnectorError as exc:
            result[system] = {"connected": False, "error": exc.to_dict()}
    return result


@router.get(
    "/oauth/{system}/authorize",
    dependencies=[AdminDep],
    responses={
        **ADMIN_RESPONSES,
        200: {"description": 'With `redirect=false`: `{"authorize_url": ...}` (for pages that send the token)'},
    },
    summary="Start connecting a system: redirects to its consent page",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
)
async def authorize(
    request: Request, system: System, redis: RedisDep, keys: KeysDep, redirect: bool = True
) -> Response:
    state = secrets.token_urlsafe(24)
    await redis.set(keys.oauth_state(state), system, ex=STATE_TTL_SECONDS)
    url: str = _client(request, system).authorize_url(state)
    if not redirect:
        # A browser navigation cannot carry the admin token, so the dashboard asks for the URL and goes there.
        return JSONResponse({"authorize_url": url})
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND)


@router.get(
    "/oauth/{system}/callback",
    summary="OAuth redirect target: exchanges the code (the state proves it is our request)",
    responses={400: {"description": "Unknown or expired state, or the provider reported an error"}},
)
async def callback(
    request: Request,
    system: System,
    redis: RedisDep,
    keys: KeysDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    if error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"authorization refused: {error}")
    if not code or not state:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="code and state are required")
    stored = await redis.getdel(keys.oauth_state(state))
    if stored is None or stored.decode() != system:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="unknown or expired state; start again")
    try:
        await _client(request, system).exchange_code(code)
    except ConnectorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=exc.to_dict()) from None
    log.info("oauth.connected", system=system)
    status_: dict[str, Any] = await _client(request, system).auth_status()
    return {"connected": True, "system": system, "status": status_}


@router.post(
    "/connections/exact/webhooks",
    dependencies=[AdminDep],
    responses={**ADMIN_RESPONSES, **UPSTREAM_RESPONSES, 422: {"description": "EXACT__PUBLIC_WEBHOOK_URL is not set"}},
    summary="Ensure Exact webhook subscriptions exist for the flows' topics at the public URL",
)
async def subscribe(request: Request, settings: SettingsDep) -> dict[str, Any]:
    url = settings.exact.public_webhook_url
    if not url:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="EXACT__PUBLIC_WEBHOOK_URL is not set; polling only"
        )
    try:
        done = await ensure_subscriptions(_services(request).exact, url, webhook_topics(request.state.flows))
    except ConnectorError as exc:
        raise upstream_error(exc) from None
    return {"callback_url": url, "topics": done}
