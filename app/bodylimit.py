"""A request-body limit for every route but Exact's webhook (issue 18), enforced in the ASGI layer before a route
parses anything.

A body larger than `ADMIN__MAX_BODY_BYTES` is answered 413 with one short log line (`http.refused`), never a
traceback: a declared `Content-Length` over the limit before the route runs or a byte is read; a body without one
(chunked) as soon as what arrived passes the limit, the rest left unread. The answer is JSON `{"detail": ...}`,
or a short page for a browser (`Accept: text/html`: the console's and the setup wizard's forms). A request without
a body (`GET`, `/health/*`) costs a scan of its headers; one with a `Content-Length` within the limit passes as it
is (the server reads exactly that many bytes). `POST /webhooks/exact` keeps its own limit
(`ENGINE__WEBHOOK_MAX_BODY_BYTES`) and its own refusal lines, so its hot path is not wrapped.

Why not FastAPI's own `FastAPI(max_body_size=...)` (Starlette's `RequestBodyLimitMiddleware`): it is fixed when the
app is built, while our settings are read in the lifespan; on a declared `Content-Length` over the limit it lets
the route run and swaps its answer for the 413 when the route answers, so a route that reads no body (`POST
/flows/{flow}/run`) would act and then say it refused; its answer is a fixed plain-text "Content Too Large", and it
logs nothing (its exception passes our request-line middleware).
"""

from __future__ import annotations

import json
from typing import Any, Final

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logging import mark_logged

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024  # 1 MiB: ~20 times the largest config a person writes (docs/operations.md)
SETTING: Final = "ADMIN__MAX_BODY_BYTES"

log = structlog.get_logger("app")


def too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes ({SETTING})"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes the limit (after the 413 went out). An HTTPException, so FastAPI's
    body parsing lets it through as it is instead of answering 400 "error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large(limit))


def _answer(limit: int, headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """The 413's body and content type: a short page for a browser, JSON for everyone else."""
    accept = next((value for name, value in headers if name == b"accept"), b"")
    if b"text/html" in accept:
        # Short (under 500 bytes), yet the console's look at a phone's width, and what to do next in words.
        page = (
            '<!doctype html><html lang="en"><meta charset="utf-8"><title>Not saved</title>'
            '<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
            '<link rel="stylesheet" href="/static/console/console.css"><main class="card narrow"><h1>Not saved</h1>'
            f"<p>This form is larger than {limit} bytes ({_size(limit)}), the most ledgerbridge accepts "
            f"({SETTING}). Nothing was changed.</p><p>Go back and shorten the longest field.</p>"
            '<p><a href="/">Overview</a></p></main>'
        )
        return page.encode(), b"text/html; charset=utf-8"
    return json.dumps({"detail": too_large(limit)}).encode(), b"application/json"


def _size(limit: int) -> str:
    """A byte count as people say it: 1 MiB, 512 KiB, 900 bytes."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size:
            shown = f"{limit / size:.1f}".removesuffix(".0")
            return f"{shown} {unit}"
    return f"{limit} bytes"


class BodyLimitMiddleware:
    """Refuses request bodies over the limit (see the module docstring); `exempt` paths pass untouched.

    The limit is read per request from the lifespan state's settings (`scope["state"]["settings"]`), only for a
    request that has a body; without lifespan state (an app served without its lifespan) the default applies.
    """

    def __init__(self, app: ASGIApp, *, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked and (declared == b"0" or (declared is None and scope.get("http_version") != "2")):
            await self.app(scope, receive, send)  # HTTP/1 without Content-Length or chunking: no body
            return
        settings = (scope.get("state") or {}).get("settings")
        limit: int = settings.admin.max_body_bytes if settings is not None else DEFAULT_MAX_BODY_BYTES
        if declared is not None and not chunked and declared.isdigit():
            if int(declared) > limit:
                await self._refuse(scope, send, limit, declared=int(declared))
                return
            await self.app(scope, receive, send)  # the server delivers exactly the declared bytes
            return
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app counting what it receives; past the limit, answer 413 and stop its body there."""
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not refused:
                        refused = True
                        await self._refuse(scope, send, limit, received=received)
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; whatever the app answers to the exception is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not refused:  # the app had answered before reading its body: its answer stands, cut short
                _log(scope, limit, received=received)

    async def _refuse(self, scope: Scope, send: Send, limit: int, **size: int) -> None:
        _log(scope, limit, **size)
        body, content_type = _answer(limit, scope["headers"])
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _log(scope: Scope, limit: int, **size: Any) -> None:
    """The request's one line; the request-line middleware skips its own for a request marked logged."""
    mark_logged(scope)
    log.info(
        "http.refused",
        method=scope["method"],
        path=scope["path"],
        status=413,
        reason="body too large",
        limit=limit,
        **size,
    )
