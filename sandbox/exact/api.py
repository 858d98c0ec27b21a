"""The REST surface `/api/v1/{division}/…` and `/api/v1/current/Me`, dispatched by hand.

Order of checks for a division URL, as the real host behaves: bearer token (401) → division the user may
access (403 WrongDivision) → rate limit (429; counted per division, headers on every later response) →
`Accept: application/json` (406: the real default is Atom XML, which a JSON client cannot read) → endpoint
(404) → scope (403 Application Scope Violated) → method (405) → query options and body (400).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.exact import odata
from sandbox.exact.entities import ENTITIES, TOPICS, EntitySpec, ViewSpec, entity_by_path, view_by_path
from sandbox.exact.errors import ExactApiError, bad_request, error_body, not_found
from sandbox.exact.reference import reference
from sandbox.exact.sim import ExactSim
from sandbox.exact.store import DivisionState, Record
from sandbox.exact.wire import AMSTERDAM, dumps, parse_guid

__all__ = ["api_router"]

_PATH_RE = re.compile(r"^(?P<res>[A-Za-z]+(?:/[A-Za-z]+){1,2})(?:\((?P<key>[^)]*)\))?(?:/(?P<sub>\$?[A-Za-z]+))?$")
_KNOWN_OPTIONS = frozenset({"$filter", "$select", "$top", "$orderby", "$skiptoken", "$expand", "$inlinecount"})
_SAFE = "$,()/:*'"  # __next keeps `$skiptoken=guid'…'` readable, as Exact writes it
_MAX_BODY = 10 * 1024 * 1024
_DELETED_RETENTION_DAYS = 61


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json", headers=headers)


def _error(exc: ExactApiError, headers: dict[str, str]) -> Response:
    return _json(error_body(exc.message), exc.status, {**headers, **exc.headers})


class _Ctx:
    """One request: the sim, the division, the parsed query and where to point `__next` / `__metadata`."""

    def __init__(self, sim: ExactSim, request: Request, div: DivisionState, path: str) -> None:
        self.sim = sim
        self.request = request
        self.div = div
        self.path = path
        self.base = f"{sim.config.public_base_url.rstrip('/')}/api/v1/{div.division}"
        self.query = request.query_params
        self.config = sim.config

    def option(self, name: str) -> str | None:
        value = self.query.get(name)
        return value if value is None else value.strip()

    def next_link(self, resource: str, skiptoken: str, extra: dict[str, str] | None = None) -> str:
        params = {k: v for k, v in self.query.items() if k != "$skiptoken"}
        params.update(extra or {})
        params["$skiptoken"] = skiptoken
        query = "&".join(f"{k}={quote(v, safe=_SAFE)}" for k, v in params.items())
        return f"{self.base}/{resource}?{query}"


# --- query helpers -----------------------------------------------------------------------------------


def _check_options(ctx: _Ctx) -> None:
    for name in ctx.query:
        if name == "$skip":
            raise bad_request("$skip is not supported on this endpoint; follow __next ($skiptoken) instead")
        if name.startswith("$") and name not in _KNOWN_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported")


def _top(ctx: _Ctx) -> int | None:
    text = ctx.option("$top")
    if text is None:
        return None
    if not text.isdigit():
        raise bad_request(f"Invalid value '$top={text}'")
    return int(text)


def _kinds(spec: EntitySpec) -> dict[str, str]:
    return {**spec.kinds, "__type__": spec.type_name}


def _select(ctx: _Ctx, kinds: dict[str, str], nav: str | None, expanded: bool) -> list[str] | None:
    text = ctx.option("$select")
    if text is None or text == "*":
        return None
    names = odata.parse_select(text)
    for name in names:
        head, _, tail = name.partition("/")
        if tail:
            if head != nav:
                raise bad_request(f"No navigation property '{head}' exists in type '{kinds['__type__']}'")
            if not expanded:
                raise bad_request(f"'$select={name}' needs '$expand={head}'")
            line_kinds = ENTITIES[ENTITIES_BY_NAV[head]].kinds
            if tail != "*" and tail not in line_kinds:
                raise bad_request(f"No property '{tail}' exists in type '{head}'")
        elif name != "*" and name not in kinds and name != nav:
            raise bad_request(f"No property '{name}' exists in type '{kinds['__type__']}'")
    return names


ENTITIES_BY_NAV = {spec.lines.nav: spec.lines.entity for spec in ENTITIES.values() if spec.lines}


def _predicate(ctx: _Ctx, kinds: dict[str, str]) -> tuple[odata.Node | None, odata.Predicate | None]:
    text = ctx.option("$filter")
    if text is None or text == "":
        return None, None
    node = odata.parse_filter(text)
    return node, odata.compile_filter(node, kinds)


def _parse_key(spec: EntitySpec, text: str) -> str:
    match = re.fullmatch(r"guid'([^']*)'", text.strip())
    if match is None:
        raise bad_request(f"Invalid key '{text}': use {spec.path}(guid'…')")
    try:
        return parse_guid(match.group(1))
    except ValueError:
        raise bad_request(f"Invalid key '{text}': not a GUID") from None


# Filters answered from `Store.children`: lines by their header, ItemWarehouses by item.
_CHILD_INDEX = {spec.lines.entity: spec.lines.parent_field for spec in ENTITIES.values() if spec.lines}
_CHILD_INDEX["ItemWarehouses"] = "Item"


def _indexed(ctx: _Ctx, spec: EntitySpec, node: odata.Node | None) -> list[str] | None:
    """Candidate keys for `Key eq guid'…'`, `Code eq '…'` or `Parent eq guid'…'` filters (possibly and-ed)."""
    if node is None:
        return None
    if isinstance(node, odata.Logic) and node.op == "and":
        return _indexed(ctx, spec, node.left) or _indexed(ctx, spec, node.right)
    if not (isinstance(node, odata.Cmp) and node.op == "eq"):
        return None
    prop, lit = node.left, node.right
    if isinstance(prop, odata.Lit):
        prop, lit = lit, prop
    if not (isinstance(prop, odata.Prop) and isinstance(lit, odata.Lit)):
        return None
    store = ctx.div.store(spec.name)
    if prop.name == spec.key and lit.kind == "guid":
        return [lit.value] if lit.value in store.records else []
    if prop.name == spec.code_field and lit.kind == "str" and lit.value in store.by_code:
        return [store.by_code[lit.value]]
    if _CHILD_INDEX.get(spec.name) == prop.name and lit.kind == "guid":
        return sorted(store.children.get(lit.value, []))
    return None


# --- serialisation -----------------------------------------------------------------------------------


def _entity_out(
    ctx: _Ctx, spec: EntitySpec, record: Record, select: list[str] | None, expand: bool, *, key_only: bool = False
) -> dict[str, Any]:
    key = record[spec.key]
    literal = str(key) if spec.kinds[spec.key] == "int" else f"guid'{key}'"
    uri = f"{ctx.base}/{spec.path}({literal})"
    out: dict[str, Any] = {"__metadata": {"uri": uri, "type": spec.type_name}}
    nav = spec.lines.nav if spec.lines else None
    wanted = None if select is None else {name.partition("/")[0] for name in select}
    if wanted is not None and "*" in wanted:
        wanted = None
    for name in spec.kinds:
        if wanted is None or name in wanted:
            out[name] = None if key_only and name != spec.key else record.get(name)
    if nav is not None and spec.lines is not None and (wanted is None or nav in wanted):
        if expand:
            line_spec = ENTITIES[spec.lines.entity]
            line_select = [n.partition("/")[2] for n in select or [] if n.startswith(nav + "/")] or None
            lines = ctx.div.store(line_spec.name)
            out[nav] = {
                "results": [
                    _entity_out(ctx, line_spec, lines.records[k], line_select, False)
                    for k in lines.children.get(key, [])
                    if k in lines.records
                ]
            }
        else:
            out[nav] = {"__deferred": {"uri": f"{uri}/{nav}"}}
    return out


# --- handlers ----------------------------------------------------------------------------------------


def _list(ctx: _Ctx, spec: EntitySpec, *, page_size: int, view: ViewSpec | None = None) -> Response:
    bulk = view is not None
    select_text = ctx.option("$select")
    top = _top(ctx)
    if (spec.select_required or bulk) and select_text is None and top != 1:
        raise bad_request("Please add a $select or a $top=1 statement to the query string")
    if bulk and select_text == "*":
        raise bad_request("$select=* is not allowed on bulk endpoints; list the properties")
    if (spec.has_sync or bulk) and ctx.config.mandatory_filter and not ctx.option("$filter"):
        raise bad_request(f"A $filter is mandatory on {spec.path} (mandatory filter rule); or use the sync API")
    expand_text = ctx.option("$expand")
    nav = spec.lines.nav if spec.lines else None
    if expand_text is not None and (nav is None or expand_text != nav):
        raise bad_request(f"Invalid $expand '{expand_text}'")
    expanded = expand_text is not None
    kinds = _kinds(spec) if view is None else {**view.kinds, "__type__": f"{spec.type_name}Bulk"}
    select = _select(ctx, kinds, nav, expanded)
    node, predicate = _predicate(ctx, kinds)
    store = ctx.div.store(spec.name)
    orderby_text = ctx.option("$orderby")
    skiptoken = ctx.option("$skiptoken")
    after: str | None = None
    if skiptoken:
        after = _parse_key(spec, skiptoken)
    candidates = _indexed(ctx, spec, node)
    limit = page_size if top is None else min(top, page_size)
    if orderby_text:
        order = odata.parse_orderby(orderby_text, kinds)
        keys = candidates if candidates is not None else store.sorted_keys()
        rows = [store.records[k] for k in keys if predicate is None or predicate(store.records[k])]
        for name, desc in reversed(order):
            rows.sort(key=lambda r, n=name: odata.sort_key(r.get(n)), reverse=desc)  # type: ignore[misc]
        if after is not None:
            position = next((i for i, r in enumerate(rows) if r[spec.key] == after), len(rows) - 1)
            rows = rows[position + 1 :]
        page, more = rows[:limit], len(rows) > limit
    else:
        keys = sorted(candidates) if candidates is not None else store.keys_after(after)
        if candidates is not None and after is not None:
            keys = [k for k in keys if k > after]
        page, more = [], False
        for key in keys:
            record = store.records[key]
            if predicate is not None and not predicate(record):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(record)
    if view is None:
        results = [_entity_out(ctx, spec, r, select, expanded) for r in page]
    else:
        names = list(view.kinds) if select is None else select
        results = [{name: r.get(view.source(name)) for name in names} for r in page]
    resource = ctx.path.split("?")[0]
    inline = ctx.option("$inlinecount")
    if top is not None and top <= page_size and inline is None and not skiptoken:
        # Reference §4.2: `$top` queries answer with `d` as a bare array (handle both shapes).
        return _json({"d": results})
    body: dict[str, Any] = {"results": results}
    if inline == "allpages":
        total = sum(1 for r in store.records.values() if predicate is None or predicate(r))
        body["__count"] = str(total)
    elif inline is not None and inline != "none":
        raise bad_request(f"Invalid $inlinecount '{inline}'")
    remaining = None if top is None else top - len(page)
    if more and (remaining is None or remaining > 0):
        extra = {"$top": str(remaining)} if remaining is not None else None
        body["__next"] = ctx.next_link(resource, f"guid'{page[-1][spec.key]}'", extra)
    return _json({"d": body})


def _view_record(view: ViewSpec, record: Record, ctx: _Ctx) -> dict[str, Any]:
    """One row of a sync view: the reference's fields of the view, read from the store (or computed)."""
    out: dict[str, Any] = {name: record.get(view.source(name)) for name in view.kinds}
    if view.path == "sync/Inventory/StockPositions":
        out.update(_stock_extras(ctx, record))
    return out


