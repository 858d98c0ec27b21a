"""Sign in with the admin token, sign out. See `app/console/session.py` for the session rules."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console.session import SESSION_COOKIE, SIGNIN_COOKIE
from app.console.web import MAX_FORM_BYTES, FormDep, SignedInDep, console_of, local_path, page
from app.settings import Settings

log = structlog.get_logger("console")
router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _sign_in_page(request: Request, next_path: str, message: str | None, status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "sign_in.html",
        None,
        {"next": next_path, "message": message, "signin_csrf": token},
        status_code=status_code,
    )
    response.set_cookie(
        SIGNIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=_secure(request), path="/sign-in"
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(
    request: Request,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
    expired: bool = False,
    signed_out: bool = False,
) -> HTMLResponse:
    message = None
    if expired:
        message = "Your session expired. Sign in again to go on."
    elif signed_out:
        message = "You are signed out."
    return _sign_in_page(request, local_path(next_path), message)


@router.post("/sign-in", response_model=None)
async def sign_in(request: Request) -> Response:
    body = await request.body()
    fields = {k: v[-1] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    next_path = local_path(fields.get("next"))
    cookie_token = request.cookies.get(SIGNIN_COOKIE, "")
    form_token = fields.get("csrf", "")
    if not cookie_token or not hmac.compare_digest(cookie_token.encode(), form_token.encode()):
        return _sign_in_page(request, next_path, "This form had expired. Please enter the token again.", 403)
    settings: Settings = request.state.settings
    expected = settings.admin.token.get_secret_value() if settings.admin.token else ""
    given = fields.get("token", "").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        log.info("console.sign_in_refused")
        return _sign_in_page(request, next_path, "That is not the admin token (ADMIN__TOKEN).", 401)
    store = console_of(request).store(request)
    cookie, session = await store.create()
    log.info("console.signed_in")
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(store.expires_in(session)),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out", response_model=None)
async def sign_out(user: SignedInDep, _form: FormDep) -> Response:
    await user.store.end(user.cookie)
    log.info("console.signed_out")
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
