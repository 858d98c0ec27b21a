"""`/_sim/*`: controls that are not part of Exact's API (counters, faults, clock, UI-like changes).

Unprotected on purpose: the simulator only ever runs on a developer machine or in tests.
"""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
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

    @router.get("/inflight")
    async def inflight(request: Request) -> JSONResponse:
        """Requests being handled now (method, endpoint template, the client's port, when it started)."""
        return JSONResponse(list(_sim(request).inflight.values()))

    @router.get("/records/{entity}")
    async def records(request: Request, entity: str, division: int | None = None) -> Response:
        """Every record of an entity set (e.g. SalesOrders) in a division, as the API would show them."""
        store = _sim(request).division(division).store(entity)
        rows = list(store.records.values())
        return _wire({"count": len(rows), "records": rows})

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

    @router.get("/items/new", response_class=HTMLResponse)
    async def item_form(request: Request, code: str = "", back: str = Query("", alias="return")) -> HTMLResponse:
        return HTMLResponse(_item_page(_sim(request), code, back))

    @router.post("/items/new", response_class=HTMLResponse)
    async def item_form_post(request: Request) -> HTMLResponse:
        fields = {k: v[-1] for k, v in parse_qs((await request.body())[:16384].decode("utf-8", "replace")).items()}
        sim = _sim(request)
        code, back = fields.get("code", "").strip(), fields.get("return", "")
        try:
            price = Decimal(fields.get("price", "0").replace(",", ".") or "0")
        except InvalidOperation:
            return HTMLResponse(_item_page(sim, code, back, error="The price is not a number."), 422)
        if not code or not fields.get("description", "").strip():
            return HTMLResponse(_item_page(sim, code, back, error="Code and description are required."), 422)
        item = {
            "Description": fields["description"].strip(),
            "IsSalesItem": True,
            "IsStockItem": True,
            "Unit": "pc",
            "SalesVatCode": fields.get("vat") or "2",
            "StandardSalesPrice": price,
        }
        group = next((g["ID"] for g in _groups(sim) if g["Code"] == fields.get("group")), None)
        if group is not None:
            item["ItemGroup"] = group
        try:
            sim.upsert_item(code, item)
        except ExactApiError as exc:
            return HTMLResponse(_item_page(sim, code, back, error=exc.message), exc.status)
        return HTMLResponse(_item_page(sim, code, back, created=True), 201)

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


def _groups(sim: ExactSim) -> list[dict[str, Any]]:
    return sorted(sim.division().store("ItemGroups").records.values(), key=lambda g: str(g.get("Code")))


def _safe_return(url: str) -> str | None:
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _item_page(sim: ExactSim, code: str, back: str, *, error: str | None = None, created: bool = False) -> str:
    """The demo's stand-in for Exact's item screen: one form creating an item (the console's fix hint links here)."""
    e = html.escape
    division = sim.division().division
    back_url = _safe_return(back)
    back_link = f'<p><a href="{e(back_url)}">Back to ledgerbridge</a></p>' if back_url else ""
    if created:
        body = f'<p role="status">Item <strong>{e(code)}</strong> created in division {division}.</p>{back_link}'
    else:
        groups = "".join(
            f'<option value="{e(str(g["Code"]))}">{e(str(g.get("Description") or g["Code"]))}</option>'
            for g in _groups(sim)
        )
        problem = f'<p role="alert" class="error">{e(error)}</p>' if error else ""
        body = f"""{problem}<form method="post" action="/_sim/items/new">
<input type="hidden" name="return" value="{e(back)}">
<label for="code">Item code</label><input id="code" name="code" value="{e(code)}" required>
<label for="description">Description</label><input id="description" name="description" required>
<label for="price">Sales price (excl. VAT)</label><input id="price" name="price" inputmode="decimal" value="0.00">
<label for="vat">Sales VAT code</label><select id="vat" name="vat"><option value="2">2 - VAT high 21% excl.</option>
<option value="1">1 - VAT low 9% excl.</option><option value="0">0 - VAT 0%</option></select>
<label for="group">Item group</label><select id="group" name="group">{groups}</select>
<button type="submit">Create item</button></form>{back_link}"""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>New item - Exact Online simulator</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem}}
label{{display:block;font-weight:600;margin-top:.7rem}}input,select{{width:100%;font:inherit;padding:.4rem}}
button{{margin-top:1rem;font:inherit;padding:.5rem 1rem}}.error{{color:#b3261e}}
:focus-visible{{outline:3px solid #f2a900}}</style></head>
<body><header><p>Exact Online <em>simulator</em> (demo) · division {division}</p></header>
<main><h1>New item</h1>{body}</main></body></html>"""


def control_error(exc: ExactApiError) -> JSONResponse:
    return JSONResponse(error_body(exc.message), status_code=exc.status)