def _stock_extras(ctx: _Ctx, record: Record) -> dict[str, Any]:
    """What a stock position adds to its ItemWarehouse row. FreeStock: (?) Exact does not document its formula;
    the simulator reads it as on hand minus what open sales orders still take (docs/exact-simulator.md)."""
    item = ctx.div.store("Items").get(record["Item"]) or {}
    warehouse = ctx.div.store("Warehouses").get(record["Warehouse"]) or {}
    return {
        "FreeStock": (record["CurrentStock"] or 0) - (record["PlannedStockOut"] or 0),
        "UnitCode": item.get("Unit"),
        "UnitDescription": item.get("UnitDescription"),
        "WarehouseDescription": warehouse.get("Description"),
    }


def _timestamp_filter(ctx: _Ctx) -> int:
    """Sync endpoints: `$filter=Timestamp gt N[L]` is the only filter allowed (reference §5)."""
    text = ctx.option("$filter")
    if not text:
        raise bad_request("A $filter on Timestamp is mandatory on sync endpoints (start with 'Timestamp gt 1')")
    node = odata.parse_filter(text)
    if (
        isinstance(node, odata.Cmp)
        and isinstance(node.left, odata.Prop)
        and node.left.name == "Timestamp"
        and isinstance(node.right, odata.Lit)
        and node.right.kind == "number"
        and node.op in ("gt", "ge")
    ):
        value = int(node.right.value)
        return value if node.op == "gt" else value - 1
    raise bad_request("Only 'Timestamp gt <value>' may be used as filter on sync endpoints")


