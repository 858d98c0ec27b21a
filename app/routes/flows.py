"""Admin API for flows: list, configure, run, replay, preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from pydantic import BaseModel, Field

import mapping
from app.deps import ADMIN_RESPONSES, NOT_FOUND, AdminDep, KeysDep, RedisDep, SettingsDep
from app.engine import Engine, enqueue_poll, enqueue_record
from app.errors import UPSTREAM_RESPONSES, upstream_error
from app.flowconfig import ConfigInvalid, FlowConfigStore
from connectors.errors import ConnectorError
from flows.base import FlowDefinition

router = APIRouter(tags=["flows"], dependencies=[AdminDep], responses=ADMIN_RESPONSES | NOT_FOUND)


def _flows(request: Request) -> dict[str, FlowDefinition]:
    flows: dict[str, FlowDefinition] = request.state.flows
    return flows


def _definition(request: Request, flow: str) -> FlowDefinition:
    definition = _flows(request).get(flow)
    if definition is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown flow {flow!r}; see GET /flows")
    return definition


def _configs(request: Request) -> FlowConfigStore:
    store: FlowConfigStore = request.state.configs
    return store


def _engine(request: Request) -> Engine:
    engine: Engine = request.state.services.engine
    return engine


class FlowSummary(BaseModel):
    name: str
    title: str
    source: str
    target: str
    enabled: bool | None
    config_error: str | None = None
    webhook_topics: list[str]
    polling: bool
    cursor: str | None
    dead_letters: int
    mapping: str | None
    mapping_choices: list[str]


@router.get("/flows", summary="The flows, their state and cursors")
async def list_flows(request: Request, redis: RedisDep, keys: KeysDep) -> list[FlowSummary]:
    dead = await _engine(request).dead_letters.count_by_flow()
    result = []
    for name, definition in _flows(request).items():
        enabled: bool | None
        error = None
        mapping_name = definition.default_mapping
        try:
            resolved = await _configs(request).get(name)
            enabled = resolved.config.enabled
            mapping_name = resolved.mapping_name
        except ConfigInvalid as exc:
            enabled, error = None, str(exc)
        cursor = await redis.get(keys.cursor(name))
        result.append(
            FlowSummary(
                name=name,
                title=definition.title,
                source=definition.source,
                target=definition.target,
                enabled=enabled,
                config_error=error,
                webhook_topics=list(definition.webhook_topics),
                polling=definition.poll is not None,
                cursor=cursor.decode() if cursor else None,
                dead_letters=dead.get(name, 0),
                mapping=mapping_name,
                mapping_choices=[n for n in (definition.default_mapping, *definition.mapping_choices) if n],
            )
        )
    return result


@router.get("/flows/{flow}/config", summary="A flow's configuration (stored or default)")
async def get_config(request: Request, flow: str) -> dict[str, Any]:
    _definition(request, flow)
    raw = await _configs(request).raw(flow)
    try:
        resolved = await _configs(request).get(flow)
    except ConfigInvalid as exc:
        return {"config": raw, "valid": False, "errors": exc.errors}
    return {
        "config": resolved.config.model_dump(mode="json"),
        "options": resolved.options.model_dump(mode="json"),
        "options_schema": _definition(request, flow).options_model.model_json_schema(),
        "valid": True,
        "version": resolved.version,
    }


@router.put(
    "/flows/{flow}/config",
    summary="Replace a flow's configuration (validated; refused with 422 naming the field, the old one stays)",
    responses={422: {"description": "Invalid config; `detail` lists {loc, msg}"}},
)
async def put_config(
    request: Request,
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
    _definition(request, flow)
    try:
        resolved = await _configs(request).put(flow, config)
    except ConfigInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.errors) from None
    return {"config": resolved.config.model_dump(mode="json"), "version": resolved.version}


class RunRequest(BaseModel):
    record_id: str | None = Field(None, description="Run for this source record only")
    since: str | None = Field(None, description="Poll from this cursor (timestamp/ISO date) instead of the stored one")


@router.post("/flows/{flow}/run", status_code=status.HTTP_202_ACCEPTED, summary="Run a flow now")
async def run_flow(
    request: Request, flow: str, redis: RedisDep, settings: SettingsDep, body: RunRequest | None = None
) -> dict[str, Any]:
    definition = _definition(request, flow)
    body = body or RunRequest()
    if body.record_id:
        # Record ids are GUIDs in both systems, compared case-insensitively there; webhook keys arrive lower-cased,
        # so a manual run must use the same job id and record lock.
        record_id = body.record_id.strip().lower()
        queued = await enqueue_record(redis, settings, flow, record_id, "manual")
        return {"queued": queued, "record_id": record_id}
    if definition.poll is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="this flow has no polling; give record_id")
    queued = await enqueue_poll(redis, settings, flow, since=body.since)
    return {"queued": queued, "poll": True, "since": body.since}


@router.post("/flows/{flow}/retry-failed", status_code=status.HTTP_202_ACCEPTED, summary="Replay dead letters")
async def retry_failed(request: Request, flow: str) -> dict[str, Any]:
    _definition(request, flow)
    return {"queued": await _engine(request).retry_failed(flow)}


@router.post("/logs/{log_id}/retry", status_code=status.HTTP_202_ACCEPTED, summary="Replay the record of a log entry")
async def retry_log_entry(request: Request, log_id: str, redis: RedisDep, settings: SettingsDep) -> dict[str, Any]:
    entry = await _engine(request).activity.get(log_id)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such log entry (or expired)")
    _definition(request, entry.flow)
    queued = await enqueue_record(redis, settings, entry.flow, entry.source_id, "retry", replay_of=log_id)
    return {"queued": queued, "flow": entry.flow, "record_id": entry.source_id}


class PreviewRequest(BaseModel):
    record: dict[str, Any] | None = Field(None, description="A source record; or give record_id to fetch it")
    record_id: str | None = None
    mapping: str | None = Field(None, description="Mapping name (default: the flow's)")
    mode: str = Field("create", pattern="^(create|update)$")
    lookups: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Lookup tables for the mapping")


@router.post(
    "/flows/{flow}/preview",
    summary="Dry-run the mapping on a given or fetched source record",
    responses=UPSTREAM_RESPONSES,
)
async def preview(request: Request, flow: str, body: PreviewRequest) -> dict[str, Any]:
    definition = _definition(request, flow)
    try:
        resolved = await _configs(request).get(flow)
    except ConfigInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.errors) from None
    name = body.mapping or resolved.mapping_name
    known = [n for n in (definition.default_mapping, *definition.mapping_choices) if n]
    if name is None or name not in known:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"mapping must be one of {known}")
    record = body.record
    if record is None:
        if not body.record_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="give record or record_id")
        engine = _engine(request)
        ctx = engine.context(definition, resolved, "manual")
        try:
            record = await definition.fetch(ctx, body.record_id)
        except ConnectorError as exc:
            raise upstream_error(exc) from None
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="source record not found")
    compiled = resolved.compiled(name)
    try:
        result = compiled.dry_run(record, mode=body.mode, lookups=body.lookups)
    except mapping.MappingError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    dumped: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else result.model_dump(mode="json")
    return {"mapping": name, "source": record, **dumped}
