"""Reference data of the products flow: eAccounting codings, units and labels, Exact VAT codes and item groups.

Each list is read once per `refs_refresh_seconds` through the per-process cache (`flows/cache.py`), so mapping an
item costs no API call. `Refs.lookups(item)` builds the datamapper's lookup tables for one item:

* `codings_by_item_group`: the item group's coding from `coding_by_item_group`, and under `*` the item's own
  coding, resolved from its Exact VAT code (`coding_by_vat_code`, else an active eAccounting coding with the same
  VAT percentage: a goods coding for stock items, a service coding otherwise), else `default_coding`.
* `units_by_code`: the item's Exact unit through `unit_by_code` (or the same code/abbreviation/name in
  eAccounting), and under `*` `default_unit`.

Option values may name an eAccounting record by id, name, code or abbreviation (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flows.base import FlowContext, RecordFailed

if TYPE_CHECKING:
    from flows.products import ProductsOptions


def _folded(value: Any) -> str:
    return str(value).strip().casefold() if value is not None else ""


def _rate(value: Decimal | None) -> Decimal | None:
    """A VAT rate as a fraction: Exact sends 0.21; eAccounting's `VatRatePercent` 0.25 or (newer versions) 25."""
    if value is None:
        return None
    return value / 100 if value > 1 else value


@dataclass(frozen=True, slots=True)
class Named:
    """An eAccounting record an option may name: its id and the texts it can be named by."""

    id: str
    names: tuple[str, ...]
    kind: str | None = None
    rate: Decimal | None = None
    active: bool = True


def find_named(records: Iterable[Named], wanted: str) -> Named | None:
    """The record whose id, or one of whose names, is `wanted` (case-insensitive)."""
    key = _folded(wanted)
    items = list(records)
    return next((r for r in items if r.id.casefold() == key), None) or next(
        (r for r in items if key in (_folded(n) for n in r.names)), None
    )


