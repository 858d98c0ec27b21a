# mypy: disable-error-code="misc"
# (redis-py types every command as `Awaitable[T] | T`; awaiting them on the asyncio client is correct.)
"""The stock flow's Redis state: the stock index (Exact's stock per item and warehouse, as last polled) and which
webhook Key or stock row belongs to which item (the last value written per item is kept in the cross-reference
store, `CrossRefs.last_value`).

Why an index: Exact's sync API (`sync/Inventory/StockPositions`) returns only the rows that changed, while an
article's stock is the sum over the item's selected warehouses. The poll keeps every row it read here (it is the
only writer, under the engine's poll lock), so an incremental poll can compute each changed item's total with no
further Exact call. Webhook runs read the item's rows from `inventory/ItemWarehouses` and never write the index.

Rows from both endpoints are kept in one shape (`Row`), keyed by warehouse: `CurrentStock`, `PlannedStockOut`,
`PlannedStockIn`, `ReservedStock` (ItemWarehouse's names; a stock position's `PlanningOut`/`PlanningIn` are the same
figures) as text. Neither endpoint has a version both share (stock positions have a `Timestamp`, ItemWarehouses a
`Modified` that need not move with the stock), so a reading is dated by when it was read (`read_at`, epoch ms).

No lock here: a webhook names a Key while polls and manual runs name the item, so two runs of one item can overlap
under different record ids (the engine serialises per record id only). The write (compare with the last value, read
the article, PUT it) holds the article's cross-process lock, `CrossRefs.lock` of kind `flows.base.ARTICLE_LOCK`,
which the products flow holds around its writes of the article too; and a value read earlier than the one last
written never replaces it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from app.xref import text_of
from connectors.keys import Keys

QUANTITIES = ("CurrentStock", "PlannedStockOut", "PlannedStockIn", "ReservedStock")
_CHUNK = 1000

Row = dict[str, Any]


def _text(value: Any) -> str:
    return str(value if value is not None else 0)


def from_position(sp: Any) -> Row:
    """A `sync/Inventory/StockPositions` row (per item and warehouse) as the flow keeps it."""
    return {
        "ID": str(sp.id).lower() if sp.id else None,
        "Warehouse": str(sp.warehouse).lower() if sp.warehouse else None,
        "WarehouseCode": sp.warehouse_code,
        "CurrentStock": _text(sp.current_stock),
        "PlannedStockOut": _text(sp.planning_out),
        "PlannedStockIn": _text(sp.planning_in),
        "ReservedStock": _text(sp.reserved_stock),
    }


def from_item_warehouse(iw: Any) -> Row:
    """An `inventory/ItemWarehouses` row as the flow keeps it."""
    return {
        "ID": str(iw.id).lower(),
        "Warehouse": str(iw.warehouse).lower() if iw.warehouse else None,
        "WarehouseCode": iw.warehouse_code,
        "CurrentStock": _text(iw.current_stock),
        "PlannedStockOut": _text(iw.planned_stock_out),
        "PlannedStockIn": _text(iw.planned_stock_in),
        "ReservedStock": _text(iw.reserved_stock),
    }


def row_key(row: Row) -> str:
    """Rows of one item are told apart by warehouse (both endpoints have one row per item and warehouse)."""
    return str(row.get("Warehouse") or row.get("WarehouseCode") or row.get("ID"))


def now_ms() -> int:
    """When a reading was taken: the version that decides which of two readings of an item is newer."""
    return time.time_ns() // 1_000_000


def summed(item_id: str, code: str | None, rows: Iterable[Row], warehouses: list[str]) -> dict[str, Any]:
    """The record the stock mapping sees: the quantities summed over the selected warehouses (all when none are
    selected), in ItemWarehouse's own field names."""
    wanted = {w.strip().casefold() for w in warehouses}
    chosen = [r for r in rows if not wanted or str(r.get("WarehouseCode") or "").strip().casefold() in wanted]
    record: dict[str, Any] = {"Item": item_id, "ItemCode": code, "Warehouses": [r.get("WarehouseCode") for r in chosen]}
    for name in QUANTITIES:
        record[name] = sum((Decimal(str(r.get(name) or 0)) for r in chosen), Decimal(0))
    return record


class StockState:
    """The stock flow's Redis state, under the administration's keys."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self._rows = keys.flow_state("stock", "rows")  # item id -> {"code", "rows": {warehouse: Row}}
        self._owner = keys.flow_state("stock", "iw")  # stock row id or webhook Key -> item id

    # -- the index ------------------------------------------------------------------------------------------------

    async def has_index(self) -> bool:
        return bool(await self.redis.exists(self._rows))

    async def entries(self, items: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            for item, raw in zip(chunk, await self.redis.hmget(self._rows, chunk), strict=True):
                if raw is not None:
                    found[item] = json.loads(raw)
        return found

    async def store(self, entries: Mapping[str, dict[str, Any]], *, replace: bool = False) -> None:
        """Write entries (and which item each stock row id belongs to); `replace` drops every other item."""
        items = list(entries)
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self._rows, mapping={i: json.dumps(entries[i], separators=(",", ":")) for i in chunk})
                owners = {r["ID"]: item for item in chunk for r in entries[item]["rows"].values() if r.get("ID")}
                if owners:
                    pipe.hset(self._owner, mapping=owners)
                await pipe.execute()
        if replace:
            stale = [key for key in await self.redis.hkeys(self._rows) if text_of(key) not in entries]
            for start in range(0, len(stale), _CHUNK):
                await self.redis.hdel(self._rows, *stale[start : start + _CHUNK])

    async def item_of(self, key: str) -> str | None:
        return text_of(await self.redis.hget(self._owner, key))

    async def remember_owner(self, key: str, item_id: str) -> None:
        await self.redis.hset(self._owner, key, item_id)
