"""Admin API over the activity log and the dead-letter list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from app.activity import ActivityEntry, ActivityLog, DeadLetter, Outcome
from app.deps import ADMIN_RESPONSES, NOT_FOUND, AdminDep, LinkDep
from app.services import activity as service

router = APIRouter(tags=["activity"], dependencies=[AdminDep], responses=ADMIN_RESPONSES | NOT_FOUND)

_CURSOR_PATTERN = r"^\d{13}-[0-9a-f]{1,32}$"


async def get_activity(engine: LinkDep) -> ActivityLog:
    """The activity log of the link the path names (the workers' own: same retention and redaction)."""
    return engine.activity


ActivityDep = Annotated[ActivityLog, Depends(get_activity)]


class LogPage(BaseModel):
    items: list[ActivityEntry]
    next: str | None = Field(None, description="Pass as `before` to get the next (older) page; null on the last page")


class DeadLetterList(BaseModel):
    items: list[DeadLetter]


@router.get(
    "/logs",
    summary="Activity-log entries, newest first, filtered and paged",
    response_model=LogPage,
    responses={404: {"description": "No such flow (or link)"}, 422: {"description": "Invalid filter"}},
)
async def list_logs(
    engine: LinkDep,
    flow: Annotated[str | None, Query(description="Flow name, e.g. `orders` (see GET /flows)", max_length=200)] = None,
    outcome: Annotated[Outcome | None, Query(description="Only this outcome")] = None,
    source_id: Annotated[str | None, Query(description="Source record id", max_length=200)] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC (inclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        str | None, Query(description="Cursor: the `next` of the previous page", pattern=_CURSOR_PATTERN)
    ] = None,
) -> LogPage:
    items, cursor = await service.log_page(
        engine, flow=flow, outcome=outcome, source_id=source_id, since=since, until=until, limit=limit, before=before
    )
    return LogPage(items=items, next=cursor)


@router.get(
    "/logs/{log_id}",
    summary="One activity-log entry",
    response_model=ActivityEntry,
    responses={404: {"description": "Unknown or expired (past the retention)"}},
)
async def get_log(log_id: str, activity: ActivityDep) -> ActivityEntry:
    entry = await activity.get(log_id)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such log entry (or expired)")
    return entry


@router.get("/dead-letters", summary="Records that failed for good, newest first", response_model=DeadLetterList)
async def list_dead_letters(
    engine: LinkDep,
    flow: Annotated[str | None, Query(description="Only this flow (see GET /flows)", max_length=200)] = None,
) -> DeadLetterList:
    return DeadLetterList(items=await service.dead_letters(engine, flow))
