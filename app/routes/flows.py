"""Admin API for flows: list, configure, run, replay, preview (`app.services.flows` does the work)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from app.deps import ADMIN_RESPONSES, NOT_FOUND, AdminDep, LinkDep
from app.errors import UPSTREAM_RESPONSES, upstream_error
from app.services import flows as service
from app.services import mappings as mappings_service
from app.services.flows import FlowSummary, PreviewRequest
from connectors.errors import ConnectorError

router = APIRouter(tags=["flows"], dependencies=[AdminDep], responses=ADMIN_RESPONSES | NOT_FOUND)


@router.get("/flows", summary="The flows, their state and cursors")
async def list_flows(engine: LinkDep) -> list[FlowSummary]:
    return await service.list_flows(engine)


@router.get("/flows/{flow}/config", summary="A flow's configuration (stored or default)")
async def get_config(engine: LinkDep, flow: str) -> dict[str, Any]:
    return await service.flow_config(engine, flow)


@router.put(
    "/flows/{flow}/config",
    summary="Replace a flow's configuration (validated; refused with 422 naming the field, the old one stays)",
    responses={422: {"description": "Invalid config; `detail` lists {loc, msg}"}},
)
async def put_config(
    engine: LinkDep,
    flow: str,
    config: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "enabled": True,
                    "poll_interval_seconds": 60,
                    "mapping_overrides": {
                        "orders_to_exact_sales_order": {"fields": {"Description": {"source": "YourReference"}}}
                    },
                    "options": {},
                }
            ]
        ),
    ],
) -> dict[str, Any]:
    return await service.put_flow_config(engine, flow, config)


class RunRequest(BaseModel):
    record_id: str | None = Field(None, max_length=200, description="Run for this source record only (its GUID)")
    since: str | None = Field(
        None,
        max_length=200,
        description="Poll from here instead of the stored cursor: an Exact sync Timestamp (1 = everything) for flows "
        "reading Exact, an ISO 8601 date or date-time (naive = UTC) for flows reading eAccounting",
        examples=["2026-12-01T08:00:00Z"],
    )


@router.post(
    "/flows/{flow}/run",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run a flow now (a record, or a poll); `queued: false` names the queued or running run it joined",
    responses={422: {"description": "A `record_id` or `since` the flow cannot run with; `detail` names the field"}},
)
async def run_flow(engine: LinkDep, flow: str, body: RunRequest | None = None) -> dict[str, Any]:
    body = body or RunRequest()
    return await service.run_flow(engine, flow, record_id=body.record_id, since=body.since)


@router.post("/flows/{flow}/retry-failed", status_code=status.HTTP_202_ACCEPTED, summary="Replay dead letters")
async def retry_failed(engine: LinkDep, flow: str) -> dict[str, Any]:
    return {"queued": await service.retry_failed(engine, flow)}


@router.post("/logs/{log_id}/retry", status_code=status.HTTP_202_ACCEPTED, summary="Replay the record of a log entry")
async def retry_log_entry(engine: LinkDep, log_id: str) -> dict[str, Any]:
    return await service.retry_log_entry(engine, log_id)


@router.post(
    "/flows/{flow}/preview",
    summary="Dry-run the mapping on a given or fetched source record",
    responses=UPSTREAM_RESPONSES,
)
async def preview(engine: LinkDep, flow: str, body: PreviewRequest) -> dict[str, Any]:
    try:
        return await service.preview(engine, flow, body)
    except ConnectorError as exc:
        raise upstream_error(exc) from None


# -- a flow's mappings: the editor's view (shipped default, overrides, diff, target fields), save, reset ----------


@router.get("/flows/{flow}/mappings/{name}", summary="One of the flow's mappings: default, overrides, diff, fields")
async def get_flow_mapping(engine: LinkDep, flow: str, name: str) -> dict[str, Any]:
    return await mappings_service.mapping_view(engine, flow, name)


@router.put(
    "/flows/{flow}/mappings/{name}",
    summary="Replace the mapping's overrides (validated like PUT /flows/{flow}/config: 422 naming the field)",
    responses={422: {"description": "Invalid overrides; `detail` lists {loc, msg}"}},
)
async def put_flow_mapping(
    engine: LinkDep,
    flow: str,
    name: str,
    overrides: Annotated[
        dict[str, Any], Body(examples=[{"fields": {"YourRef": {"source": "OurReference"}, "Remarks": None}}])
    ],
) -> dict[str, Any]:
    return await mappings_service.save(engine, flow, name, overrides)


@router.delete("/flows/{flow}/mappings/{name}", summary="Reset the mapping to the shipped default")
async def reset_flow_mapping(engine: LinkDep, flow: str, name: str) -> dict[str, Any]:
    return await mappings_service.reset(engine, flow, name)
