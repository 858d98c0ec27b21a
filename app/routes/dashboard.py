"""The old dashboard's address: the operator console (`app/console`) replaced it at `/`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> RedirectResponse:
    return RedirectResponse("/", status_code=308)
