# mypy: disable-error-code="misc"
# (redis-py types every command as `Awaitable[T] | T`; awaiting them on the asyncio client is correct.)
"""The stock flow's Redis state: the stock index (Exact's stock per item and warehouse, as last polled) and which
ItemWarehouse belongs to which item (the last value written per item is kept in the cross-reference store,
`CrossRefs.last_value`).

Why an index: Exact's sync API returns only the ItemWarehouse rows that changed, while an article's stock is the sum
over the item's selected warehouses. The poll keeps every row it read here (it is the only writer, under the engine's
poll lock), so an incremental poll can compute each changed item's total with no further Exact call. Webhook runs
read the item's rows from Exact itself and never write the index.

No lock here: a webhook names an ItemWarehouse while polls and manual runs name the item, so two runs of one item
can overlap under different record ids (the engine serialises per record id only). The write (compare with the last
value, read the article, PUT it) holds the article's cross-process lock, `CrossRefs.lock` of kind
`flows.base.ARTICLE_LOCK`, which the products flow holds around its writes of the article too; and a value read
from Exact earlier than the one last written (by `Modified`) never replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from app.xref import text_of

QUANTITIES = ("CurrentStock", "PlannedStockOut", "PlannedStockIn", "ReservedStock")
_CHUNK = 1000

Row = dict[str, Any]


def compact(iw: Any) -> Row:
    """One ItemWarehouse as the flow keeps it: id, warehouse, the quantities (as text) and `Modified` (epoch ms)."""
    modified = iw.modified
    return {
        "ID": str(iw.id).lower(),
        "WarehouseCode": iw.warehouse_code,
        **{name: str(getattr(iw, _attr(name)) or 0) for name in QUANTITIES},
        "Modified": int(modified.timestamp() * 1000) if modified is not None else 0,
    }


def _attr(name: str) -> str:
    return {
        "CurrentStock": "current_stock",
        "PlannedStockOut": "planned_stock_out",
        "PlannedStockIn": "planned_stock_in",
        "ReservedStock": "reserved_stock",
    }[name]


def summed(item_id: str, code: str | None, rows: Iterable[Row], warehouses: list[str]) -> dict[str, Any]:
    """The record the stock mapping sees: the quantities summed over the selected warehouses (all when none are
    selected), in ItemWarehouse's own field names."""
    wanted = {w.strip().casefold() for w in warehouses}
    chosen = [r for r in rows if not wanted or str(r.get("WarehouseCode") or "").strip().casefold() in wanted]
    record: dict[str, Any] = {"Item": item_id, "ItemCode": code, "Warehouses": [r.get("WarehouseCode") for r in chosen]}
    for name in QUANTITIES:
        record[name] = sum((Decimal(str(r.get(name) or 0)) for r in chosen), Decimal(0))
    return record


def version(rows: Iterable[Row]) -> int:
    """How recent a reading of an item's stock is: the newest `Modified` of its rows (Exact's clock, epoch ms)."""
    return max((int(r.get("Modified") or 0) for r in rows), default=0)


class StockState:
    """Redis keys of the stock flow, under the installation's key prefix."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self._rows = f"{prefix}:stock:rows"  # item id -> {"code", "rows": {ItemWarehouse id: Row}}
        self._owner = f"{prefix}:stock:iw"  # ItemWarehouse id (or an item id a webhook named) -> item id

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
        """Write entries (and which item each ItemWarehouse belongs to); `replace` drops every other item."""
        items = list(entries)
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self._rows, mapping={i: json.dumps(entries[i], separators=(",", ":")) for i in chunk})
                owners = {iw: item for item in chunk for iw in entries[item]["rows"]}
                if owners:
                    pipe.hset(self._owner, mapping=owners)
                await pipe.execute()
        if replace:
            stale = [key for key in await self.redis.hkeys(self._rows) if text_of(key) not in entries]
            for start in range(0, len(stale), _CHUNK):
                await self.redis.hdel(self._rows, *stale[start : start + _CHUNK])

    async def item_of(self, item_warehouse_id: str) -> str | None:
        return text_of(await self.redis.hget(self._owner, item_warehouse_id))

    async def remember_owner(self, item_warehouse_id: str, item_id: str) -> None:
        await self.redis.hset(self._owner, item_warehouse_id, item_id)
