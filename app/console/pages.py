"""Console pages: the overview and the activity log (see `app/console/pages_flows.py` for problems and flows)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.activity import ENTRY_ID_RE, OUTCOMES
from app.console.charts import outcome_chart
from app.console.web import FormDep, PageError, SignedIn, SignedInDep, console_of, done, local_path, page
from app.engine import Engine
from app.services import activity as data
from app.services import connections as connections_service
from app.services import flows as flows_service
from app.services import overview
from app.services import setup as setup_service
from app.services.errors import NotFoundError

router = APIRouter(include_in_schema=False)
ENTRY_ID = r"^\d{13}-[0-9a-f]{1,32}$"


async def engine_of(request: Request, user: SignedIn) -> Engine:
    """The engine of the link the session shows (the first link when that one is gone); remembers the links for
    the page's link switcher."""
    process = request.state.process
    links = await process.links()
    current = next((link for link in links if link.id == user.session.link), None) or (links[0] if links else None)
    if current is None:
        raise PageError(503, "No administration yet", "There is no link yet: create one with POST /links.")
    if current.id != user.session.link:
        user.session.link = current.id
        await user.store.save(user.cookie, user.session)
    request.state.console_links = (current, links)
    engine: Engine = process.engine(current)
    return engine


@router.post("/console/link", response_model=None)
async def switch_link(request: Request, user: SignedInDep, form: FormDep) -> Response:
    """Show another link (administration) from now on; back to the page the switch was made on."""
    wanted = form.get("link", "")
    if await request.state.process.link(wanted) is None:
        raise PageError(404, "Not found", f"There is no link {wanted!r}.")
    user.session.link = wanted
    await user.store.save(user.cookie, user.session)
    return RedirectResponse(local_path(form.get("back")), status_code=303)


@router.get("/", response_class=HTMLResponse)
async def overview_page(
    request: Request, user: SignedInDep, connected: Literal["exact", "eaccounting"] | None = None
) -> HTMLResponse:
    engine = await engine_of(request, user)
    now = console_of(request).now()
    flash = await user.take_flash()
    if connected:
        flash.append({"text": f"{overview.system_name(connected)} is connected.", "kind": "ok"})
    connections = await overview.connection_views(engine, now)
    buckets = await overview.outcome_hours(engine, now)
    for bucket in buckets:
        bucket.start = bucket.start.astimezone(now.tzinfo)
    totals = {o: sum(b.counts[o] for b in buckets) for o in overview.CHART_OUTCOMES}
    summary = "Records in the last 24 hours: " + ", ".join(f"{n} {o}" for o, n in totals.items())
    return page(
        request,
        "overview.html",
        user,
        {
            "connections": connections,
            "alerts": [c for c in connections if c.problem or c.warning],
            "flows": await overview.flow_views(engine, now),
            "budgets": await overview.budget_views(engine, now),
            "chart": outcome_chart(buckets, overview.CHART_OUTCOMES, summary),
            "totals": totals,
            "buckets": buckets,
            "setup": await setup_service.load_state(engine),
            "unconnected": not all(c.connected for c in connections),
        },
        flash=flash,
    )


@router.post("/console/connections/{system}/authorize", response_model=None)
async def authorize(
    request: Request, user: SignedInDep, _form: FormDep, system: Literal["exact", "eaccounting"]
) -> Response:
    """Start the provider's consent for the link shown; its callback comes back to the overview."""
    url = await connections_service.start_authorization(await engine_of(request, user), system)
    return RedirectResponse(url, status_code=303)


def _filters(flow: str | None, outcome: str | None, q: str | None) -> dict[str, str]:
    return {k: v for k, v in (("flow", flow), ("outcome", outcome), ("q", q)) if v}


@router.get("/console/activity", response_class=HTMLResponse)
async def activity(
    request: Request,
    user: SignedInDep,
    flow: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[str | None, Query(pattern=ENTRY_ID)] = None,
) -> HTMLResponse:
    engine = await engine_of(request, user)
    flow = flow if flow in engine.flows else None
    outcome = outcome if outcome in OUTCOMES else None
    rows, more = await data.activity_rows(engine, flow=flow, outcome=outcome, text=q, before=before)
    return page(
        request,
        "activity.html",
        user,
        {
            "rows": rows,
            "more": more,
            "flows": list(engine.flows),
            "outcomes": OUTCOMES,
            "filters": _filters(flow, outcome, q),
            "newest": rows[0].entry.id if rows and before is None else None,
        },
        flash=await user.take_flash(),
    )


