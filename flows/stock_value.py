"""The stock flow's value and memory: its options, the StockBalance an item's rows give (the mapping and the
`calculation` mode), and the last value written per item with when it was read (`CrossRefs.last_value`).

Shared by the run (`flows/stock.py`) and the reconciliation (`flows/stock_reconcile.py`); see docs/flows/stock.md.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

import mapping
from flows.base import FlowContext, FlowOptions, RecordFailed
from flows.limits import MAX_ENTRIES, ExactCode
from flows.stock_index import StockState, summed

STOCK_KIND = "exact:stock>ea:article"
MAPPING = "stock_exact_to_eaccounting"
# In a poll page's payload: compare with the article's StockBalance in eAccounting, not with the last value written.
COMPARE_WITH_ARTICLE = "CompareWithArticle"

Calculation = Literal["on_hand", "available", "on_hand_minus_reserved_plus_planned_in"]
# The calculation modes as the StockBalance rule of the mapping ("on_hand" is the shipped default's own rule).
_FORMULAS: dict[str, dict[str, Any]] = {
    "available": {
        "source": "CurrentStock",
        "transforms": ["to_decimal", {"subtract": {"path": "PlannedStockOut", "default": 0}}, {"round": 2}],
        "if_missing": "error",
    },
    "on_hand_minus_reserved_plus_planned_in": {
        "source": "CurrentStock",
        "transforms": [
            "to_decimal",
            {"subtract": {"path": "ReservedStock", "default": 0}},
            {"add": {"path": "PlannedStockIn", "default": 0}},
            {"round": 2},
        ],
        "if_missing": "error",
    },
}
_VARIANTS: dict[tuple[str, str], mapping.CompiledMapping] = {}


MAX_FULL_RECONCILE_HOURS = 720.0  # a full comparison at least monthly


class StockOptions(FlowOptions):
    """Which stock number goes to eAccounting, from which warehouses, and how often everything is compared."""

    manage_stock: bool = Field(
        True, description="eAccounting's StockBalance follows Exact; off: it is never written (the flow is idle)"
    )
    calculation: Calculation = Field(
        "on_hand",
        description="on_hand = Exact's CurrentStock (eAccounting subtracts its own open orders and shipments); "
        "available = on hand - planned out for sales orders (only when eAccounting takes no orders); "
        "on_hand_minus_reserved_plus_planned_in",
    )
    warehouses: list[ExactCode] = Field(
        default_factory=list,
        max_length=MAX_ENTRIES,
        description="Exact warehouse codes whose stock is summed (empty: all); one code = that warehouse's stock",
    )
    floor_at_zero: bool = Field(True, description="Write 0 instead of a negative number")
    missing_article: Literal["skip", "fail"] = Field(
        "skip", description="An item without an eAccounting article (by link or number) is skipped, or fails"
    )
    full_reconcile_hours: float = Field(
        24.0,
        ge=0,
        le=MAX_FULL_RECONCILE_HOURS,
        description="Read every stock row (1 Exact call per 1,000) this often, in hours (0 to 720, 30 days); 0: on "
        "every poll",
    )


def state(ctx: FlowContext) -> StockState:
    return StockState(ctx.redis, ctx.keys)


def _mapping(ctx: FlowContext, opts: StockOptions) -> mapping.CompiledMapping:
    """The stock mapping with the calculation mode's rule, under the user's overrides (which win)."""
    if opts.calculation == "on_hand":
        compiled: mapping.CompiledMapping = ctx.mapping
        return compiled
    overrides = ctx.config.mapping_overrides.get(MAPPING, {})
    key = (opts.calculation, json.dumps(overrides, sort_keys=True))
    if key not in _VARIANTS:
        spec = mapping.merge_overrides(mapping.load_default(MAPPING), {"fields": {"StockBalance": _FORMULAS[key[0]]}})
        if overrides:
            spec = mapping.merge_overrides(spec, overrides)
        _VARIANTS[key] = mapping.compile_mapping(spec)
    return _VARIANTS[key]


def stock_value(ctx: FlowContext, opts: StockOptions, item_id: str, code: str | None, rows: list[Any]) -> Decimal:
    """The StockBalance for an item's rows: summed over the selected warehouses, mapped, floored at zero."""
    record = summed(item_id, code, rows, opts.warehouses)
    try:
        payload = _mapping(ctx, opts).map(record, mode="update").payload or {}
    except mapping.MappingError as exc:
        raise RecordFailed(f"mapping {MAPPING}: {exc}", field=exc.target_field) from exc
    if payload.get("StockBalance") is None:
        raise RecordFailed(f"mapping {MAPPING} gave no StockBalance for item {code}")
    value = Decimal(str(payload["StockBalance"]))
    return max(value, Decimal(0)) if opts.floor_at_zero else value


def text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


async def last_written(ctx: FlowContext, item_id: str) -> tuple[Decimal, int] | None:
    raw = await ctx.xref.last_value(STOCK_KIND, item_id)
    if raw is None:
        return None
    data = json.loads(raw)
    return Decimal(data["v"]), int(data["m"])


async def remember(ctx: FlowContext, item_id: str, value: Decimal, read_at: int) -> None:
    await ctx.xref.set_last_value(STOCK_KIND, item_id, json.dumps({"v": text(value), "m": read_at}))
