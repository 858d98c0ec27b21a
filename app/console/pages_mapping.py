"""Console: the mapping editor of a flow (`/console/flows/{flow}/mapping`).

The shipped default and the link's overrides, an editor for the overrides (JSON), validation (the mapping format
and the target's real fields, the same check as saving the flow config), a dry run of the edited mapping on a
recent record of the link (the flow's real handler, nothing written: app/preview.py), the difference against the
shipped default, save and reset. Without script the buttons post the form and the page comes back with the result;
`mapping.js` re-runs the dry run as the text changes and swaps in the result (`X-Fragment: result`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.console.pages import engine_of
from app.console.web import SECURITY_HEADERS, FormDep, PageError, SignedIn, SignedInDep, console_of, done, page
from app.engine import Engine
from app.services import activity as data
from app.services import flows as flows_service
from app.services import mappings as service
from app.services.errors import InvalidInput, NotFoundError
from connectors.errors import ConnectorError, RateLimited

router = APIRouter(include_in_schema=False)

RECENT = 15


def _errors(exc: InvalidInput) -> list[dict[str, Any]]:
    detail = exc.detail
    if not isinstance(detail, list):
        return [{"where": "", "msg": str(detail)}]
    out = []
    for error in detail:
        loc = [str(p) for p in error.get("loc") or []]
        # ["mapping_overrides", name, "fields", key]: the part the person wrote is after the mapping's name.
        where = ".".join(loc[2:]) if loc[:1] == ["mapping_overrides"] else ".".join(loc)
        out.append({"where": where, "msg": str(error.get("msg"))})
    return out


def _not_found(flow: str, exc: NotFoundError) -> PageError:
    return PageError(404, "Not found", str(exc.detail), f"/console/flows/{flow}")


async def _view(engine: Engine, flow: str, name: str | None) -> dict[str, Any]:
    try:
        return await service.mapping_view(engine, flow, name)
    except NotFoundError as exc:
        raise _not_found(flow, exc) from None


async def _name(engine: Engine, flow: str, name: str | None) -> str:
    """The mapping a form names (or, without one, the one in use); 404 page for one the flow does not have."""
    try:
        return await service.mapping_name(engine, flow, name)
    except NotFoundError as exc:
        raise _not_found(flow, exc) from None


async def _records(engine: Engine, flow: str) -> list[dict[str, str]]:
    """Recent records of the link's activity log to dry-run on, newest first, one per record."""
    rows, _ = await data.activity_rows(engine, flow=flow, outcome=None, text=None, before=None, limit=RECENT * 2)
    seen: dict[str, dict[str, str]] = {}
    for row in rows:
        source = row.entry.source_id
        if source not in seen:
            seen[source] = {"id": source, "label": row.label, "outcome": row.entry.outcome}
    return list(seen.values())[:RECENT]


async def _dry_run(
    engine: Engine, flow: str, name: str, overrides: dict[str, Any], record: str, fresh: bool
) -> dict[str, Any]:
    """The flow's preview of `record` with the edited overrides: {"preview": ...} or {"problem": text}."""
    request = flows_service.PreviewRequest(record_id=record, mapping=name, mapping_overrides=overrides, fresh=fresh)
    try:
        return {"preview": await flows_service.preview(engine, flow, request)}
    except NotFoundError:
        return {"problem": "That record no longer exists in the source system; pick another one."}
    except RateLimited as exc:
        wait = f" in {exc.retry_after:.0f} s" if exc.retry_after else " in a minute"
        return {"problem": f"Could not read from {exc.system} now: its calls for this minute are spent (the flows "
                           f"use them too); try again{wait}."}  # fmt: skip
    except ConnectorError as exc:
        return {"problem": f"Could not read from {exc.system}: {exc.message}"}


async def _render(
    request: Request,
    user: SignedIn,
    flow: str,
    *,
    name: str | None,
    text: str | None = None,
    record: str | None = None,
    fresh: bool = True,
    errors: list[dict[str, Any]] | None = None,
    checked: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    status_code: int = 200,
    fragment: bool = False,
) -> HTMLResponse:
    engine = await engine_of(request, user)
    view = await _view(engine, flow, name)
    records = await _records(engine, flow)
    context = {
        "view": view,
        "flow": flow,
        "text": text if text is not None else (json.dumps(view["overrides"], indent=2) if view["overrides"] else ""),
        "records": records,
        "record": record or (records[0]["id"] if records else ""),
        "fresh": fresh,
        "errors": errors or [],
        "checked": checked,
        "result": result,
        "tried": errors is not None or checked is not None or result is not None,
        "pretty": lambda value: json.dumps(value, indent=2, ensure_ascii=False),
    }
    if fragment:
        templates = console_of(request).templates
        response = templates.TemplateResponse(request, "_mapping_result.html", context, status_code=status_code)
        response.headers.update(SECURITY_HEADERS)
        return response
    return page(request, "mapping.html", user, context, flash=await user.take_flash(), status_code=status_code)


@router.get("/console/flows/{flow}/mapping", response_class=HTMLResponse)
async def mapping_page(request: Request, user: SignedInDep, flow: str, name: str | None = None) -> HTMLResponse:
    return await _render(request, user, flow, name=name or None)


@router.post("/console/flows/{flow}/mapping/try", response_class=HTMLResponse)
async def try_mapping(request: Request, user: SignedInDep, form: FormDep, flow: str) -> HTMLResponse:
    """Validate the edited overrides and, with a record, dry-run them: the page (or, for script, the result)."""
    engine = await engine_of(request, user)
    name = await _name(engine, flow, form.get("name") or None)
    text, record, fresh = form.get("overrides", ""), form.get("record", ""), form.get("fresh") == "1"
    fragment = request.headers.get("x-fragment") == "result"
    try:
        overrides = service.parse_overrides(text)
        checked = await service.check(engine, flow, name, overrides)
    except InvalidInput as exc:
        return await _render(request, user, flow, name=name, text=text, record=record, fresh=fresh,
                             errors=_errors(exc), status_code=422, fragment=fragment)  # fmt: skip
    result = None
    if form.get("action", "dryrun") == "dryrun" and record:
        result = await _dry_run(engine, flow, name, overrides, record, fresh)
    return await _render(request, user, flow, name=name, text=text, record=record, fresh=fresh, errors=[],
                         checked=checked, result=result, fragment=fragment)  # fmt: skip


@router.post("/console/flows/{flow}/mapping/save", response_model=None)
async def save_mapping(request: Request, user: SignedInDep, form: FormDep, flow: str) -> Response:
    engine = await engine_of(request, user)
    name = await _name(engine, flow, form.get("name") or None)
    text = form.get("overrides", "")
    try:
        await service.save(engine, flow, name, service.parse_overrides(text))
    except InvalidInput as exc:
        return await _render(request, user, flow, name=name, text=text, record=form.get("record"),
                             fresh=form.get("fresh") == "1", errors=_errors(exc), status_code=422)  # fmt: skip
    target = f"/console/flows/{flow}/mapping?name={name}"
    return await done(request, user, target, f"Mapping {name} saved: the next records use it.", {"mapping": name})


@router.post("/console/flows/{flow}/mapping/reset", response_model=None)
async def reset_mapping(request: Request, user: SignedInDep, form: FormDep, flow: str) -> Response:
    engine = await engine_of(request, user)
    name = await _name(engine, flow, form.get("name") or None)
    await service.reset(engine, flow, name)
    target = f"/console/flows/{flow}/mapping?name={name}"
    return await done(request, user, target, f"Mapping {name} is the shipped default again.", {"mapping": name})


__all__ = ["router"]
