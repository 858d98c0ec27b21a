"""Exact-side helpers of the orders flow: caches that keep the Exact call count per order near one.

Exact allows 60 calls/minute and 5,000/day, so every lookup a naive flow does per order (item by code, VAT code,
customer by e-mail, order by YourRef) is served here from `ctx.cache` instead:

* items by code (and each item's sales VAT code): loaded through the sync API (`sync_items`, 1,000 per page) and
  refreshed incrementally by `Timestamp`, at most every `items_refresh_seconds` and on a miss (a SKU created in
  Exact a moment ago);
* accounts by e-mail: the same pattern over `sync_accounts`, so a new customer costs only its create call;
* reference tables (warehouses, GL accounts) loaded once per TTL, only for documents whose mapping needs them;
  VAT codes and payment conditions once per TTL.

Exact GUIDs are kept lower-cased, as webhook keys and cross-references are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from app.xref import text_of
from connectors.exact import Account, Item, PaymentCondition, SyncPage, VATCode
from flows.base import FlowContext

ITEMS_KEY = "orders:items_by_code"
ACCOUNTS_KEY = "orders:accounts_by_email"


@dataclass(slots=True)
class SyncIndex:
    """A code -> id index kept current through an Exact sync endpoint (incremental by Timestamp)."""

    by_key: dict[str, str] = field(default_factory=dict)
    timestamp: int = 1
    refreshed_at: float = 0.0
    extra: dict[str, str | None] = field(default_factory=dict)  # key -> a second property (an item's VAT code)
    # Single flight: the jobs of one process that find the index stale at once make one sync call, not one each.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(
        self,
        pages: AsyncIterator[SyncPage[Any]],
        key: Callable[[Any], str | None],
        extra: Callable[[Any], str | None] | None = None,
    ) -> None:
        """Read the changed rows page by page; `key(row)` is the index key (None: not indexed)."""
        async for page in pages:
            for row in page.rows:
                value = key(row)
                if value and row.id:
                    self.by_key[value] = row.id.lower()
                    if extra is not None:
                        self.extra[value] = extra(row)
            self.timestamp = max(self.timestamp, page.timestamp)
        self.refreshed_at = time.monotonic()


def _item_code(item: Item) -> str | None:
    return item.code


def _item_vat(item: Item) -> str | None:
    return item.sales_vat_code


def _account_email(account: Account) -> str | None:
    return account.email.lower() if account.email else None


async def _index(ctx: FlowContext, key: str) -> SyncIndex:
    async def fresh() -> SyncIndex:
        return SyncIndex()

    index: SyncIndex = await ctx.cache.get(key, fresh, ttl=float("inf"))
    return index


async def items_by_code(ctx: FlowContext, codes: set[str], refresh_seconds: float) -> dict[str, str]:
    """Exact item ids for `codes`; refreshes the sync index when stale or when a code is missing.

    A miss first takes what the link's other worker processes read (an item another process saw a moment ago costs
    no call), then makes at most one incremental refresh (cheap: only items changed since the last Timestamp), so an
    order whose SKU truly does not exist costs one sync call, not one lookup per row.
    """
    index = await _index(ctx, ITEMS_KEY)
    seen = index.refreshed_at
    missing = not codes <= index.by_key.keys()
    if time.monotonic() - seen >= refresh_seconds or missing:
        async with index.lock:
            if index.refreshed_at == seen:  # nobody refreshed while this job waited for the lock
                await _refresh_shared(ctx, index, _ITEMS, refresh_seconds, needed=codes if missing else None)
    return {c: index.by_key[c] for c in codes if c in index.by_key}


def item_vat_code(ctx: FlowContext, code: str) -> str | None:
    """The Exact item's own sales VAT code, as the items index last read it (None: unknown)."""
    index = ctx.cache.peek(ITEMS_KEY)
    return index.extra.get(code) if isinstance(index, SyncIndex) else None


def remember_item(ctx: FlowContext, code: str, item_id: str, vat_code: str | None = None) -> None:
    index = ctx.cache.peek(ITEMS_KEY)
    if isinstance(index, SyncIndex):
        index.by_key[code] = item_id
        index.extra[code] = vat_code


async def account_by_key(
    ctx: FlowContext, match: str, value: str, refresh_seconds: float, *, verify: bool = False
) -> str | None:
    """The Exact account for a customer key: from the accounts-by-e-mail sync index, or one finder call.

    The index is refreshed incrementally at most every `refresh_seconds`, not on a miss: a miss is the normal case
    for a new customer, and refreshing then would cost the call the index exists to save. The price is that an
    account created in Exact by hand within the last `refresh_seconds` is not seen; `verify` (set when an earlier
    attempt of ours may have created the account) asks Exact directly.
    """
    if match == "email" and not verify:
        index = await _index(ctx, ACCOUNTS_KEY)
        seen = index.refreshed_at
        if time.monotonic() - seen >= refresh_seconds:
            async with index.lock:
                if index.refreshed_at == seen:
                    await _refresh_shared(ctx, index, _ACCOUNTS, refresh_seconds)
        return index.by_key.get(value.lower())
    finder = {
        "email": ctx.exact.find_account_by_email,
        "customer_number": ctx.exact.find_account_by_code,
        "vat_number": ctx.exact.find_account_by_vat,
    }[match]
    account: Account | None = await finder(value)
    return account.id.lower() if account is not None else None


