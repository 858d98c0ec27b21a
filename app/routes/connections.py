"""Connecting both systems (OAuth authorization-code flow) and Exact webhook subscriptions
(`app.services.connections` does the work)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.deps import ADMIN_RESPONSES, AdminDep, LinkDep, ProcessDep
from app.errors import UPSTREAM_RESPONSES, upstream_error
from app.services import connections as service
from app.services.connections import System
from app.services.errors import InvalidInput
from connectors.errors import ConnectorError

router = APIRouter(tags=["connections"])
# The callback is the redirect URI registered with each provider: one for the installation, not per link.
callback_router = APIRouter(tags=["connections"])


@router.get(
    "/connections", dependencies=[AdminDep], responses=ADMIN_RESPONSES, summary="Connection state of both systems"
)
async def connections(engine: LinkDep) -> dict[str, Any]:
    return await service.connection_status(engine)


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
async def authorize(engine: LinkDep, system: System, redirect: bool = True) -> Response:
    url = await service.start_authorization(engine, system)
    if not redirect:
        # A browser navigation cannot carry the admin token, so the dashboard asks for the URL and goes there.
        return JSONResponse({"authorize_url": url})
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND)


def _local(path: str) -> str:
    """`path` when it is a path on this site (never `//host` or a scheme), else the overview."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@callback_router.get(
    "/oauth/{system}/callback",
    summary="OAuth redirect target: exchanges the code (the state proves it is our request)",
    responses={
        303: {"description": "A browser (`Accept: text/html`) goes back to the console's overview"},
        400: {"description": "Unknown or expired state, or the provider reported an error"},
    },
)
async def callback(
    request: Request,
    process: ProcessDep,
    system: System,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    if error:
        said = f"{error}: {error_description}" if error_description else error
        if "text/html" in request.headers.get("accept", "") and state:
            # A person said no (or the provider failed): back to the page the consent started from, in words.
            remembered = await service.abandon_authorization(process, state)
            if remembered is not None and remembered.get("back"):
                back = _local(remembered["back"])
                joiner = "&" if "?" in back else "?"
                query = urlencode({"refused": system, "reason": said[:500]})
                return RedirectResponse(f"{back}{joiner}{query}", status_code=status.HTTP_303_SEE_OTHER)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"authorization refused: {said}")
    if not code or not state:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="code and state are required")
    try:
        done = await service.finish_authorization(process, system, code=code, state=state)
    except InvalidInput as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=exc.detail) from None
    if "text/html" in request.headers.get("accept", ""):
        # A person's browser coming back from the consent page: to the console, not to a JSON document.
        back = _local(str(done.get("back") or "/"))
        joiner = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{joiner}connected={system}", status_code=status.HTTP_303_SEE_OTHER)
    return done


@router.post(
    "/connections/exact/webhooks",
    dependencies=[AdminDep],
    responses={**ADMIN_RESPONSES, **UPSTREAM_RESPONSES, 422: {"description": "EXACT__PUBLIC_WEBHOOK_URL is not set"}},
    summary="Ensure Exact webhook subscriptions exist for the flows' topics at the public URL",
)
async def subscribe(engine: LinkDep) -> dict[str, Any]:
    try:
        return await service.subscribe_webhooks(engine)
    except ConnectorError as exc:
        raise upstream_error(exc) from None