def _sync_select(ctx: _Ctx, kinds: dict[str, str]) -> list[str]:
    text = ctx.option("$select")
    if text is None:
        raise bad_request("Please add a $select statement to the query string ($select is mandatory on sync)")
    if "*" in text:
        raise bad_request("$select=* is not allowed on sync endpoints; list the properties")
    names = odata.parse_select(text)
    for name in names:
        if name not in kinds:
            raise bad_request(f"No property '{name}' exists in type '{kinds['__type__']}'")
    return names


def _sync_page(ctx: _Ctx, resource: str, rows: list[dict[str, Any]], more: bool, names: list[str]) -> Response:
    results = [{name: row.get(name) for name in names} for row in rows]
    body: dict[str, Any] = {"results": results}
    if more:
        body["__next"] = ctx.next_link(resource, f"{rows[-1]['Timestamp']}L")
    return _json({"d": body})


def _sync(ctx: _Ctx, view: ViewSpec) -> Response:
    for name in ("$orderby", "$expand", "$inlinecount"):
        if ctx.option(name) is not None:
            raise bad_request(f"{name} is not supported on sync endpoints")
    spec = ENTITIES[view.entity]
    kinds = {**view.kinds, "__type__": f"{spec.type_name}Sync"}
    names = _sync_select(ctx, kinds)
    since = _timestamp_filter(ctx)
    token = ctx.option("$skiptoken")
    if token:
        if not re.fullmatch(r"\d+L?", token):
            raise bad_request(f"Invalid $skiptoken '{token}'")
        since = max(since, int(token.rstrip("L")))
    top = _top(ctx)
    limit = ctx.config.sync_page_size if top is None else min(top, ctx.config.sync_page_size)
    rows: list[dict[str, Any]] = []
    more = False
    for record in ctx.div.store(spec.name).iter_since(since):
        if len(rows) == limit:
            more = top is None
            break
        rows.append(_view_record(view, record, ctx))
    return _sync_page(ctx, view.path, rows, more, names)


