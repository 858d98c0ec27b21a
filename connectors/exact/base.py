"""The plumbing under `ExactClient`: the connection, the division, and GET/POST/PUT/DELETE, lists and sync reads.

- **One division per client**, explicit in every URL (`/api/v1/{division}/…`): `settings.exact.division`, else
  `CurrentDivision` of `current/Me`, read once and cached. `CurrentDivision` is only the division last used in
  Exact's UI (§2.7), so a configured division is the robust choice; the log says which one was taken.
- **Headers**: `Accept: application/json` on every call (the default answer is Atom XML) comes from the
  `ApiClient`'s default headers; `Prefer: return=representation` on every POST, without which a created entity
  may come back with only its key (§4.1).
- **`$select`** on every list, sync and bulk read (mandatory on sync/bulk and on GoodsDeliveries and
  GeneralJournalEntries, §4.3), built from the model's fields. A GET by key sends none (the full record, unknown
  members included) except where the endpoint needs it.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeVar

import httpx
import structlog

from connectors.errors import NotFound, PermanentError
from connectors.exact.models import Division, ExactModel, Me
from connectors.exact.paging import NextLinkPaginator, SyncPage
from connectors.exact.policy import SYSTEM
from connectors.exact.wire import body_of, odata_guid, odata_int64, parse_json, unwrap_list, unwrap_one
from connectors.http import ApiClient
from connectors.oauth import TokenManager
from connectors.wire import validated

__all__ = ["PAGE_SIZE", "URL_LIMIT", "ExactBase", "select_of"]

log = structlog.get_logger("connectors.exact")

M = TypeVar("M", bound=ExactModel)

URL_LIMIT = 6000  # characters, after URL-encoding (KB "Restrictions", §4.4)
PAGE_SIZE = 60  # rows a page on regular endpoints (§4.3); sync endpoints page by 1,000
_PREFER = {"Prefer": "return=representation"}


def select_of(model: type[ExactModel], *, sync: bool = False, lines: type[ExactModel] | None = None) -> str:
    """The `$select` for `model` (with `Lines/Field` members for an expanded line collection)."""
    names = list(model.wire_fields(sync=sync))
    if lines is not None and model.__lines__:
        names.append(model.__lines__)
        names += [f"{model.__lines__}/{name}" for name in lines.wire_fields()]
    return ",".join(names)


def _encoded_length(text: str) -> int:
    return len(str(httpx.QueryParams({"x": text}))) - 2


class ExactBase:
    """Connection, division and request plumbing of `ExactClient`; see that class for the operations."""

    system = SYSTEM

    def __init__(
        self,
        api: ApiClient,
        tokens: TokenManager,
        *,
        division: int | None = None,
        on_division: Callable[[int], None] | None = None,
    ) -> None:
        self.api = api
        self.tokens = tokens
        self._configured = division
        self._division = division
        self._on_division = on_division
        self._division_lock = asyncio.Lock()
        if division is not None and on_division is not None:
            on_division(division)

    # -- connection ----------------------------------------------------------------------------------------------

    def authorize_url(self, state: str) -> str:
        """Exact's consent page to send the admin to; `state` comes back on the redirect with the code."""
        return self.tokens.authorize_url(state)

    async def exchange_code(self, code: str) -> None:
        """Redeem the code from the redirect (valid 3 minutes, once); tokens are stored encrypted, never returned.

        Exact's codes contain `!`; one still URL-encoded (`%21`) is refused by Exact, so it is decoded first (§2.2).
        A new consent may be for another user, so a division read from `current/Me` is read again.
        """
        if "%" in code:
            code = urllib.parse.unquote(code)
        await self.tokens.exchange_code(code)
        if self._configured is None:
            self._division = None

    async def auth_status(self) -> dict[str, Any]:
        """Connected or not, token expiry, whether a human must re-authorize, and the division (no secrets)."""
        status = await self.tokens.status()
        status["division"] = self._division
        return status

    async def me(self) -> Me:
        """`current/Me`: the connected user (a call without a division does not count toward the limits)."""
        row = unwrap_one(parse_json(await self.api.request("GET", "current/Me"), system=SYSTEM))
        if row is None:
            raise NotFound("current/Me answered no user", system=SYSTEM, endpoint="current/Me")
        return validated(Me, row, system=SYSTEM, endpoint="current/Me")

    async def division(self) -> int:
        """The division every URL of this client names (configured, else `CurrentDivision`, read once)."""
        if self._division is not None:
            return self._division
        async with self._division_lock:
            if self._division is None:
                me = await self.me()
                if me.current_division is None:
                    raise PermanentError("current/Me has no CurrentDivision; set EXACT__DIVISION", system=SYSTEM)
                self._division = me.current_division
                log.info("exact.division", division=self._division, source="current/Me")
                if self._on_division is not None:
                    self._on_division(self._division)
            return self._division

    async def division_details(self) -> Division | None:
        """This client's division as `system/Divisions` lists it (`description` is its name), or None when the user's
        list lacks it. The `$select` names only fields the reference gives `system/Divisions`."""
        division = await self.division()
        params = {
            "$select": "Code,Description,Current,Status,BlockingStatus,Country,Currency,Customer,CustomerName",
            "$filter": f"Code eq {int(division)}",
        }
        rows = [row async for page in self._pages("system/Divisions", params) for row in page]
        return self._valid(Division, rows[0], "system/Divisions") if rows else None

    async def divisions(self) -> list[Division]:
        """Every division the connected user can reach (`system/Divisions`), so a person can choose one instead of
        taking `CurrentDivision`, which is only the division last opened in Exact's web interface."""
        params = {"$select": "Code,Description,Current,Status,BlockingStatus,Country,Currency"}
        rows = [row async for page in self._pages("system/Divisions", params) for row in page]
        return [self._valid(Division, row, "system/Divisions") for row in rows]

    @staticmethod
    def _valid(model: type[M], row: Any, resource: str) -> M:
        """`model` from a row of an answer; one the model cannot hold is a `PermanentError`, never a pydantic one."""
        return validated(model, row, system=SYSTEM, endpoint=resource)

    # -- requests ------------------------------------------------------------------------------------------------

    async def _path(self, resource: str) -> str:
        return f"{await self.division()}/{resource}"

    async def _get(self, resource: str, params: Mapping[str, Any] | None = None) -> Any:
        return parse_json(await self.api.request("GET", await self._path(resource), params=params), system=SYSTEM)

    async def _pages(self, resource: str, params: Mapping[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Rows page by page, following `__next` exactly as Exact wrote it."""
        paginator = NextLinkPaginator(self.api.base_url)
        url: str | None = await self._path(resource)
        query: Mapping[str, Any] | None = params
        while url is not None:
            rows, link = unwrap_list(parse_json(await self.api.request("GET", url, params=query), system=SYSTEM))
            yield rows
            url, query = paginator.advance(link, resource), None

    async def _list(
        self,
        resource: str,
        model: type[M],
        *,
        filter: str | None = None,
        top: int | None = None,
        lines: type[ExactModel] | None = None,
    ) -> list[M]:
        params: dict[str, Any] = {"$select": select_of(model, lines=lines)}
        if filter:
            params["$filter"] = filter
        if top is not None:
            params["$top"] = top
        if lines is not None and model.__lines__:
            params["$expand"] = model.__lines__
        return [self._valid(model, row, resource) async for page in self._pages(resource, params) for row in page]

    async def _first(self, resource: str, model: type[M], filter: str, what: str) -> M | None:
        """The record matching `filter`, or None; two matches are logged (the first one wins)."""
        found = await self._list(resource, model, filter=filter, top=2)
        if len(found) > 1:
            log.warning("exact.lookup_ambiguous", resource=resource, lookup=what, matches=len(found))
        return found[0] if found else None

    async def _find(
        self, resource: str, model: type[M], key_field: str, key: str, *, lines: type[ExactModel] | None = None
    ) -> M | None:
        """One record by key, or None, as a filtered read: a record deleted meanwhile answers an empty list, where a
        GET by key would answer 404, one of the 10 errors an hour per endpoint Exact allows before it blocks the
        app for an hour (docs/exact-online-api.md §3). For records a webhook or another flow names."""
        found = await self._list(resource, model, filter=f"{key_field} eq {odata_guid(key)}", top=1, lines=lines)
        return found[0] if found else None

    async def _by_key(self, resource: str, key: str, model: type[M], params: Mapping[str, Any] | None = None) -> M:
        row = unwrap_one(await self._get(f"{resource}({odata_guid(key)})", params))
        if row is None:
            raise NotFound(f"{resource} {key} does not exist", system=SYSTEM, endpoint=resource)
        return self._valid(model, row, resource)

    async def _create(self, resource: str, model: type[M], body: Mapping[str, Any]) -> M:
        """POST header (and lines) in one request; the answer is the stored record (`Prefer`)."""
        response = await self.api.request("POST", await self._path(resource), json=body_of(body), headers=_PREFER)
        row = unwrap_one(parse_json(response, system=SYSTEM))
        if row is None:
            raise PermanentError(f"POST {resource} answered no entity", system=SYSTEM, endpoint=resource)
        return self._valid(model, row, resource)

    async def _update(self, resource: str, key: str, body: Mapping[str, Any]) -> None:
        """PUT only the properties to change (Exact updates those and keeps the rest); 204, no body."""
        await self.api.request("PUT", await self._path(f"{resource}({odata_guid(key)})"), json=body_of(body))

    async def _delete(self, resource: str, key: str) -> None:
        await self.api.request("DELETE", await self._path(f"{resource}({odata_guid(key)})"))

    async def _sync(self, resource: str, model: type[M], timestamp: int) -> AsyncIterator[SyncPage[M]]:
        """A sync read: `Timestamp gt N` (the only filter allowed), 1,000 rows a page in Timestamp order."""
        cursor = int(timestamp)
        params = {"$select": select_of(model, sync=True), "$filter": f"Timestamp gt {odata_int64(cursor)}"}
        async for page in self._pages(resource, params):
            rows = [self._valid(model, row, resource) for row in page]
            stamps = [int(stamp) for row in rows if (stamp := getattr(row, "timestamp", None)) is not None]
            cursor = max([cursor, *stamps])
            yield SyncPage(rows=rows, timestamp=cursor)

    async def _or_chunks(
        self, resource: str, params: Mapping[str, Any], clauses: Iterable[str], *, per_chunk: int | None = None
    ) -> list[str]:
        """`a or b or …` filters, each keeping the request URL (with `params`) within Exact's 6,000 characters and,
        with `per_chunk`, to at most that many clauses (one page of answers for clauses matching one row each)."""
        fixed = len(str(httpx.URL(self.api.url(await self._path(resource)), params=dict(params))))
        budget = URL_LIMIT - fixed - len("&%24filter=")
        joiner = _encoded_length(" or ")
        chunks: list[str] = []
        current: list[str] = []
        size = 0
        for clause in clauses:
            length = _encoded_length(clause)
            if length > budget:
                raise ValueError(f"a single filter clause is longer than the URL allows: {clause[:40]}…")
            if current and (size + joiner + length > budget or (per_chunk is not None and len(current) >= per_chunk)):
                chunks.append(" or ".join(current))
                current, size = [], 0
            size += length + (joiner if current else 0)
            current.append(clause)
        if current:
            chunks.append(" or ".join(current))
        return chunks
