"""Flows of one link: list them, read and replace their configs, run, replay and preview them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

import mapping
from app.engine import Engine
from app.flowconfig import ConfigInvalid, ResolvedConfig, resolve
from app.jobs import enqueue_poll, queued_job
from app.preview import RecordNotFound, preview_record
from app.services.errors import InvalidInput, NotFoundError
from flows.base import FlowDefinition


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


class PreviewRequest(BaseModel):
    record: dict[str, Any] | None = Field(None, description="A source record (pasted); or give record_id to fetch it")
    record_id: str | None = None
    mapping: str | None = Field(None, description="Mapping name (default: the flow's)")
    mapping_overrides: dict[str, Any] | None = Field(
        None, description="Overrides of that mapping to try instead of the stored ones (the mapping editor)"
    )
    fresh: bool = Field(
        False,
        description="As if the record had never been transferred: its own cross-reference and last-written hash "
        "are ignored (to see the payload of a record that already ran)",
    )
    mapping_only: bool = Field(
        False, description="Only the mapping, with the given `lookups`, no API call (the flow's checks do not run)"
    )
    mode: str = Field("create", pattern="^(create|update)$", description="With mapping_only: create or update")
    lookups: dict[str, dict[str, Any]] = Field(default_factory=dict, description="With mapping_only: lookup tables")


def definition(engine: Engine, flow: str) -> FlowDefinition:
    found = engine.flows.get(flow)
    if found is None:
        raise NotFoundError(f"unknown flow {flow!r}; see GET /flows")
    return found


def mapping_in_use(found: FlowDefinition, resolved: ResolvedConfig) -> str | None:
    """The mapping a run sends with: the config's `mapping`, unless an option of the flow picks it (the orders
    flow's `document` selects `orders_to_exact_<document>`)."""
    document = getattr(resolved.options, "document", None)
    if isinstance(document, str):
        for name in found.mapping_names():
            if name.endswith(f"_{document}"):
                return name
    return resolved.mapping_name


async def list_flows(engine: Engine) -> list[FlowSummary]:
    """The link's flows with their state: enabled, cursor, dead letters, mapping."""
    dead = await engine.dead_letters.count_by_flow()
    result = []
    for name, found in engine.flows.items():
        enabled: bool | None
        error = None
        mapping_name = found.default_mapping
        try:
            resolved = await engine.configs.get(name)
            enabled = resolved.config.enabled
            mapping_name = resolved.mapping_name
        except ConfigInvalid as exc:
            enabled, error = None, str(exc)
        cursor = await engine.redis.get(engine.keys.cursor(name))
        result.append(
            FlowSummary(
                name=name,
                title=found.title,
                source=found.source,
                target=found.target,
                enabled=enabled,
                config_error=error,
                webhook_topics=list(dict.fromkeys(found.webhook_topics)),
                polling=found.poll is not None,
                cursor=cursor.decode() if cursor else None,
                dead_letters=dead.get(name, 0),
                mapping=mapping_name,
                mapping_choices=found.mapping_names(),
            )
        )
    return result


async def flow_config(engine: Engine, flow: str) -> dict[str, Any]:
    """The stored (or default) config, its validated options and their schema; or the errors of an invalid one."""
    found = definition(engine, flow)
    raw = await engine.configs.raw(flow)
    try:
        resolved = await engine.configs.get(flow)
    except ConfigInvalid as exc:
        return {"config": raw, "valid": False, "errors": exc.errors}
    return {
        "config": resolved.config.model_dump(mode="json"),
        "options": resolved.options.model_dump(mode="json"),
        "options_schema": found.options_model.model_json_schema(),
        "valid": True,
        "version": resolved.version,
    }