@dataclass(frozen=True, slots=True)
class _Shared:
    """How one sync index is read from Exact and shared with the link's other worker processes through Redis."""

    name: str  # `{name}`, `{name}_synced` and `{name}_turn` under the link's orders state
    pages: Callable[[FlowContext, int], AsyncIterator[SyncPage[Any]]]
    key: Callable[[Any], str | None]
    extra: Callable[[Any], str | None] | None = None  # a second property, stored as `id<TAB>extra`


_ITEMS = _Shared("items_by_code", lambda ctx, since: ctx.exact.sync_items(since), _item_code, _item_vat)
_ACCOUNTS = _Shared("accounts_by_email", lambda ctx, since: ctx.exact.sync_accounts(since), _account_email)


async def _refresh_shared(
    ctx: FlowContext, index: SyncIndex, shared: _Shared, refresh_seconds: float, *, needed: set[str] | None = None
) -> None:
    """One sync per `refresh_seconds` for all of the link's worker processes, and what a miss needs.

    Each worker process keeps its own index; a second process reading Exact too would double the calls. So the
    process that takes the interval's turn reads Exact and leaves the rows it read in Redis; the others take them
    from there. With `needed` (keys the caller misses) the shared rows are read first, and Exact only when some are
    still missing, turn or not: a SKU created in Exact a moment ago must be found now.
    """
    rows = ctx.keys.flow_state("orders", shared.name)
    synced = ctx.keys.flow_state("orders", f"{shared.name}_synced")  # the Exact Timestamp the shared rows reach
    turn = ctx.keys.flow_state("orders", f"{shared.name}_turn")
    await _take_shared(ctx, index, shared, rows, synced)
    if needed is not None:
        go = not needed <= index.by_key.keys()
    else:
        go = bool(await ctx.redis.set(turn, "1", nx=True, px=max(1, int(refresh_seconds * 1000))))
    if not go:
        index.refreshed_at = time.monotonic()
        return
    before = dict(index.by_key)
    before_extra = dict(index.extra)
    await index.refresh(shared.pages(ctx, index.timestamp), shared.key, shared.extra)
    changed = {
        key: ident if shared.extra is None else f"{ident}\t{index.extra.get(key) or ''}"
        for key, ident in index.by_key.items()
        if before.get(key) != ident or before_extra.get(key) != index.extra.get(key)
    }
    async with ctx.redis.pipeline(transaction=False) as pipe:
        if changed:
            pipe.hset(rows, mapping=changed)
        pipe.set(synced, str(index.timestamp))
        await pipe.execute()


async def _take_shared(ctx: FlowContext, index: SyncIndex, shared: _Shared, rows: str, synced: str) -> None:
    """Merge what the link's other processes read into `index`, when they read further than it has."""
    reached = int(text_of(await ctx.redis.get(synced)) or 1)
    if reached <= index.timestamp:
        return
    stored = await ctx.redis.hgetall(rows)  # type: ignore[misc]  # redis-py: Awaitable[T] | T
    for raw_key, raw_value in stored.items():
        key, value = text_of(raw_key) or "", text_of(raw_value) or ""
        ident, _, extra = value.partition("\t")
        index.by_key[key] = ident
        if shared.extra is not None:
            index.extra[key] = extra or None
    index.timestamp = max(index.timestamp, reached)


def remember_account(ctx: FlowContext, email: str | None, account_id: str) -> None:
    index = ctx.cache.peek(ACCOUNTS_KEY)
    if email and isinstance(index, SyncIndex):
        index.by_key[email.lower()] = account_id


async def table_by_code(ctx: FlowContext, name: str) -> dict[str, str]:
    """`warehouses` or `gl_accounts` as code -> id, one call per cache TTL."""

    async def load() -> dict[str, str]:
        rows = await getattr(ctx.exact, name)()
        out: dict[str, str] = {}
        for row in rows:
            if row.code is not None and row.id:
                out[str(row.code).strip()] = row.id.lower()
        if name == "warehouses":
            # The mapping's default warehouse: Exact's main one, else the first.
            main = next((w for w in rows if w.main), rows[0] if rows else None)
            if main is not None:
                out["main"] = main.id.lower()
        return out

    table: dict[str, str] = await ctx.cache.get(f"orders:{name}", load)
    return table


async def vat_codes(ctx: FlowContext) -> list[VATCode]:
    """Exact's VAT codes (`vat/VATCodes`), one call per cache TTL."""

    async def load() -> list[VATCode]:
        return await ctx.exact.vat_codes()

    codes: list[VATCode] = await ctx.cache.get("orders:vat_codes", load)
    return codes


async def payment_conditions(ctx: FlowContext) -> list[PaymentCondition]:
    """Exact's payment conditions (`cashflow/PaymentConditions`), one call per cache TTL."""

    async def load() -> list[PaymentCondition]:
        return await ctx.exact.payment_conditions()

    conditions: list[PaymentCondition] = await ctx.cache.get("orders:payment_conditions", load)
    return conditions
