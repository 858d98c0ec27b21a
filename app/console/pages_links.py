"""Console page of the links (administrations): each link at a glance and where its alerts go, changed through the
same service as `PATCH /links/{link}` (`app.services.links.change_link`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.alerts import mask_alert_url
from app.console.pages import engine_of
from app.console.web import FormDep, SignedIn, SignedInDep, done, page
from app.links import LinkChanges
from app.services import links as links_service

router = APIRouter(include_in_schema=False)


def _installation_url(request: Request) -> str | None:
    url = request.state.settings.alerts.webhook_url
    return mask_alert_url(url.get_secret_value()) if url else None


async def _links_page(
    request: Request, user: SignedIn, errors: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    await engine_of(request, user)  # the switcher's links, and a page saying so when there is none
    links = await request.state.process.links()
    rows: list[dict[str, Any]] = [
        {"link": link, "own": mask_alert_url(link.alert_url), "error": (errors or {}).get(link.id)} for link in links
    ]
    return page(
        request,
        "links.html",
        user,
        {"rows": rows, "installation_url": _installation_url(request)},
        flash=await user.take_flash(),
        status_code=status_code,
    )


@router.get("/console/links", response_class=HTMLResponse)
async def links_page(request: Request, user: SignedInDep) -> HTMLResponse:
    return await _links_page(request, user)


@router.post("/console/links/{link}/alerts", response_model=None)
async def set_alert_url(request: Request, user: SignedInDep, form: FormDep, link: str) -> Response:
    """Save the link's own alert destination, or (`action=clear`) go back to the installation's."""
    process = request.state.process
    await links_service.get_link(process, link)
    clear = form.get("action") == "clear"
    url = "" if clear else form.get("alert_url", "").strip()
    if not clear and not url:
        return await _links_page(request, user, {link: "Enter the incoming-webhook URL."}, 422)
    try:
        changes = LinkChanges(alert_url=url or None)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        end = "" if message.endswith(".") else "."  # "e.g. https://hooks.slack.com/services/..." ends in dots
        return await _links_page(request, user, {link: f"Alert URL {message}{end}"}, 422)
    await links_service.change_link(process, link, changes)
    text = (
        f"Alerts of {link} go to the installation's destination again."
        if clear
        else f"Alerts of {link} go to {mask_alert_url(url)} from now on."
    )
    return await done(
        request, user, "/console/links", text, {"link": link, "alerts_to": "installation" if clear else "link"}
    )
