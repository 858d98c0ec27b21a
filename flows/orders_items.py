"""The Exact items an order's lines need: one per article row (freight rows on the shipping item), plus the rounding
item when the document carries a rounding. Missing ones fail the record (`missing_sku: fail`) or are created, with
the sales VAT code of the rate eAccounting's coding charges at home (or `created_item_vat_code`); the shipping and
rounding items are always created when missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.errors import Rejected
from connectors.exact import VATCode
from flows.base import FlowContext, RecordFailed
from flows.orders_exact import items_by_code, remember_item
from flows.orders_options import OrdersOptions
from flows.orders_vat import DocumentVat, VatRules, choose_code, rounding_code

ZERO = Decimal(0)


def skus(record: Mapping[str, Any]) -> set[str]:
    rows = record.get("Rows") or []
    return {str(r["ArticleNumber"]) for r in rows if not r.get("IsTextRow") and r.get("ArticleNumber")}


async def known_items(ctx: FlowContext, opts: OrdersOptions, record: Mapping[str, Any]) -> dict[str, str]:
    """Exact item ids of the record's SKUs that exist (refreshing the index on a miss)."""
    return await items_by_code(ctx, skus(record), opts.items_refresh_seconds)


def _new_item(code: str, row: Mapping[str, Any], vat_code: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"Code": code, "Description": str(row.get("Text") or code)[:60], "IsSalesItem": True}
    if vat_code:
        item["SalesVatCode"] = vat_code
    return item


async def _create_item(ctx: FlowContext, code: str, row: Mapping[str, Any], vat_code: str | None) -> str:
    """Create a missing item once: concurrent jobs of this process share one create (single-flight cache), and one
    of another process that won the race is found by its code instead of failing the record."""

    async def create() -> str:
        try:
            created = await ctx.exact.create_item(_new_item(code, row, vat_code))
        except Rejected:
            existing = await ctx.exact.find_item_by_code(code)
            if existing is None:
                raise
            return existing.id.lower()
        return created.id.lower()

    item_id: str = await ctx.cache.get(f"orders:created_item:{code}", create)
    remember_item(ctx, code, item_id, vat_code)
    return item_id


async def complete_items(
    ctx: FlowContext,
    opts: OrdersOptions,
    record: Mapping[str, Any],
    found: dict[str, str],
    vat: DocumentVat,
    codes: list[VATCode],
    rules: VatRules,
    *,
    rounding: bool,
) -> dict[str, str]:
    """`found` plus the items still missing, created where allowed; `RecordFailed` naming the SKUs otherwise."""
    rows = record.get("Rows") or []
    rate_of = {str(rows[r.index].get("ArticleNumber")): r for r in vat.rows}
    missing = sorted(skus(record) - found.keys())
    allowed = {opts.shipping_item_code} if opts.missing_sku == "fail" else set(missing)
    refused = [code for code in missing if code not in allowed]
    if refused:
        raise RecordFailed(f"SKU {', '.join(refused)} does not exist in Exact", sku=refused)
    for code in missing:
        row: Mapping[str, Any] = next((r for r in rows if r.get("ArticleNumber") == code), {})
        vat_code = opts.created_item_vat_code
        if vat_code is None and code in rate_of:
            # The item's own code is the domestic one of its rate: what a sale at home of this item charges.
            vat_code = choose_code("domestic", rate_of[code].home, rules.home_country, codes, rules, None)
        found[code] = await _create_item(ctx, code, row, vat_code)
    if rounding:
        code = opts.rounding_item_code
        existing = await items_by_code(ctx, {code}, opts.items_refresh_seconds)
        found[code] = existing.get(code) or await _create_item(
            ctx, code, {"Text": "Rounding"}, rounding_code(codes, rules)
        )
    return found