_DELETED_KINDS = {
    "Timestamp": "int",
    "ID": "guid",
    "EntityKey": "guid",
    "EntityType": "int",
    "DeletedBy": "guid",
    "DeletedDate": "datetime",
    "Division": "int",
    "__type__": "Exact.Web.Api.Models.Sync.Deleted",
}


def _sync_deleted(ctx: _Ctx) -> Response:
    names = _sync_select(ctx, _DELETED_KINDS)
    since = _timestamp_filter(ctx)
    token = ctx.option("$skiptoken")
    if token and re.fullmatch(r"\d+L?", token):
        since = max(since, int(token.rstrip("L")))
    cutoff = ctx.sim.clock.now().timestamp() - _DELETED_RETENTION_DAYS * 86400
    rows: list[dict[str, Any]] = []
    more = False
    for entry in ctx.div.deleted:
        if entry["Timestamp"] <= since or entry["DeletedDate"].timestamp() < cutoff:
            continue  # Reference §7: the deletion log keeps two months.
        if len(rows) == ctx.config.sync_page_size:
            more = True
            break
        rows.append(entry)
    return _sync_page(ctx, "sync/Deleted", rows, more, names)


def _stock_position(ctx: _Ctx) -> Response:
    """`read/logistics/StockPosition?itemId=guid'…'`: a function; `d` is a bare array (reference §9.5)."""
    raw = ctx.query.get("itemId")
    if raw is None:
        raise bad_request("Mandatory parameter 'itemId' is missing")
    match = re.fullmatch(r"guid'([^']*)'", raw.strip())
    if match is None:
        raise bad_request("itemId: use itemId=guid'…'")
    try:
        item_id = parse_guid(match.group(1))
    except ValueError:
        raise bad_request("itemId: not a GUID") from None
    select = ctx.option("$select")
    names = _listed_select(select, "read/logistics/StockPosition") if select else None
    item = ctx.div.store("Items").get(item_id)
    if item is None:
        return _json({"d": []})
    rows = ctx.sim.engine.item_warehouses(ctx.div, item_id)
    in_stock = sum((r["CurrentStock"] for r in rows), Decimal(0))
    planning_in = sum((r["PlannedStockIn"] for r in rows), Decimal(0))
    planning_out = sum((r["PlannedStockOut"] for r in rows), Decimal(0))
    reserved = sum((r["ReservedStock"] for r in rows), Decimal(0))
    result = {
        "__metadata": {"type": "Exact.Web.Api.Models.Logistics.StockPosition"},
        "ItemId": item_id,
        "InStock": in_stock,
        "PlanningIn": planning_in,
        "PlanningOut": planning_out,
        "ProjectedStock": in_stock + planning_in - planning_out,
        "ReservedStock": reserved,
        # (?) Exact does not document FreeStock; in stock minus open sales commitments is our reading.
        "FreeStock": in_stock - planning_out,
    }
    if names is not None:
        result = {k: v for k, v in result.items() if k in names or k == "__metadata"}
    return _json({"d": [result]})


