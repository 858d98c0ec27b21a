"""Read-only views of the effective configuration: settings (secrets masked), mappings and their JSON Schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, HTTPException, status

import mapping
from app.deps import ADMIN_RESPONSES, NOT_FOUND, AdminDep, SettingsDep

router = APIRouter(tags=["config"], dependencies=[AdminDep], responses=ADMIN_RESPONSES | NOT_FOUND)


def mask_url_password(url: str) -> str:
    """`redis://:pw@host:6379/0` -> `redis://:**********@host:6379/0` (the Redis URL may carry a password)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:**********@{host}{port}"))


@router.get("/config", summary="Effective settings (every secret masked) and the shipped mappings' versions")
async def effective_config(settings: SettingsDep) -> dict[str, Any]:
    # SecretStr dumps as "**********" in JSON mode; the Redis URL is plain text and masked here.
    dumped = settings.model_dump(mode="json")
    dumped["redis"]["url"] = mask_url_password(settings.redis.url)
    return {
        "settings": dumped,
        "mappings": {name: mapping.load_default(name).version for name in mapping.default_names()},
    }


@router.get("/mappings/schema", summary="JSON Schema of the mapping format")
async def mapping_schema() -> dict[str, Any]:
    return mapping.mapping_json_schema()


@router.get("/mappings/{name}", summary="A shipped default mapping, as JSON")
async def default_mapping(name: str) -> dict[str, Any]:
    if name not in mapping.default_names():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown mapping; one of {mapping.default_names()}")
    document: dict[str, Any] = mapping.load_default_document(name)
    return document
