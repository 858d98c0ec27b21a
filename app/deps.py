"""FastAPI dependencies reading the lifespan state, with Annotated aliases for route signatures.

They do no I/O and are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread, a hop
that cost the webhook route two thread round trips per request (bench/bench_webhooks.py).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from arq.connections import ArqRedis
from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.engine import Engine
from app.links import LINK_ID_PATTERN
from app.scope import Process
from app.settings import Settings
from connectors.keys import DEFAULT_LINK, Keys


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_redis(request: Request) -> ArqRedis:
    redis: ArqRedis = request.state.redis
    return redis


async def get_keys(request: Request) -> Keys:
    keys: Keys = request.state.keys
    return keys


async def get_process(request: Request) -> Process:
    process: Process = request.state.process
    return process


async def link_path(
    link: Annotated[str, Path(description="The link (administration) id, e.g. `default`", pattern=LINK_ID_PATTERN)],
) -> str:
    """Declares (and validates) the `{link}` segment of the `/links/{link}/...` paths."""
    return link


async def get_link(request: Request) -> Engine:
    """The engine (scope and rules) of the link the path names: `/links/{link}/...`, or `default` for the paths
    from before links. 404 for a link that does not exist."""
    link = request.path_params.get("link", DEFAULT_LINK)
    engine = await (await get_process(request)).engine_of(link)
    if engine is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no link {link!r}; see GET /links")
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[ArqRedis, Depends(get_redis)]
KeysDep = Annotated[Keys, Depends(get_keys)]
ProcessDep = Annotated[Process, Depends(get_process)]
LinkDep = Annotated[Engine, Depends(get_link)]

_bearer = HTTPBearer(auto_error=False, description="The admin token (ADMIN__TOKEN)")


async def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless it carries `Authorization: Bearer <admin token>` (constant-time compare)."""
    expected = settings.admin.token.get_secret_value() if settings.admin.token else ""
    given = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid admin token",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Depends(require_admin)

# Documented on every admin router, so the OpenAPI document names every status the API can answer.
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong `Authorization: Bearer <admin token>`"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such flow, log entry or record"}}
NO_SUCH_LINK: dict[int | str, dict[str, Any]] = {404: {"description": "No such link (or flow, log entry, record)"}}