async def _read_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    if "application/json" not in content_type:
        raise ExactApiError(415, "Content-Type must be application/json")
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise ExactApiError(413, "The request body exceeds 10 MB")
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise bad_request("The request body is not valid JSON") from None


async def _subscribe(ctx: _Ctx, spec: EntitySpec, body: Any) -> Record:
    engine = ctx.sim.engine
    values = engine.parse_body(spec, body)
    engine.require(spec, values)
    url, topic = values["CallbackURL"], values["Topic"]
    if topic not in TOPICS:
        raise bad_request(f"Topic: '{topic}' is not a valid topic")
    if values.get("IsInstant") and topic != "GoodsDeliveries":
        raise bad_request("IsInstant: only allowed for topic GoodsDeliveries")
    if ctx.config.require_https_callbacks and not url.lower().startswith("https://"):
        raise bad_request("CallbackURL: only HTTPS callback URLs are allowed")
    registered = ctx.config.redirect_uri
    if registered is not None and _host(url) != _host(registered):
        raise bad_request("CallbackURL: must be on the domain of the app's redirect URI")
    store = ctx.div.store(spec.name)
    if any(s["Topic"] == topic for s in store.records.values()):
        # Reference §8.1 (?): one subscription per topic per app per division; Exact answers 500.
        raise ExactApiError(500, "Data already exists")
    await ctx.sim.validate_callback(url)
    record = engine.blank(spec)
    record.update(values)
    record["ID"] = engine.new_guid()
    record["ClientID"] = ctx.config.client_id
    record["UserID"] = ctx.sim.user_id
    record["CreatorFullName"] = "Demo User"
    record["IsInstant"] = bool(record.get("IsInstant"))
    engine.save(ctx.div, spec, record, created=True)
    return record


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def _entity_call(ctx: _Ctx, spec: EntitySpec, method: str, key_text: str | None, sub: str | None) -> Response:
    if method not in spec.methods:
        raise ExactApiError(405, f"Method {method} is not allowed on {spec.path}")
    store = ctx.div.store(spec.name)
    engine = ctx.sim.engine
    if method == "GET":
        if key_text is None:
            if sub == "$count":
                _, predicate = _predicate(ctx, _kinds(spec))
                count = sum(1 for r in store.records.values() if predicate is None or predicate(r))
                return Response(str(count), media_type="text/plain")
            if sub is not None:
                raise not_found(f"Resource not found for the segment '{sub}'")
            return _list(ctx, spec, page_size=ctx.config.page_size)
        key = _parse_key(spec, key_text)
        record = store.get(key)
        if record is None:
            raise not_found(f"{spec.name}(guid'{key}') does not exist")
        if sub is not None:
            if spec.lines is None or sub != spec.lines.nav:
                raise not_found(f"Resource not found for the segment '{sub}'")
            line_spec = ENTITIES[spec.lines.entity]
            lines = ctx.div.store(line_spec.name)
            select = _select(ctx, _kinds(line_spec), None, False)
            rows = [lines.records[k] for k in lines.children.get(key, []) if k in lines.records]
            return _json({"d": {"results": [_entity_out(ctx, line_spec, r, select, False) for r in rows]}})
        expand = ctx.option("$expand")
        nav = spec.lines.nav if spec.lines else None
        if expand is not None and expand != nav:
            raise bad_request(f"Invalid $expand '{expand}'")
        select = _select(ctx, _kinds(spec), nav, expand is not None)
        return _json({"d": _entity_out(ctx, spec, record, select, expand is not None)})
    if sub is not None:
        raise not_found(f"Resource not found for the segment '{sub}'")
    if method == "POST":
        if key_text is not None:
            raise ExactApiError(405, "POST to an entity key is not allowed")
        body = await _read_body(ctx.request)
        if spec.name == "WebhookSubscriptions":
            record = await _subscribe(ctx, spec, body)
        elif spec.name == "SalesOrderLines":
            record = engine.create_order_line(ctx.div, body)
        else:
            record = engine.create(ctx.div, spec, body)
        prefer = ctx.request.headers.get("prefer", "")
        # Reference §4.1: without `Prefer: return=representation` the created entity comes back mostly empty.
        full = "return=representation" in prefer.replace(" ", "").lower()
        return _json({"d": _entity_out(ctx, spec, record, None, False, key_only=not full)}, 201)
    if key_text is None:
        raise ExactApiError(405, f"{method} needs a key: {spec.path}(guid'…')")
    key = _parse_key(spec, key_text)
    if method == "PUT":
        body = await _read_body(ctx.request)
        engine.update(ctx.div, spec, key, body)
        return Response(status_code=204)
    if method == "DELETE":
        engine.delete(ctx.div, spec, key)
        return Response(status_code=204)
    raise ExactApiError(405, f"Method {method} is not allowed on {spec.path}")


