"""`/_sim/*`: controls that are not part of Exact's API (counters, faults, clock, UI-like changes).

Unprotected on purpose: the simulator only ever runs on a developer machine or in tests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.exact.errors import ExactApiError, error_body
from sandbox.exact.sim import ExactSim, Fault
from sandbox.exact.wire import dumps

__all__ = ["control_router"]


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(default=None, description="Resource path, e.g. salesorder/SalesOrders; None = any")
    method: str | None = None
    status: int | None = Field(default=None, ge=100, le=599)
    delay: float = Field(default=0.0, ge=0, le=120)
    drop: str | None = Field(default=None, pattern="^(before|after)$")
    times: int | None = Field(default=1, ge=1, description="None = until DELETE /_sim/faults")
    message: str = "Service Unavailable"
    webhook: str | None = Field(default=None, pattern="^(drop|duplicate)$", description="A webhook delivery fault")


class AdvanceIn(BaseModel):
    seconds: float = Field(ge=0)


class StockIn(BaseModel):
    item_code: str
    quantity: Decimal
    warehouse_code: str | None = None
    division: int | None = None


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    division: int | None = None


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    division: int | None = None


class DeliveryIn(BaseModel):
    order_number: int | None = None
    order_id: str | None = None
    quantities: dict[str, Decimal] | None = None
    tracking_number: str | None = None
    shipping_method: str | None = None
    division: int | None = None


class ExhaustIn(BaseModel):
    division: int | None = None
    daily: bool = False


def _sim(request: Request) -> ExactSim:
    sim: ExactSim = request.app.state.sim
    return sim


def _wire(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


def control_router() -> APIRouter:
    router = APIRouter(prefix="/_sim", tags=["simulator controls"])

    @router.get("/counters")
    async def counters(request: Request) -> JSONResponse:
        return JSONResponse(_sim(request).counters())

    @router.post("/reset-counters")
    async def reset_counters(request: Request) -> Response:
        _sim(request).reset_counters()
        return Response(status_code=204)

    @router.post("/faults")
    async def add_fault(request: Request, body: FaultIn) -> JSONResponse:
        sim = _sim(request)
        if body.webhook is not None:
            sim.add_webhook_fault(body.webhook, body.times or 1)
        else:
            sim.add_fault(Fault(**body.model_dump(exclude={"webhook"})))
        return JSONResponse({"faults": len(sim.faults), "webhook_faults": len(sim.webhooks.faults)}, 201)

    @router.delete("/faults")
    async def clear_faults(request: Request) -> Response:
        _sim(request).clear_faults()
        return Response(status_code=204)

    @router.get("/clock")
    async def clock(request: Request) -> JSONResponse:
        return JSONResponse({"now": _sim(request).clock.now().isoformat()})

    @router.post("/clock/advance")
    async def advance(request: Request, body: AdvanceIn) -> JSONResponse:
        return JSONResponse({"now": _sim(request).clock.advance(body.seconds).isoformat()})

    @router.post("/stock")
    async def stock(request: Request, body: StockIn) -> Response:
        row = _sim(request).set_stock(body.item_code, body.quantity, body.warehouse_code, body.division)
        return _wire(row)

    @router.post("/items")
    async def items(request: Request, body: ItemIn) -> Response:
        fields = dict(body.model_extra or {})
        return _wire(_sim(request).upsert_item(body.code, fields, body.division))

    @router.post("/accounts")
    async def accounts(request: Request, body: AccountIn) -> Response:
        fields = dict(body.model_extra or {})
        return _wire(_sim(request).upsert_account(fields, body.id, body.division))

    @router.post("/goods-deliveries")
    async def goods_deliveries(request: Request, body: DeliveryIn) -> Response:
        order: int | str | None = body.order_number if body.order_number is not None else body.order_id
        if order is None:
            raise ExactApiError(400, "order_number or order_id is required")
        quantities = dict(body.quantities) if body.quantities is not None else None
        record = _sim(request).deliver_order(
            order,
            quantities=quantities,  # type: ignore[arg-type]
            tracking_number=body.tracking_number,
            shipping_method=body.shipping_method,
            division=body.division,
        )
        return _wire(record, 201)

    @router.post("/expire-refresh-token")
    async def expire_refresh(request: Request) -> JSONResponse:
        return JSONResponse({"expired": _sim(request).expire_refresh_tokens()})

    @router.post("/revoke")
    async def revoke(request: Request) -> JSONResponse:
        return JSONResponse({"revoked": _sim(request).oauth.revoke()})

    @router.post("/expire-access-token")
    async def expire_access(request: Request) -> JSONResponse:
        return JSONResponse({"expired": _sim(request).oauth.expire_access_tokens()})

    @router.post("/token")
    async def token(request: Request) -> JSONResponse:
        return JSONResponse(_sim(request).issue_tokens())

    @router.post("/webhooks/flush")
    async def flush(request: Request) -> JSONResponse:
        return JSONResponse({"sent": await _sim(request).flush_webhooks()})

    @router.post("/rate-limit/exhaust")
    async def exhaust(request: Request, body: ExhaustIn) -> Response:
        sim = _sim(request)
        sim.rate.exhaust(sim.division(body.division).division, daily=body.daily)
        return Response(status_code=204)

    return router


def control_error(exc: ExactApiError) -> JSONResponse:
    return JSONResponse(error_body(exc.message), status_code=exc.status)