@router.get("/console/activity/newer")
async def activity_newer(
    request: Request,
    user: SignedInDep,
    after: Annotated[str, Query(pattern=ENTRY_ID)],
    flow: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
) -> JSONResponse:
    """How many entries arrived after `after` (the page offers to show them; it never redraws by itself)."""
    engine = await engine_of(request, user)
    page_, _ = await engine.activity.query(
        flow=flow if flow in engine.flows else None, outcome=outcome if outcome in OUTCOMES else None, limit=200
    )
    return JSONResponse({"newer": sum(1 for e in page_ if e.id > after)})


async def _entry(engine: Engine, log_id: str) -> Any:
    if not ENTRY_ID_RE.match(log_id):
        raise PageError(404, "Not found", "There is no such activity entry.", "/console/activity")
    entry = await engine.activity.get(log_id)
    if entry is None:
        raise PageError(
            404, "Not found", "This activity entry no longer exists (older than the retention).", "/console/activity"
        )
    return entry


@router.get("/console/activity/{log_id}", response_class=HTMLResponse)
async def activity_entry(request: Request, user: SignedInDep, log_id: str, fragment: bool = False) -> HTMLResponse:
    engine = await engine_of(request, user)
    entry = await _entry(engine, log_id)
    previous = await data.previous_run(engine, entry)
    context = {
        "entry": entry,
        "label": data.label_of(entry),
        "later": await data.later_success(engine, entry),
        "previous": previous,
        "source_changed": data.changed_fields(entry.source_payload, previous.source_payload if previous else None),
        "target_changed": data.changed_fields(entry.target_payload, previous.target_payload if previous else None),
        "hint": data.fix_hint(entry.flow, entry.error, entry.target_system) if entry.outcome == "failed" else None,
    }
    context["in_row"] = fragment
    template = "entry_fragment.html" if fragment else "entry.html"
    return page(request, template, user, context, flash=[] if fragment else await user.take_flash())


@router.post("/console/activity/{log_id}/retry", response_model=None)
async def retry_entry(request: Request, user: SignedInDep, _form: FormDep, log_id: str) -> Response:
    engine = await engine_of(request, user)
    entry = await _entry(engine, log_id)
    try:
        queued = (await flows_service.retry_log_entry(engine, log_id))["queued"]
    except NotFoundError as exc:
        raise PageError(404, "Not found", str(exc.detail), "/console/activity") from None
    label = data.label_of(entry)
    text = f"Retry of {label} queued." if queued else f"{label} is already queued; it runs shortly."
    target = request.headers.get("referer", "")
    back = target.split(request.url.netloc, 1)[-1] if request.url.netloc in target else "/console/activity"
    return await done(request, user, back, text, {"queued": queued, "watch": f"/console/activity/{log_id}/result"})


@router.get("/console/activity/{log_id}/result")
async def retry_result(request: Request, user: SignedInDep, log_id: str) -> JSONResponse:
    """What happened to the record of `log_id` since: the newest run after it (for script polling a retry)."""
    engine = await engine_of(request, user)
    entry = await _entry(engine, log_id)
    newest, _ = await engine.activity.query(flow=entry.flow, source_id=entry.source_id, limit=1)
    if not newest or newest[0].id <= entry.id:
        return JSONResponse({"done": False, "message": "Waiting for the worker…"})
    run = newest[0]
    words = {
        "created": "Succeeded: created",
        "updated": "Succeeded: updated",
        "unchanged": "Succeeded: nothing to change",
        "skipped": "Skipped",
        "failed": "Failed again",
        "retrying": "Failed for now; the engine retries by itself",
    }
    message = f"{words.get(run.outcome, run.outcome)}" + (f": {run.reason}" if run.reason else "")
    return JSONResponse(
        {"done": run.outcome != "retrying", "outcome": run.outcome, "message": message, "log_id": run.id}
    )


__all__ = ["engine_of", "router"]


@router.get("/console")
async def console_home() -> RedirectResponse:
    return RedirectResponse("/", status_code=308)