def _scope(ctx: _Ctx, scope: str) -> None:
    granted = ctx.config.granted_scopes
    if granted is not None and scope and scope not in granted:
        raise ExactApiError(403, "Forbidden - Application Scope Violated")


async def _dispatch(ctx: _Ctx, method: str) -> Response:
    match = _PATH_RE.match(ctx.path)
    if match is None:
        raise not_found(f"Resource not found for the segment '{ctx.path}'")
    resource, key_text, sub = match.group("res"), match.group("key"), match.group("sub")
    accept = ctx.request.headers.get("accept", "")
    if sub != "$count" and "application/json" not in accept.lower():
        raise ExactApiError(406, "Send 'Accept: application/json'; without it Exact answers in Atom XML")
    _check_options(ctx)
    lowered = resource.lower()
    if lowered == "sync/deleted":
        _require_get(method)
        return _sync_deleted(ctx)
    if lowered == "read/logistics/stockposition":
        _require_get(method)
        _scope(ctx, "Logistics inventory")
        return _stock_position(ctx)
    view = view_by_path(lowered)
    if view is not None:
        _require_get(method)
        spec = ENTITIES[view.entity]
        _scope(ctx, spec.scope)
        if key_text is not None or sub is not None:
            raise not_found(f"Resource not found for the segment '{ctx.path}'")
        if view.kind == "sync":
            return _sync(ctx, view)
        return _list(ctx, spec, page_size=ctx.config.sync_page_size, view=view)
    entity = entity_by_path(resource)
    if entity is None:
        raise not_found(f"Resource not found for the segment '{resource}'")
    _scope(ctx, entity.scope)
    return await _entity_call(ctx, entity, method, key_text, sub)


