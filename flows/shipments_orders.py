# mypy: disable-error-code="misc"
# (redis-py types every command as `Awaitable[T] | T`; awaiting them on the asyncio client is correct.)
"""Finding the orders behind a goods delivery, and the lock every read-modify-write of an eAccounting order holds.

An Exact goods delivery names its sales order only by number (`GoodsDeliveryLines.SalesOrderNumber`); the header
has no order field and the client has no lookup by number. So the flow keeps an index, in Redis, of Exact sales
order number -> (OrderID, YourRef), filled incrementally from `sync/SalesOrder/SalesOrderHeaders` (1,000 headers a
call, Timestamp cursor stored after each page, so a restart or a rate limit resumes where it stopped). Only
orders with a YourRef are kept: every order the orders flow creates carries the eAccounting order number there.
The index is refreshed on a miss only, so a delivery of a known order costs no call for it.

eAccounting orders are found by number (the YourRef fallback) through a per-process index of the open and shipped
orders (1,000 a call), refreshed on a miss at most once per `EA_ORDERS_TTL` seconds.

eAccounting's PUT replaces the whole order, rows included, so a write between another job's GET and PUT of the
same order is undone (two deliveries of one order recorded at once would drop each other's rows). Every writer of
a whole order holds `ctx.xref.lock(flows.base.ORDER_LOCK, order_id)` from its GET to its PUT.
"""

from __future__ import annotations

import asyncio
import json

from flows.base import FlowContext

EA_ORDERS_TTL = 60.0


def _key(ctx: FlowContext, part: str) -> str:
    return ctx.keys.flow_state("shipments", part)


def _process_lock(ctx: FlowContext, name: str) -> asyncio.Lock:
    """A per-process lock kept in the flow cache, so concurrent jobs of one worker share one refresh."""
    lock = ctx.cache.peek(name)
    if not isinstance(lock, asyncio.Lock):
        lock = asyncio.Lock()
        ctx.cache.put(name, lock)
    return lock


async def exact_order_by_number(ctx: FlowContext, number: int) -> tuple[str, str] | None:
    """(OrderID, YourRef) of the Exact sales order with this number, or None when it has no YourRef (or does not
    exist)."""
    found = await ctx.redis.hget(_key(ctx, "so_by_number"), str(number))
    if found is None:
        async with _process_lock(ctx, "shipments:so_refresh"):
            found = await ctx.redis.hget(_key(ctx, "so_by_number"), str(number))
            if found is None:
                await _refresh_exact_orders(ctx)
                found = await ctx.redis.hget(_key(ctx, "so_by_number"), str(number))
    if found is None:
        return None
    order_id, your_ref = json.loads(found)
    return str(order_id), str(your_ref)


async def _refresh_exact_orders(ctx: FlowContext) -> None:
    raw = await ctx.redis.get(_key(ctx, "so_cursor"))
    cursor = int(raw) if raw else 1
    async for page in ctx.exact.sync_sales_orders(cursor):
        entries = {
            str(order.order_number): json.dumps(
                [(order.order_id or order.id or "").lower(), (order.your_ref or "").strip()]
            )
            for order in page.rows
            if order.order_number is not None and (order.your_ref or "").strip() and (order.order_id or order.id)
        }
        if entries:
            await ctx.redis.hset(_key(ctx, "so_by_number"), mapping=entries)
        await ctx.redis.set(_key(ctx, "so_cursor"), str(page.timestamp))


async def ea_order_by_number(ctx: FlowContext, number: int) -> str | None:
    """The Id of the eAccounting order with this number among Draft, Ongoing and Shipped orders (Invoiced ones
    can no longer change), or None."""

    async def load() -> dict[int, str]:
        index: dict[int, str] = {}
        for status in (1, 2, 3):
            async for order in ctx.eaccounting.list_orders(status=status):
                if order.number is not None:
                    index[order.number] = order.id
        return index

    index: dict[int, str] = await ctx.cache.get("shipments:ea_orders", load, ttl=EA_ORDERS_TTL)
    if number not in index and ctx.cache.peek("shipments:ea_orders_missed") != number:
        # A miss may be an order placed after the index was read: read it again, once per number and TTL.
        ctx.cache.put("shipments:ea_orders_missed", number)
        ctx.cache.invalidate("shipments:ea_orders")
        index = await ctx.cache.get("shipments:ea_orders", load, ttl=EA_ORDERS_TTL)
    return index.get(number)