async def put_flow_config(engine: Engine, flow: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate and store; an invalid config is refused naming every field at fault, and the old one stays."""
    definition(engine, flow)
    try:
        resolved = await engine.configs.put(flow, raw)
    except ConfigInvalid as exc:
        raise InvalidInput(exc.errors) from None
    return {"config": resolved.config.model_dump(mode="json"), "version": resolved.version}


def _field_error(field: str, message: str) -> InvalidInput:
    """A 422 naming the body field at fault, shaped like FastAPI's own validation errors."""
    return InvalidInput([{"loc": ["body", field], "msg": message, "type": "value_error"}])


async def _already(engine: Engine, job_id: str, what: str) -> dict[str, Any]:
    """Why a run was not queued: the run that holds its job id, and when that one was queued and is due."""
    held = await queued_job(engine.redis, engine.settings, job_id)
    reason = f"{what} is already {'running' if held['state'] == 'running' else 'queued'}; this request joined it"
    return {"reason": reason, "existing": held}


async def run_flow(engine: Engine, flow: str, *, record_id: str | None, since: str | None) -> dict[str, Any]:
    """Queue a run of one record, or a poll (from `since` instead of the stored cursor).

    `since` is checked here, as the flow's poller will read it (`FlowDefinition.since`), and `record_id` too: a value
    the flow could not run with is a 422 naming the field, never a queued job that crashes. A run that joins one
    already queued (or running) says so, and which one.
    """
    found = definition(engine, flow)
    if record_id is not None:
        try:
            # Record ids are GUIDs in both systems, compared case-insensitively there; webhook keys arrive
            # lower-cased, so a manual run must use the same job id and record lock.
            record = found.record_id(record_id)
        except ValueError as exc:
            raise _field_error("record_id", str(exc)) from None
        queued = await engine.enqueue(flow, record, "manual")
        answer: dict[str, Any] = {"queued": queued, "record_id": record}
        if not queued:
            answer |= await _already(engine, engine.keys.record_job(flow, record), "a run")
        return answer
    if found.poll is None:
        raise _field_error("record_id", "this flow has no polling; give record_id")
    cursor = None
    if since is not None:
        try:
            cursor = found.since(since)
        except ValueError as exc:
            raise _field_error("since", str(exc)) from None
    queued = await enqueue_poll(engine.redis, engine.settings, flow, since=cursor, link=engine.link)
    answer = {"queued": queued, "poll": True, "since": cursor}
    if not queued:
        answer |= await _already(engine, engine.keys.poll_job(flow), "a poll")
    return answer


async def retry_failed(engine: Engine, flow: str) -> int:
    definition(engine, flow)
    return await engine.retry_failed(flow)


async def retry_log_entry(engine: Engine, log_id: str) -> dict[str, Any]:
    """Replay the record of an activity-log entry of this link (an entry of another link is not found here)."""
    entry = await engine.activity.get(log_id)
    if entry is None:
        raise NotFoundError("no such log entry (or expired)")
    definition(engine, entry.flow)
    queued = await engine.enqueue(entry.flow, entry.source_id, "retry", replay_of=log_id)
    answer: dict[str, Any] = {"queued": queued, "flow": entry.flow, "record_id": entry.source_id}
    if not queued:
        job_id = engine.keys.record_job(entry.flow, entry.source_id)
        answer |= await _already(engine, job_id, "a run of this record")
    return answer


async def preview(engine: Engine, flow: str, body: PreviewRequest) -> dict[str, Any]:
    """What the flow would do with one record, written nowhere (app/preview.py): the payload, its field-by-field
    trace, the records it would create first and the warnings. The record is fetched by `record_id` or given.

    Raises ConnectorError when a system is not connected (or does not answer); a record the flow refuses comes
    back in `error`. With `mapping_only`, just the mapping with the given lookup tables, no call at all.
    """
    found = definition(engine, flow)
    raw = await engine.configs.raw(flow)
    name = body.mapping
    if body.mapping_overrides is not None:
        target = name or raw.get("mapping") or found.default_mapping
        raw = {
            **raw,
            "mapping_overrides": {**(raw.get("mapping_overrides") or {}), str(target): body.mapping_overrides},
        }
    try:
        resolved = resolve(found, raw)
    except ConfigInvalid as exc:
        raise InvalidInput(exc.errors) from None
    name = name or resolved.mapping_name
    known = found.mapping_names()
    if name is None or name not in known:
        raise InvalidInput(f"mapping must be one of {known}")
    if body.mapping and body.mapping != resolved.mapping_name and not body.mapping_only:
        # A preview with another of the flow's mappings: the flow runs as if it were the selected one.
        raw = {**raw, "mapping": body.mapping}
        try:
            resolved = resolve(found, raw)
        except ConfigInvalid as exc:
            raise InvalidInput(exc.errors) from None
    record = body.record
    if record is None and not body.record_id:
        raise InvalidInput("give record or record_id")
    if record is None and body.record_id is not None:
        try:  # checked and normalised as a run takes it (a GUID, lower-cased)
            body = body.model_copy(update={"record_id": found.record_id(body.record_id)})
        except ValueError as exc:
            raise _field_error("record_id", str(exc)) from None
    if body.mapping_only:
        if record is None:
            # Fetched through the preview's dry-run context: a flow's fetch may keep state of its own.
            try:
                record = (
                    await preview_record(engine, found, resolved, None, record_id=body.record_id, fetch_only=True)
                ).source
            except RecordNotFound:
                raise NotFoundError("source record not found") from None
        try:
            result = resolved.compiled(name).dry_run(record, mode=body.mode, lookups=body.lookups)
        except mapping.MappingError as exc:
            raise InvalidInput(str(exc)) from None
        return {"mapping": name, "source": record, **result.to_dict(), "written": False}
    if not body.mapping:
        name = mapping_in_use(found, resolved) or name
    try:
        previewed = await preview_record(
            engine, found, resolved, record, record_id=body.record_id, fresh=body.fresh, mapping_name=name
        )
    except RecordNotFound:
        raise NotFoundError("source record not found") from None
    return previewed.to_dict()


__all__ = [
    "FlowSummary",
    "PreviewRequest",
    "definition",
    "flow_config",
    "list_flows",
    "mapping_in_use",
    "preview",
    "put_flow_config",
    "retry_failed",
    "retry_log_entry",
    "run_flow",
]