def _listed_select(text: str, url: str) -> list[str]:
    """A function endpoint's `$select`: every name must be a field the reference lists for `url`."""
    names = odata.parse_select(text)
    fields = reference().fields(url)
    for name in names:
        if name not in fields:
            raise bad_request(f"No property '{name}' exists in type '{reference().entity_at(url)}'")
    return names


def _require_get(method: str) -> None:
    if method != "GET":
        raise ExactApiError(405, f"Method {method} is not allowed; this endpoint is read-only")


def _me(sim: ExactSim) -> dict[str, Any]:
    now = sim.clock.now()
    return {
        "__metadata": {
            "uri": f"{sim.config.public_base_url.rstrip('/')}/api/v1/current/Me(guid'{sim.user_id}')",
            "type": "Exact.Web.Api.System.Me",
        },
        "UserID": sim.user_id,
        "CurrentDivision": sim.config.division,
        "AccountingDivision": sim.config.division,
        "DivisionCustomer": None,
        "DivisionCustomerVatNumber": "NL001234567B01",
        "Email": "demo.user@example.com",
        "FullName": "Demo User",
        "FirstName": "Demo",
        "LastName": "User",
        "LanguageCode": "en-NL",
        "Legislation": 1,
        "PackageCode": "WD_PRO",
        "ServerTime": now,
        # Exact's servers run on Amsterdam time, whatever the host machine's zone.
        "ServerUtcOffset": Decimal(int(now.astimezone(AMSTERDAM).utcoffset().total_seconds() // 3600)),  # type: ignore[union-attr]
        "UserName": "demo.user@example.com",
    }


def api_router() -> APIRouter:
    router = APIRouter()
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    @router.get("/api/v1/current/Me")
    async def me(request: Request) -> Response:
        sim: ExactSim = request.app.state.sim
        try:
            sim.oauth.check(request.headers.get("authorization"))
            if "application/json" not in request.headers.get("accept", "").lower():
                raise ExactApiError(406, "Send 'Accept: application/json'; without it Exact answers in Atom XML")
            row = _me(sim)
            select = request.query_params.get("$select")
            if select:
                names = _listed_select(select, "current/Me")
                row = {k: v for k, v in row.items() if k in names or k == "__metadata"}
            # Calls without a division do not count toward the limits and carry no rate-limit headers.
            return _json({"d": {"results": [row]}})
        except ExactApiError as exc:
            return _error(exc, {})

    @router.api_route("/api/v1/{division}/{path:path}", methods=methods)
    async def rest(request: Request, division: str, path: str) -> Response:
        sim: ExactSim = request.app.state.sim
        headers: dict[str, str] = {}
        try:
            sim.oauth.check(request.headers.get("authorization"))
            if not division.isdigit():
                raise not_found(f"Resource not found for the segment '{division}'")
            div = sim.division(int(division))
            headers = sim.rate.hit(div.division)
            ctx = _Ctx(sim, request, div, path)
            response = await _dispatch(ctx, request.method.upper())
        except ExactApiError as exc:
            return _error(exc, headers)
        response.headers.update(headers)
        return response

    return router
