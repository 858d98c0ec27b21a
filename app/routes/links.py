"""Admin API for links (`/links`): create, list, show, change, pause, resume, remove. Everything of one link is under
`/links/{link}/...` (flows, logs, dead letters, connections; see `app.main`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from app.deps import ADMIN_RESPONSES, AdminDep, ProcessDep, link_path
from app.links import Link, LinkChanges, NewLink, link_json
from app.services import links as service

router = APIRouter(tags=["links"], dependencies=[AdminDep], responses=ADMIN_RESPONSES)
LinkId = Annotated[str, Depends(link_path)]
NO_LINK: dict[int | str, dict[str, Any]] = {404: {"description": "No such link"}}


@router.get("/links", summary="The links: each pairs an Exact division with an eAccounting company")
async def list_links(process: ProcessDep) -> list[dict[str, Any]]:
    return await service.list_links(process)


@router.post(
    "/links",
    status_code=status.HTTP_201_CREATED,
    summary="Create a link; then connect its eAccounting company at /links/{link}/oauth/eaccounting/authorize",
    responses={409: {"description": "A link with this id exists"}},
)
async def create_link(process: ProcessDep, body: NewLink) -> dict[str, Any]:
    link: Link = await service.create_link(process, body)
    return link_json(link)


@router.get("/links/{link}", summary="One link", responses=NO_LINK)
async def get_link(process: ProcessDep, link: LinkId) -> dict[str, Any]:
    return link_json(await service.get_link(process, link))


@router.patch(
    "/links/{link}",
    summary="Change a link's title or alert destination (`alert_url`; null clears it: the installation's is used)",
    responses=NO_LINK,
)
async def change_link(process: ProcessDep, link: LinkId, body: LinkChanges) -> dict[str, Any]:
    return link_json(await service.change_link(process, link, body))


@router.post(
    "/links/{link}/pause", summary="Pause a link: no polls, no record runs, webhooks ignored", responses=NO_LINK
)
async def pause_link(process: ProcessDep, link: LinkId) -> dict[str, Any]:
    return link_json(await service.set_paused(process, link, True))


@router.post(
    "/links/{link}/resume", summary="Resume a paused link (polls catch up from their cursors)", responses=NO_LINK
)
async def resume_link(process: ProcessDep, link: LinkId) -> dict[str, Any]:
    return link_json(await service.set_paused(process, link, False))


@router.delete("/links/{link}", summary="Remove a link and all its data", responses=NO_LINK)
async def remove_link(process: ProcessDep, link: LinkId) -> dict[str, Any]:
    return await service.remove_link(process, link)