@dataclass(frozen=True, slots=True)
class Refs:
    """Everything the products flow looks up, loaded through the cache."""

    codings: tuple[Named, ...]
    units: tuple[Named, ...]
    labels: tuple[Named, ...]
    vat_rates: Mapping[str, Decimal]  # Exact VAT code -> fraction
    item_groups: Mapping[str, str]  # Exact item group code -> description
    company_currency: str | None

    def _named(self, records: tuple[Named, ...], wanted: str, option: str, what: str) -> Named:
        found = find_named(records, wanted)
        if found is None:
            known = ", ".join(sorted(r.names[0] for r in records if r.names)) or "none"
            raise RecordFailed(f"{option}: {wanted!r} is not an eAccounting {what} (known: {known})")
        return found

    def coding_for(self, opts: ProductsOptions, item: Mapping[str, Any]) -> str | None:
        """The item's own coding (the `*` entry): by VAT code, else the default; None when none applies."""
        vat = str(item.get("SalesVatCode") or "").strip()
        if vat and vat in opts.coding_by_vat_code:
            return self._named(self.codings, opts.coding_by_vat_code[vat], "coding_by_vat_code", "coding").id
        rate = self.vat_rates.get(vat)
        if rate is not None:
            wanted = "goods" if item.get("IsStockItem") else "service"
            same = [c for c in self.codings if c.active and c.rate is not None and c.rate == rate]
            preferred = [c for c in same if _folded(c.kind) == wanted]
            if preferred or same:
                return (preferred or same)[0].id
        if opts.default_coding:
            return self._named(self.codings, opts.default_coding, "default_coding", "coding").id
        return None

    def unit_for(self, opts: ProductsOptions, code: str) -> str | None:
        if not code:
            return None
        configured = {_folded(k): v for k, v in opts.unit_by_code.items()}
        if _folded(code) in configured:
            wanted = configured[_folded(code)]
            if "unit_by_code" in opts.model_fields_set:  # the user's table must name real units
                return self._named(self.units, wanted, "unit_by_code", "unit").id
            default = find_named(self.units, wanted)  # the shipped synonyms may not exist in every company
            if default is not None:
                return default.id
        found = find_named(self.units, code)
        return found.id if found else None

    def label_for(self, opts: ProductsOptions, group_code: str, description: str | None) -> Named | None:
        """The eAccounting label of an Exact item group: configured, else the label named like the group."""
        if group_code in opts.label_by_item_group:
            return self._named(self.labels, opts.label_by_item_group[group_code], "label_by_item_group", "label")
        for name in (description, group_code):
            found = find_named(self.labels, name) if name else None
            if found is not None:
                return found
        return None

    def managed_labels(self, opts: ProductsOptions) -> set[str]:
        """Labels that stand for an Exact item group: the flow replaces these and keeps every other label."""
        groups = {**self.item_groups, **dict.fromkeys(opts.label_by_item_group)}
        return {label.id for code in groups if (label := self.label_for(opts, code, self.item_groups.get(code)))}

    def lookups(self, opts: ProductsOptions, item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The lookup tables of the default mapping for one item (see the module docstring)."""
        codings: dict[str, Any] = {
            group: self._named(self.codings, wanted, "coding_by_item_group", "coding").id
            for group, wanted in opts.coding_by_item_group.items()
        }
        own = self.coding_for(opts, item)
        if own is not None:
            codings["*"] = own
        units: dict[str, Any] = {}
        code = str(item.get("Unit") or "").strip()
        unit = self.unit_for(opts, code)
        if unit is not None:
            units[code] = unit
        if opts.default_unit:
            units["*"] = self._named(self.units, opts.default_unit, "default_unit", "unit").id
        return {"codings_by_item_group": codings, "units_by_code": units}


async def load_refs(ctx: FlowContext, opts: ProductsOptions) -> Refs:
    """The reference data, from the cache (at most one load per list and `refs_refresh_seconds`)."""
    ttl = opts.refs_refresh_seconds

    async def codings() -> tuple[Named, ...]:
        return tuple(
            Named(c.id, tuple(n for n in (c.name, c.name_english) if n), c.type, _rate(c.vat_rate_percent),
                  c.is_active is not False)
            for c in await ctx.eaccounting.article_account_codings()
        )  # fmt: skip

    async def units() -> tuple[Named, ...]:
        return tuple(
            Named(u.id, tuple(n for n in (u.code, u.abbreviation, u.name) if n)) for u in await ctx.eaccounting.units()
        )

    async def labels() -> tuple[Named, ...]:
        return tuple(Named(lb.id, (lb.name,) if lb.name else ()) for lb in await ctx.eaccounting.article_labels())

    async def vat_rates() -> dict[str, Decimal]:
        return {
            str(v.code).strip(): v.percentage
            for v in await ctx.exact.vat_codes()
            if v.code is not None and v.percentage is not None
        }

    async def item_groups() -> dict[str, str]:
        return {str(g.code): g.description or "" for g in await ctx.exact.item_groups() if g.code}

    return Refs(
        codings=await ctx.cache.get("products:ea:codings", codings, ttl=ttl),
        units=await ctx.cache.get("products:ea:units", units, ttl=ttl),
        labels=await ctx.cache.get("products:ea:labels", labels, ttl=ttl) if opts.item_group_labels else (),
        vat_rates=await ctx.cache.get("products:exact:vat_rates", vat_rates, ttl=ttl),
        item_groups=await ctx.cache.get("products:exact:item_groups", item_groups, ttl=ttl)
        if opts.item_group_labels
        else {},
        company_currency=await company_currency(ctx, ttl),
    )


async def company_currency(ctx: FlowContext, ttl: float) -> str | None:
    """eAccounting's company currency (cached like the other reference data)."""

    async def currency() -> str | None:
        code = (await ctx.eaccounting.company_settings()).currency_code
        return str(code).upper() if code else None

    found: str | None = await ctx.cache.get("products:ea:currency", currency, ttl=ttl)
    return found
