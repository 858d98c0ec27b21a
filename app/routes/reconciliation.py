"""`GET /reconciliation`: the orders flow's documents of a period against Exact (docs/reconciliation.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from app.deps import ADMIN_RESPONSES, AdminDep, LinkDep
from app.errors import UPSTREAM_RESPONSES, upstream_error
from app.flowconfig import ConfigInvalid
from app.reconciliation import PeriodInvalid, run_reconciliation
from connectors.errors import ConnectorError

router = APIRouter(tags=["reconciliation"], dependencies=[AdminDep], responses=ADMIN_RESPONSES | UPSTREAM_RESPONSES)


@router.get(
    "/reconciliation",
    summary="Every eAccounting document of a period against Exact: findings and sums per VAT code and country",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "JSON, or CSV: one line a finding",
        },
        404: {"description": "The orders flow is not installed"},
        422: {"description": "A bad period, or the stored orders config no longer validates"},
    },
)
async def reconciliation(
    engine: LinkDep,
    start: Annotated[date, Query(alias="from", description="First day of the period (ISO date)")],
    end: Annotated[date, Query(alias="to", description="Last day of the period, included (ISO date)")],
    format: Annotated[Literal["json", "csv"], Query(description="`csv`: one line per finding")] = "json",
) -> Any:
    if "orders" not in engine.flows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="the orders flow is not installed")
    try:
        report = await run_reconciliation(engine, start, end)
    except PeriodInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    except ConfigInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.errors) from None
    except ConnectorError as exc:
        raise upstream_error(exc) from None
    if format == "csv":
        name = f"reconciliation-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            report.csv(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    return report.to_dict()
