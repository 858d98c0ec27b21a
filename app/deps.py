"""FastAPI dependencies reading the lifespan state, with Annotated aliases for route signatures."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from arq.connections import ArqRedis
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.settings import Settings
from connectors.keys import Keys


def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def get_redis(request: Request) -> ArqRedis:
    redis: ArqRedis = request.state.redis
    return redis


def get_keys(request: Request) -> Keys:
    keys: Keys = request.state.keys
    return keys


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[ArqRedis, Depends(get_redis)]
KeysDep = Annotated[Keys, Depends(get_keys)]

_bearer = HTTPBearer(auto_error=False, description="The admin token (ADMIN__TOKEN)")


def require_admin(
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
