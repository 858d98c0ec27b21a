"""`create_eaccounting_app()`: one ASGI app standing in for both Visma hosts.

The service has separate settings for the API (`EACCOUNTING__API_BASE_URL`, `.../v2/`) and the identity
server (`EACCOUNTING__IDENTITY_BASE_URL`); both may point at this one server, which serves `/v2/*`,
`/connect/*` and its own control plane under `/_sim/*`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .api import add_api_routes
from .config import EAccountingSimConfig
from .control import add_control_routes
from .http import json_response
from .identity import add_identity_routes
from .seed import seed_demo
from .sim import EAccountingSim

__all__ = ["create_eaccounting_app"]


def create_eaccounting_app(config: EAccountingSimConfig | None = None) -> FastAPI:
    """A fresh simulator; its state is `app.state.sim` (an `EAccountingSim`)."""
    sim = EAccountingSim(config)
    if sim.config.seed:
        seed_demo(sim)
    sim.set_stock_module(sim.config.stock_module)
    app = FastAPI(
        title="Visma eAccounting API v2 simulator",
        description="Strict stand-in for eaccountingapi.vismaonline.com/v2 and identity.vismaonline.com",
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )
    app.state.sim = sim
    add_identity_routes(app, sim)
    add_control_routes(app, sim)
    add_api_routes(app, sim)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if request.url.path.startswith("/v2/"):
            # What ASP.NET Web API answers for a path it has no route for.
            message = f"No HTTP resource was found that matches the request URI '{request.url}'."
            return json_response({"Message": message}, status)
        return json_response({"detail": getattr(exc, "detail", "error")}, status)

    app.add_exception_handler(HTTPException, http_error)
    return app
