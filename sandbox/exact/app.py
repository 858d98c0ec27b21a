"""`create_exact_app()`: the simulator as one FastAPI app, plus the ASGI layer that counts and injects faults.

The fault/counter layer wraps the whole app (OAuth, REST) except `/_sim`, so a fault on `oauth2/token`
or `salesorder/SalesOrders` hits before any handler runs, and every served call is counted under its
endpoint template (`GET logistics/Items`, `PUT salesorder/SalesOrders({id})`, `POST oauth2/token`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.exact.api import api_router
from sandbox.exact.config import ExactSimConfig
from sandbox.exact.control import control_error, control_router
from sandbox.exact.errors import ExactApiError, error_body
from sandbox.exact.oauth import oauth_router
from sandbox.exact.seed import seed_demo
from sandbox.exact.sim import ExactSim, Fault

__all__ = ["create_exact_app", "endpoint_template"]

logger = structlog.get_logger(__name__)

_DIVISION_PATH = re.compile(r"^/api/v1/(?:beta/)?\d+/(?P<rest>.+)$")
_KEY = re.compile(r"\([^)]*\)")


def endpoint_template(path: str) -> tuple[str, str]:
    """URL path → (counter template, resource used to match faults)."""
    match = _DIVISION_PATH.match(path)
    if match is not None:
        rest = match.group("rest")
        resource = _KEY.sub("", rest).split("/$")[0]
        parts = resource.split("/")
        if len(parts) == 3 and parts[0].lower() not in ("sync", "bulk", "read"):
            resource = "/".join(parts[:2])  # a navigation like SalesOrders(guid'…')/SalesOrderLines
        return _KEY.sub("({id})", rest), resource
    trimmed = path.removeprefix("/api/").removeprefix("v1/")
    return trimmed, trimmed


class SimLayer:
    """Counts calls per endpoint template and applies injected faults (status, delay, dropped connection)."""

    def __init__(self, app: ASGIApp, sim: ExactSim) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/_sim", "/docs", "/openapi.json")):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        template, resource = endpoint_template(scope["path"])
        status = 0

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        fault = self.sim.take_fault(resource, method)
        ticket = self.sim.begin_request(method, template, scope.get("client"))
        try:
            if fault is not None:
                await self._apply(fault, scope, receive, send, tracking_send)
                return
            await self.app(scope, receive, tracking_send)
        finally:
            self.sim.end_request(ticket)
            self.sim.count(method, template, status)

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send, tracking_send: Send) -> None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop is not None:
            if fault.drop == "after":

                async def swallow(_message: Message) -> None:
                    return None

                await self.app(scope, receive, swallow)
            # Start a response and break off: over HTTP the peer sees a closed connection, over ASGITransport
            # the client sees the same httpx.RemoteProtocolError.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            raise httpx.RemoteProtocolError("Server disconnected without sending a complete response")
        if fault.status is not None:
            headers: dict[str, str] = {}
            message = fault.message
            if fault.status == 429:
                now_ms = int(self.sim.clock.timestamp() * 1000)
                headers = {
                    "X-RateLimit-Minutely-Limit": str(self.sim.config.minutely_limit),
                    "X-RateLimit-Minutely-Remaining": "0",
                    "X-RateLimit-Minutely-Reset": str((now_ms // 60_000 + 1) * 60_000),
                }
                message = "API rate limit exceeded"
            response = JSONResponse(error_body(message), status_code=fault.status, headers=headers)
            await response(scope, receive, tracking_send)
            return
        await self.app(scope, receive, tracking_send)


def create_exact_app(config: ExactSimConfig | None = None) -> FastAPI:
    """A fresh simulator: state in `app.state.sim`, seeded with demo data unless `config.seed` is False."""
    sim = ExactSim(config)
    if sim.config.seed:
        seed_demo(sim, items=sim.config.seed_items)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def pump() -> None:
            while True:
                try:
                    await sim.flush_webhooks()
                except Exception:
                    logger.exception("exact_sim.webhook_pump_failed")
                await asyncio.sleep(sim.config.webhook_flush_interval)

        task = asyncio.create_task(pump())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="Exact Online simulator", lifespan=lifespan, docs_url="/_sim/docs", redoc_url=None)
    app.state.sim = sim

    @app.exception_handler(ExactApiError)
    async def exact_error(_request: Request, exc: ExactApiError) -> JSONResponse:
        return control_error(exc)

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(error_body(str(exc)), status_code=400)

    app.include_router(oauth_router())
    app.include_router(api_router())
    app.include_router(control_router())
    app.add_middleware(SimLayer, sim=sim)
    return app
