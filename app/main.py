"""The FastAPI app factory; the lifespan owns Redis, the HTTP client, the connectors and the engine's stores."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import httpx
import structlog
from arq.connections import RedisSettings
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.bodylimit import BodyLimitMiddleware
from app.console import install_console
from app.deps import NO_SUCH_LINK, link_path
from app.docs import install_docs
from app.logging import RequestContextMiddleware, configure_logging
from app.redis import connect_redis
from app.resilience import REDIS_DOWN
from app.routes import config, connections, dashboard, flows, health, links, logs, metrics, reconciliation, webhooks
from app.scope import Process
from app.services.errors import ServiceError
from app.settings import Settings, load_settings
from app.state import AppState
from flows.base import FlowDefinition

log = structlog.get_logger("app")

API_DESCRIPTION = """Keeps Exact Online and Visma eAccounting in sync.

* `/health/*` and `POST /webhooks/exact` are open (Exact signs its webhooks with `HashCode`).
* Everything else needs `Authorization: Bearer <ADMIN__TOKEN>`.
* `/logs` is the activity log: what came from the source, what went to the target, the API calls made.
"""


__all__ = ["connect_redis", "create_app", "redis_settings"]

REDIS_RETRY_AFTER_SECONDS = 5
REDIS_UNAVAILABLE_DETAIL = "Redis (the queue and state of ledgerbridge) is unavailable; try again after Retry-After"


def redis_settings(settings: Settings) -> RedisSettings:
    """The one place arq's RedisSettings is built (its repr contains the password: never log it)."""
    return RedisSettings.from_dsn(settings.redis.url)


def create_app(
    settings: Settings | None = None,
    *,
    configure_logs: bool = True,
    flow_definitions: Mapping[str, FlowDefinition] | None = None,
    http: httpx.AsyncClient | None = None,
    console_clock: Callable[[], float] = time.time,
    freeze_gc: bool = False,
) -> FastAPI:
    """Build the API. Settings are read here (or passed in by tests), never at import time.

    :param flow_definitions: the flows to serve (default: every shipped flow, `flows.registry.load_flows`).
    :param http: an HTTP client to share (tests route it to the simulators); by default the lifespan owns one.
    :param console_clock: the operator console's clock (session expiry, "now" on its pages).
    :param freeze_gc: once started, move everything start-up built (the app, its schemas, the flows' compiled
        mappings: some 120,000 objects) out of the garbage collector's reach (`gc.freeze`). Its full collections
        then scan only what requests allocate, instead of stopping the process for 20-200 ms every few thousand
        requests (bench/bench_webhooks.py's p99). For a server process (`ledgerbridge api`); frozen objects are
        still freed by reference counting, only a cycle among them that is dropped later stays (bounded by what
        start-up built: about 540 objects were tracked after thousands of events, and did not grow).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        cfg = settings if settings is not None else load_settings()
        if configure_logs:
            configure_logging(cfg.log.level, cfg.log.format)
        if flow_definitions is None:
            from flows.registry import load_flows

            known = load_flows()
        else:
            known = dict(flow_definitions)
        # Lazy pool: the API starts even while Redis is down, and /health/ready reports it.
        redis = connect_redis(cfg)
        process = Process(cfg, redis, known, http=http)
        app.state.settings = cfg
        log.info("api.started", demo=cfg.demo, flows=sorted(known))
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield AppState(
                settings=cfg,
                redis=redis,
                keys=process.keys,
                flows=known,
                process=process,
            )
        finally:
            await process.aclose()
            await redis.aclose()
            log.info("api.stopped")

    app = FastAPI(
        title="ledgerbridge",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # app/docs.py serves them without a CDN
        redoc_url=None,
    )

    # Inner to the request-line middleware, so a refused body's line carries the request id. The webhook keeps its
    # own limit (ENGINE__WEBHOOK_MAX_BODY_BYTES) and its hot path stays unwrapped.
    app.add_middleware(BodyLimitMiddleware, exempt=frozenset(getattr(r, "path", "") for r in webhooks.router.routes))
    app.add_middleware(RequestContextMiddleware)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    async def redis_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Redis holds the queue and every state: while it is away nothing can be accepted, so say so and when to
        # come back (Exact retries a webhook answered with a non-2xx status). One line, no traceback: an outage is
        # not a bug, and /health/ready says the same.
        log.warning("api.redis_unavailable", method=request.method, path=request.url.path, error=type(exc).__name__)
        return JSONResponse(
            {"detail": REDIS_UNAVAILABLE_DETAIL},
            status_code=503,
            headers={"Retry-After": str(REDIS_RETRY_AFTER_SECONDS)},
        )

    for exc_class in REDIS_DOWN:
        app.add_exception_handler(exc_class, redis_unavailable)

    for module in (health, webhooks, metrics, config, links, dashboard):
        app.include_router(module.router)
    app.include_router(connections.callback_router)
    # Everything that belongs to one administration: under /links/{link}/..., and at the old paths for `default`.
    for router in (flows.router, logs.router, connections.router, reconciliation.router):
        app.include_router(router)
        app.include_router(router, prefix="/links/{link}", dependencies=[Depends(link_path)], responses=NO_SUCH_LINK)
    install_docs(app)
    install_console(app, clock=console_clock)
    return app
