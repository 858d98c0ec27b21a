"""The console's request plumbing: templates, the signed-in session as a dependency, CSRF-checked form bodies.

Pages are server-rendered (Jinja2) and work without script. Every state change is a form POST carrying the
session's CSRF token, answered with a redirect (post/redirect/get) whose next page shows the flash message; script
may post the same forms with `Accept: application/json` and gets the same result as JSON instead of the redirect.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from app import format as fmt
from app.console.session import SESSION_COOKIE, Session, SessionStore
from connectors.keys import Keys

MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = {
    # Our own script and styles only: no inline script, nothing from another host (the console works offline).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No (or an expired) session: pages redirect to the sign-in page, script gets 401."""

    def __init__(self, next_path: str, expired: bool) -> None:
        super().__init__("sign in required")
        self.next_path = next_path
        self.expired = expired


class CsrfRefused(Exception):
    """A POST without the session's CSRF token (or from another site)."""


class PageError(Exception):
    """A page that cannot be shown (no such flow or entry), said in words on an error page."""

    def __init__(self, status_code: int, heading: str, message: str, back: str = "/") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.heading = heading
        self.message = message
        self.back = back


@dataclass(slots=True)
class Console:
    """What the console's routes share in one app: its templates and session clock."""

    templates: Jinja2Templates
    clock: Callable[[], float]

    def store(self, request: Request) -> SessionStore:
        keys: Keys = request.state.keys
        return SessionStore(request.state.redis, keys, clock=self.clock)

    def now(self) -> datetime:
        """Now, in the server's time zone (pages show local times)."""
        return datetime.fromtimestamp(self.clock(), tz=UTC).astimezone()


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("app.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(fmt=fmt)
    env.filters["pretty"] = _pretty
    return Jinja2Templates(env=env)


def _pretty(value: Any) -> str:
    """JSON for people (indented, letters as they are; autoescaping makes it safe in HTML)."""
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def local_path(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site (never `//host` or a scheme), else `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


@dataclass(slots=True)
class SignedIn:
    """The request's session and its cookie (to save changes such as flash messages)."""

    session: Session
    cookie: str
    store: SessionStore

    async def flash(self, text: str, kind: str = "ok") -> None:
        self.session.flash.append({"text": text, "kind": kind})
        await self.store.save(self.cookie, self.session)

    async def take_flash(self) -> list[dict[str, str]]:
        messages = list(self.session.flash)
        if messages:
            self.session.flash.clear()
            await self.store.save(self.cookie, self.session)
        return messages


async def signed_in(request: Request) -> SignedIn:
    """The session of a signed-in browser, or SignInRequired."""
    store = console_of(request).store(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session, expired = await store.load(cookie)
    if session is None or cookie is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/", expired)
    return SignedIn(session, cookie, store)


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


async def checked_form(request: Request, user: SignedInDep) -> dict[str, str]:
    """The POST's url-encoded fields, after checking its CSRF token against the session's (CsrfRefused if not)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfRefused
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise CsrfRefused
    fields = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    given = request.headers.get("x-csrf-token") or fields.get("csrf", "")
    if not given or not hmac.compare_digest(given.encode(), user.session.csrf.encode()):
        raise CsrfRefused
    return fields


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def page(
    request: Request,
    template: str,
    user: SignedIn | None,
    context: dict[str, Any],
    *,
    flash: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a console page with what every page needs (now, the CSRF token, the flash, the current section)."""
    console = console_of(request)
    base = {
        "now": console.now(),
        "csrf": user.session.csrf if user else "",
        "flash": flash or [],
        "path": request.url.path,
        "demo": bool(getattr(request.state.settings, "demo", False)),
    }
    # The link shown and every link, for the switcher (set by `app.console.pages.engine_of`).
    base["link"], base["links"] = getattr(request.state, "console_links", (None, []))
    response = console.templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


async def done(
    request: Request, user: SignedIn, target: str, text: str, data: dict[str, Any], kind: str = "ok"
) -> Response:
    """The answer to a successful action: JSON for script, else a flash and a redirect (post/redirect/get)."""
    if wants_json(request):
        return JSONResponse({"message": text, "kind": kind, **data})
    await user.flash(text, kind)
    return RedirectResponse(local_path(target), status_code=303)


def sign_in_redirect(exc: SignInRequired) -> RedirectResponse:
    query = f"?next={quote(exc.next_path, safe='')}" + ("&expired=1" if exc.expired else "")
    return RedirectResponse(f"/sign-in{query}", status_code=303)
