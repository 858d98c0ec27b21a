"""Console pages: problems (dead letters by reason, the books check) and flows (settings, enable, run now)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.console.options import field_errors, form_fields, options_from_form
from app.console.pages import engine_of
from app.console.web import FormDep, PageError, SignedInDep, console_of, done, page
from app.engine import Engine
from app.flowconfig import ConfigInvalid
from app.reconciliation import PeriodInvalid, run_reconciliation
from app.services import activity as data
from app.services import flows as flows_service
from app.services import overview
from app.services.errors import InvalidInput, NotFoundError
from connectors.errors import ConnectorError
from flows.base import FlowDefinition

router = APIRouter(include_in_schema=False)


def _sim_item_form(request: Request) -> str | None:
    """In the demo, where the Exact simulator's item form is (its API host is the simulator)."""
    settings = request.state.settings
    if not settings.demo:
        return None
    base: str = settings.exact.api_base_url
    return base.rstrip("/") + "/_sim/items/new"


@router.get("/console/problems", response_class=HTMLResponse)
async def problems(
    request: Request,
    user: SignedInDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    engine = await engine_of(request, user)
    now = console_of(request).now()
    books: dict[str, Any] | None = None
    books_error = None
    if start is not None and end is not None:
        try:
            books = (await run_reconciliation(engine, start, end)).to_dict()
        except (PeriodInvalid, ConfigInvalid, ConnectorError, KeyError) as exc:
            books_error = str(exc)
    today = now.date()
    return page(
        request,
        "problems.html",
        user,
        {
            "groups": await data.problem_groups(engine),
            "item_form": _sim_item_form(request),
            "console_url": str(request.url_for("problems")),
            "books": books,
            "books_error": books_error,
            "period": {"from": (start or today - timedelta(days=30)).isoformat(), "to": (end or today).isoformat()},
        },
        flash=await user.take_flash(),
    )


@router.post("/console/problems/retry", response_model=None)
async def retry_problem(request: Request, user: SignedInDep, form: FormDep) -> Response:
    queued = await data.retry_group(await engine_of(request, user), form.get("group", ""))
    text = f"{queued} record{'s' if queued != 1 else ''} queued for a retry." if queued else "Nothing left to retry."
    return await done(request, user, "/console/problems", text, {"queued": queued})


def _flow(engine: Engine, flow: str) -> FlowDefinition:
    try:
        return flows_service.definition(engine, flow)
    except NotFoundError:
        raise PageError(404, "Not found", f"There is no flow {flow!r}.", "/console/flows") from None


async def _stored(engine: Engine, flow: str) -> dict[str, Any]:
    """The flow's stored config as `GET /flows/{flow}/config` shows it (an invalid one as stored)."""
    config: dict[str, Any] = (await flows_service.flow_config(engine, flow))["config"]
    return config


@router.get("/console/flows", response_class=HTMLResponse)
async def flows(request: Request, user: SignedInDep) -> HTMLResponse:
    engine = await engine_of(request, user)
    views = await overview.flow_views(engine, console_of(request).now())
    return page(request, "flows.html", user, {"flows": views}, flash=await user.take_flash())


async def _flow_page(
    request: Request,
    user: SignedInDep,
    flow: str,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
    submitted: dict[str, str] | None = None,
) -> HTMLResponse:
    engine = await engine_of(request, user)
    definition = _flow(engine, flow)
    now = console_of(request).now()
    raw = await _stored(engine, flow)
    view = next(v for v in await overview.flow_views(engine, now) if v.name == flow)
    recent, _ = await data.activity_rows(engine, flow=flow, outcome=None, text=None, before=None, limit=10)
    fields = form_fields(definition.options_model, raw.get("options") or {}, errors or [], submitted)
    names = {f.name for f in fields}
    return page(
        request,
        "flow.html",
        user,
        {
            "definition": definition,
            "view": view,
            "fields": fields,
            "invalid": [f for f in fields if f.error],
            # Errors that name no setting (the config as a whole): said in words above the form.
            "general": [text for name, text in field_errors(errors or []).items() if name not in names],
            "recent": recent,
        },
        flash=await user.take_flash(),
        status_code=status_code,
    )


@router.get("/console/flows/{flow}", response_class=HTMLResponse)
async def flow_page(request: Request, user: SignedInDep, flow: str) -> HTMLResponse:
    return await _flow_page(request, user, flow)


@router.post("/console/flows/{flow}/enabled", response_model=None)
async def set_enabled(request: Request, user: SignedInDep, form: FormDep, flow: str) -> Response:
    engine = await engine_of(request, user)
    _flow(engine, flow)
    raw = await _stored(engine, flow)
    enabled = form.get("enabled") == "true"
    try:
        await flows_service.put_flow_config(engine, flow, {**raw, "enabled": enabled})
    except InvalidInput as exc:
        return await _flow_page(request, user, flow, _errors(exc), 422)
    text = f"The {flow} flow is {'enabled' if enabled else 'disabled'}."
    return await done(request, user, f"/console/flows/{flow}", text, {"enabled": enabled})


@router.post("/console/flows/{flow}/options", response_model=None)
async def save_options(request: Request, user: SignedInDep, form: FormDep, flow: str) -> Response:
    engine = await engine_of(request, user)
    definition = _flow(engine, flow)
    raw = await _stored(engine, flow)
    options, errors = options_from_form(definition.options_model, form)
    if not errors:
        try:
            await flows_service.put_flow_config(engine, flow, {**raw, "options": options})
        except InvalidInput as exc:
            errors = _errors(exc)
    if errors:
        return await _flow_page(request, user, flow, errors, 422, submitted=form)
    return await done(request, user, f"/console/flows/{flow}", "Settings saved; the next records use them.", {})


@router.post("/console/flows/{flow}/run", response_model=None)
async def run_now(request: Request, user: SignedInDep, _form: FormDep, flow: str) -> Response:
    engine = await engine_of(request, user)
    definition = _flow(engine, flow)
    if definition.poll is None:
        return await done(
            request, user, f"/console/flows/{flow}", "This flow has no polling; it runs on webhooks.", {}, "warn"
        )
    started = console_of(request).clock()
    queued = (await flows_service.run_flow(engine, flow, record_id=None, since=None))["queued"]
    text = "Checking for changes now…" if queued else "A check is already queued; it runs shortly."
    watch = f"/console/flows/{flow}/result?since={started:.3f}"
    return await done(request, user, f"/console/flows/{flow}", text, {"queued": queued, "watch": watch})


@router.get("/console/flows/{flow}/result")
async def run_result(request: Request, user: SignedInDep, flow: str, since: float) -> JSONResponse:
    """What a run started at `since` has done so far: whether the poll ran, and the records it ran."""
    engine = await engine_of(request, user)
    _flow(engine, flow)
    raw = await engine.redis.get(engine.keys.last_poll(flow))
    polled = raw is not None and float(raw) >= since
    entries, _ = await engine.activity.query(flow=flow, limit=200)
    ran = [e for e in entries if e.started_at.timestamp() >= since]
    if not polled:
        return JSONResponse({"done": False, "message": "Waiting for the worker to check…"})
    if not ran:
        return JSONResponse({"done": True, "message": "Checked: nothing new to transfer."})
    counts: dict[str, int] = {}
    for entry in ran:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    said = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    names = "; ".join(data.label_of(e) for e in ran[:3])
    return JSONResponse({"done": False, "message": f"Checked: {len(ran)} records ran ({said}): {names}"})


def _errors(exc: InvalidInput) -> list[dict[str, Any]]:
    detail = exc.detail
    return list(detail) if isinstance(detail, list) else [{"loc": [], "msg": str(detail)}]


__all__ = ["ConfigInvalid", "json", "router"]
