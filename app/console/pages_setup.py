"""The setup wizard's pages (`/console/setup/...`) over `app.services.setup`: one page per step, each form saved
through the same validated services as the admin API, post/redirect/get like every console form."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console.options import form_fields, options_from_form
from app.console.pages import engine_of
from app.console.web import FormDep, PageError, SignedIn, SignedInDep, console_of, done, page
from app.engine import Engine
from app.services import connections as connections_service
from app.services import setup
from app.services.errors import InvalidInput
from connectors.errors import ConnectorError

router = APIRouter(include_in_schema=False)
Step = Literal["exact", "eaccounting", "flows", "tables", "dry_run", "enable"]


def _where(step: str) -> str:
    return f"/console/setup/{step}"


def _errors(exc: InvalidInput) -> list[dict[str, Any]]:
    detail = exc.detail
    return list(detail) if isinstance(detail, list) else [{"loc": [], "msg": str(detail)}]


async def _started(request: Request, user: SignedIn) -> tuple[Engine, setup.SetupState]:
    engine = await engine_of(request, user)
    state = await setup.begin(request.state.process, engine)
    fresh = await engine_of(request, user)  # the link may have been paused: its engine is rebuilt
    return fresh, state


@router.get("/console/setup", response_class=HTMLResponse)
async def start(request: Request, user: SignedInDep) -> Response:
    """Resume the wizard where it was left (or start it: the link is paused until the last step)."""
    _, state = await _started(request, user)
    return RedirectResponse(_where("done" if state.finished else state.next_step()), status_code=303)


async def _render(
    request: Request,
    user: SignedIn,
    step: str,
    context: dict[str, Any],
    *,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    engine, state = await _started(request, user)
    blocked = setup.required_before(state, step) if step in setup.STEPS else None
    flash = await user.take_flash()
    if request.query_params.get("connected"):
        system = request.query_params["connected"]
        check = context.get("check")
        if system != "exact" and check is not None and check.problem:  # signed in, but the company is refused
            flash.append(
                {"text": "eAccounting signed in, but its company cannot be used yet: see below.", "kind": "warn"}
            )
        else:
            flash.append(
                {"text": f"{'Exact Online' if system == 'exact' else 'eAccounting'} is connected.", "kind": "ok"}
            )
    if request.query_params.get("refused"):
        system = "Exact Online" if request.query_params["refused"] == "exact" else "eAccounting"
        reason = request.query_params.get("reason", "")
        flash.append({"text": f"{system} was not connected ({reason}). {_refusal_hint(reason)}", "kind": "warn"})
    return page(
        request,
        "setup.html",
        user,
        {
            "step": step,
            "steps": [(s, setup.STEP_TITLES[s], s in state.done) for s in setup.STEPS],
            "state": state,
            "blocked": blocked,
            "blocked_title": setup.STEP_TITLES.get(blocked or "", ""),
            "errors": errors or [],
            "link_id": engine.link,
            **context,
        },
        flash=flash,
        status_code=status_code,
    )


def _refusal_hint(reason: str) -> str:
    """What to do after a consent came back refused (OAuth `error` codes, RFC 6749 section 4.1.2.1)."""
    if reason.startswith("access_denied"):
        return "The sign-in or the consent was cancelled: connect again and allow the access asked."
    if reason.startswith(("invalid_scope", "unauthorized_client", "invalid_request")):
        return "The app registration does not allow this request: check the client ID, redirect URI and scopes."
    return "Try connecting again in a minute."


@router.get("/console/setup/done", response_class=HTMLResponse)
async def finished(request: Request, user: SignedInDep) -> HTMLResponse:
    return await _render(request, user, "done", {})


@router.get("/console/setup/{step}", response_class=HTMLResponse)
async def step_page(request: Request, user: SignedInDep, step: Step) -> HTMLResponse:
    engine, state = await _started(request, user)
    context: dict[str, Any] = {}
    try:
        if step == "exact":
            context["exact_connected"] = await setup.exact_connected(engine)
            context["divisions"] = await setup.divisions(engine) if context["exact_connected"] else []
            context["division"] = engine.scope.link.division
        elif step == "eaccounting":
            context["check"] = await setup.check_eaccounting(request.state.process, engine)
        elif step == "flows":
            context["flows"] = await _flow_forms(engine)
        elif step == "tables" and setup.required_before(state, step) is None:
            context["tables"] = await setup.reference_tables(engine)
        elif step == "dry_run" and setup.required_before(state, step) is None:
            context["runs"] = await setup.dry_run(engine)
        elif step == "enable" and setup.required_before(state, step) is None:
            context.update(await _enable_context(request, engine))
    except ConnectorError as exc:
        context["problem"] = exc.message
    except InvalidInput as exc:
        context["problem"] = "; ".join(str(e.get("msg")) for e in _errors(exc))
    return await _render(request, user, step, context)


# -- 1. Exact ---------------------------------------------------------------------------------------------------------


@router.post("/console/setup/{step}/connect", response_model=None)
async def connect(
    request: Request, user: SignedInDep, _form: FormDep, step: Literal["exact", "eaccounting"]
) -> Response:
    """The provider's consent for the link; its callback comes back to this step."""
    engine, _ = await _started(request, user)
    url = await connections_service.start_authorization(engine, step, back=_where(step))
    return RedirectResponse(url, status_code=303)


