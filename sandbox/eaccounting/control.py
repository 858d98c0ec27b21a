"""`/_sim/*`: the control plane for tests, the demo and benchmarks (no auth, not part of the real API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from starlette.responses import Response

from .config import AccessProblem, ObjectAnswers
from .domain import present
from .errors import ApiError
from .http import error_response, json_response
from .sim import EAccountingSim, iso_utc
from .state import Fault

__all__ = ["add_control_routes"]


class FaultIn(BaseModel):
    """An injected failure; `path` is a prefix of the URL path (e.g. `/v2/articles`, `/connect/token`)."""

    status: int = Field(ge=400, le=599)
    path: str | None = None
    method: str | None = None
    times: int | None = Field(default=1, ge=1, description="How many requests fail; null = until cleared")
    skip: int = Field(default=0, ge=0, description="Let this many matching requests through first")
    error_code: int | None = None
    message: str | None = None
    retry_after: int | None = None


class AdvanceIn(BaseModel):
    seconds: float = Field(gt=0)


class OrderRowIn(BaseModel):
    article_number: str
    quantity: Decimal = Field(gt=0)
    unit_price: Decimal | None = None


class OrderIn(BaseModel):
    """An order as a web shop would place it; it goes through the API's own validation."""

    customer_number: str
    rows: list[OrderRowIn] = Field(min_length=1)
    status: int = Field(default=2, ge=1, le=4)
    currency_code: str | None = None
    your_reference: str | None = None
    shipping_amount: Decimal | None = None
    order_date: str | None = None


class SettingsIn(BaseModel):
    """The company's set-up, as a test or the demo switches it (only the members given change)."""

    stock_module: bool | None = None
    object_answers: ObjectAnswers | None = None
    vatcodes_paged: bool | None = None
    access_problem: AccessProblem | None = None
    clear_access_problem: bool = False


class ExpireIn(BaseModel):
    refresh_token: str | None = None


def _settings(sim: EAccountingSim) -> dict[str, Any]:
    return {
        "stock_module": sim.stock_module,
        "object_answers": sim.object_answers,
        "vatcodes_paged": sim.vatcodes_paged,
        "access_problem": sim.access_problem,
    }


def add_control_routes(app: FastAPI, sim: EAccountingSim) -> None:
    router = APIRouter(prefix="/_sim", tags=["simulator control"])

    @router.get("/counters")
    def counters() -> dict[str, Any]:
        return sim.counters()

    @router.post("/reset-counters")
    def reset_counters() -> dict[str, Any]:
        sim.reset_counters()
        return sim.counters()

    @router.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        return [f.to_dict() for f in sim.faults]

    @router.post("/faults")
    def add_fault(fault: FaultIn) -> dict[str, Any]:
        return sim.add_fault(Fault(**fault.model_dump())).to_dict()

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        sim.clear_faults()
        return {"faults": []}

    @router.get("/records/{table}")
    def records(table: str) -> Response:
        """Every stored record of a table (e.g. articles, orders), as the simulator keeps them."""
        if table not in sim.tables:
            return json_response({"message": f"no table {table}"}, 404)
        rows = list(sim.table(table).values())
        return json_response({"count": len(rows), "records": [present(sim, table, row) for row in rows]})

    @router.get("/clock")
    def clock() -> dict[str, str]:
        return {"now": iso_utc(sim.now())}

    @router.post("/clock/advance")
    def advance(body: AdvanceIn) -> dict[str, str]:
        return {"now": iso_utc(sim.advance_clock(body.seconds))}

    @router.post("/orders")
    def create_order(body: OrderIn) -> Response:
        try:
            order = sim.create_order(
                body.customer_number,
                [row.model_dump() for row in body.rows],
                status=body.status,
                currency_code=body.currency_code,
                your_reference=body.your_reference,
                shipping_amount=body.shipping_amount,
                order_date=body.order_date,
            )
        except ApiError as exc:
            return error_response(exc)
        return json_response(present(sim, "orders", order), 201)

    @router.get("/settings")
    def get_settings() -> dict[str, Any]:
        return _settings(sim)

    @router.post("/settings")
    def set_settings(body: SettingsIn) -> dict[str, Any]:
        if body.stock_module is not None:
            sim.set_stock_module(body.stock_module)
        if body.object_answers is not None:
            sim.object_answers = body.object_answers
        if body.vatcodes_paged is not None:
            sim.vatcodes_paged = body.vatcodes_paged
        if body.access_problem is not None or body.clear_access_problem:
            sim.access_problem = body.access_problem
        return _settings(sim)

    @router.post("/expire-refresh-token")
    def expire(body: ExpireIn | None = None) -> dict[str, int]:
        return {"expired": sim.expire_refresh_tokens(body.refresh_token if body else None)}

    @router.post("/revoke")
    def revoke() -> dict[str, int]:
        return {"revoked": sim.oauth.revoke()}

    @router.post("/tokens")
    def tokens() -> Response:
        return json_response(sim.issue_tokens())

    app.include_router(router)
