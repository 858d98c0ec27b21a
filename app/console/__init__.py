"""The operator console: server-rendered pages over the engine's stores, signed in with the admin token.

`install_console(app)` adds its routes, static files and error pages to the API app; `docs/console.md` says what
each page shows. Pages: `/` overview, `/activity`, `/problems`, `/flows`; `/sign-in`, `/sign-out`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from app.console import auth, pages, pages_flows, pages_links, pages_mapping, pages_setup
from app.console.web import (
    Console,
    CsrfRefused,
    PageError,
    SignInRequired,
    make_templates,
    page,
    sign_in_redirect,
    wants_json,
)

__all__ = ["install_console"]


def install_console(app: FastAPI, *, clock: Callable[[], float] = time.time) -> None:
    """Mount the console on `app` (its clock decides session expiry and what "now" pages show)."""
    app.state.console = Console(make_templates(), clock)
    app.mount("/static/console", StaticFiles(directory=str(files("app.console") / "static")), name="console-static")
    for module in (auth, pages, pages_flows, pages_links, pages_setup, pages_mapping):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": "sign in required"}, status_code=401)
        return sign_in_redirect(exc)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        text = "This form did not come from this console page (or the page is too old). Reload it and try again."
        if wants_json(request):
            return JSONResponse({"detail": text}, status_code=403)
        return page(request, "error.html", None, {"heading": "Not done", "message": text, "back": "/"}, status_code=403)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
        context = {"heading": exc.heading, "message": exc.message, "back": exc.back}
        return page(request, "error.html", None, context, status_code=exc.status_code)