@router.post("/console/setup/exact/division", response_model=None)
async def choose_division(request: Request, user: SignedInDep, form: FormDep) -> Response:
    engine, _ = await _started(request, user)
    raw = form.get("division", "")
    try:
        if not raw.isdigit():
            raise InvalidInput([{"loc": ["division"], "msg": "choose a division"}])
        engine = await setup.choose_division(request.state.process, engine, int(raw))
    except InvalidInput as exc:
        context = {
            "exact_connected": True,
            "divisions": await setup.divisions(engine),
            "division": engine.scope.link.division,
        }
        return await _render(request, user, "exact", context, errors=_errors(exc), status_code=422)
    text = f"Exact division {raw} chosen for this administration."
    return await done(request, user, _where("eaccounting"), text, {"division": int(raw)})


# -- 2. eAccounting ---------------------------------------------------------------------------------------------------


@router.post("/console/setup/eaccounting/next", response_model=None)
async def eaccounting_next(request: Request, user: SignedInDep, _form: FormDep) -> Response:
    engine, _ = await _started(request, user)
    check = await setup.check_eaccounting(request.state.process, engine)
    if check.company is None:
        return await done(request, user, _where("eaccounting"), "eAccounting is not usable yet: see below.", {}, "warn")
    return await done(request, user, _where("flows"), f"eAccounting company {check.company} is connected.", {})


# -- 3. flows ---------------------------------------------------------------------------------------------------------


async def _flow_forms(
    engine: Engine, errors: list[dict[str, Any]] | None = None, submitted: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The flows' forms; `submitted` (a refused form) shows what was typed rather than what is stored."""
    by_flow: dict[str, list[dict[str, Any]]] = {}
    for error in errors or []:
        loc = list(error.get("loc") or [])
        if loc:
            by_flow.setdefault(str(loc[0]), []).append({**error, "loc": ["options", *loc[1:]]})
    forms = []
    for choice in await setup.flow_choices(engine):
        definition = engine.flows[choice.name]
        fields = [
            f
            for f in form_fields(
                definition.options_model,
                choice.options,
                by_flow.get(choice.name, []),
                None if submitted is None else _of_flow(submitted, choice.name),
            )
            if f.name in choice.key_options
        ]
        for f in fields:
            f.help = choice.key_options[f.name]
        forms.append({"choice": choice, "fields": fields})
    return forms


def _of_flow(form: dict[str, str], name: str) -> dict[str, str]:
    """The entries of the flows form that are the flow `name`'s (`<name>/field:x`, `<name>/opt:x`), unprefixed."""
    return {k.split("/", 1)[1]: v for k, v in form.items() if k.startswith(f"{name}/")}


@router.post("/console/setup/flows", response_model=None)
async def save_flows(request: Request, user: SignedInDep, form: FormDep) -> Response:
    engine, _ = await _started(request, user)
    enabled: dict[str, bool] = {}
    options: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    for name, definition in engine.flows.items():
        enabled[name] = form.get(f"flow:{name}") == "on"
        prefixed = _of_flow(form, name)
        chosen, bad = options_from_form(definition.options_model, prefixed)
        options[name] = chosen
        errors.extend({**e, "loc": [name, *e["loc"][1:]]} for e in bad)
    try:
        if errors:
            raise InvalidInput(errors)
        await setup.save_flows(engine, enabled, options)
    except InvalidInput as exc:
        context = {"flows": await _flow_forms(engine, _errors(exc), form)}
        return await _render(request, user, "flows", context, errors=_errors(exc), status_code=422)
    on = [name for name, yes in enabled.items() if yes]
    return await done(request, user, _where("tables"), f"Flows chosen: {', '.join(on) or 'none'}.", {"flows": on})


# -- 4. reference tables ----------------------------------------------------------------------------------------------


@router.post("/console/setup/tables", response_model=None)
async def save_tables(request: Request, user: SignedInDep, form: FormDep) -> Response:
    engine, _ = await _started(request, user)

    def picked(group: str) -> dict[str, str | None]:
        """The form's `{group}:{row}` selects: row -> the Exact value chosen (empty: automatic or unmapped)."""
        head = group + ":"
        return {k.split(":", 1)[1]: (v or None) for k, v in form.items() if k.startswith(head)}

    try:
        if form.get("skip") == "1":
            await setup.skip_tables(engine)
        else:
            await setup.save_tables(
                engine,
                vat=picked("vat"),
                payment=picked("pay"),
                shipping=picked("ship"),
                cost_centers=picked("cost"),
                default_debtor=form.get("default_debtor"),
                shipping_item=form.get("shipping_item", ""),
                rounding_item=form.get("rounding_item", ""),
            )
    except InvalidInput as exc:
        try:
            context: dict[str, Any] = {"tables": await setup.reference_tables(engine)}
        except InvalidInput as problem:  # the stored orders config itself is invalid: say so instead of the tables
            context = {"problem": "; ".join(str(e.get("msg")) for e in _errors(problem))}
        return await _render(request, user, "tables", context, errors=_errors(exc), status_code=422)
    except ConnectorError as exc:
        raise PageError(502, "Not saved", f"Exact did not answer properly: {exc.message}", _where("tables")) from None
    return await done(request, user, _where("dry_run"), "Reference tables saved.", {})


# -- 5. dry run -------------------------------------------------------------------------------------------------------


@router.post("/console/setup/dry_run", response_model=None)
async def confirm_dry_run(request: Request, user: SignedInDep, _form: FormDep) -> Response:
    engine, _ = await _started(request, user)
    await setup.confirm_dry_run(engine)
    return await done(request, user, _where("enable"), "Dry run checked.", {})


# -- 6. enable --------------------------------------------------------------------------------------------------------


async def _enable_context(request: Request, engine: Engine) -> dict[str, Any]:
    today = console_of(request).now().date()
    raw = request.query_params.get("start_date")
    context: dict[str, Any] = {"start_date": (today - timedelta(days=30)).isoformat(), "preview": None}
    if raw:
        context["start_date"] = raw
        try:
            context["preview"] = await setup.backfill_preview(engine, date.fromisoformat(raw))
        except ValueError:
            context["problem"] = "The start date is not a date (YYYY-MM-DD)."
    return context


@router.post("/console/setup/enable", response_model=None)
async def enable(request: Request, user: SignedInDep, form: FormDep) -> Response:
    engine, _ = await _started(request, user)
    try:
        start = date.fromisoformat(form.get("start_date", ""))
    except ValueError:
        raise PageError(422, "Not enabled", "The start date is not a date (YYYY-MM-DD).", _where("enable")) from None
    try:
        result = await setup.enable(request.state.process, engine, start)
    except InvalidInput as exc:
        message = "; ".join(str(e.get("msg")) for e in _errors(exc))
        raise PageError(422, "Not enabled", message, _where("enable")) from None
    preview: setup.Backfill = result["preview"]
    text = (
        f"Enabled. Orders dated from {start.isoformat()} are being transferred ({preview.new} to transfer, "
        f"{preview.already} already in Exact)."
    )
    return await done(request, user, "/console/setup/done", text, {"queued": result["queued"]})


@router.get("/console/setup-status")
async def status(request: Request, user: SignedInDep) -> dict[str, Any]:
    """The wizard's progress for the link shown (for script; pages show it)."""
    engine = await engine_of(request, user)
    state = await setup.load_state(engine)
    return {"started": state is not None, **(state.model_dump(mode="json") if state else {})}


__all__ = ["router"]
