"""The `/v2/*` routes: paths and methods exactly as in the vendor's description.

Each request goes through the same gate, in the order the real service applies them as far as it can be
observed: injected fault, bearer token (401), scope (403), rate limit per client and endpoint (429), query
options and body validation (400), then the business rules. Every request is counted under
`METHOD /path-template` with its status. Operations of the description the simulator does not implement
answer 501 with the usual error body, so a connector cannot mistake them for working.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from . import domain
from .errors import NO_ACCESS_TO_MODULE, STARTUP_GUIDE_NOT_COMPLETED, ApiError, not_found, validation_error
from .http import error_response, fault_response, json_response, read_json_body
from .odata import parse_datetime
from .resources import RESOURCES
from .sim import EAccountingSim, ListQuery, Record
from .spec import GUID_RE, QUERY_DATETIME_RE
from .state import check_scopes

__all__ = ["add_api_routes"]

Handler = Callable[[Request, Any], Any]
EMPTY = object()
# What an answer typed only as `object` carries when it is not the whole record (`object_answers: partial`).
_PARTIAL = {"customers": ("Id", "CustomerNumber", "Name"), "orders": ("Id", "Number", "Status")}


def check_access(sim: EAccountingSim) -> None:
    """The usual first-connection failures (community.visma.com knowledge base; docs/eaccounting-api.md §3): the
    company has no API module, or was never set up. The HTTP status is not documented (?): 403, as the exception's
    name (`ForbiddenRequestException`) says."""
    if sim.access_problem == "api_module":
        raise ApiError(403, NO_ACCESS_TO_MODULE, "ForbiddenRequestException - No access to module: api_standard")
    if sim.access_problem == "startup_guide":
        raise ApiError(403, STARTUP_GUIDE_NOT_COMPLETED, "Error: the startup guide has not been completed")


def thin(sim: EAccountingSim, name: str, record: Record) -> Any:
    """An answer the description types only as `object` (GET /v2/customers/{id}, PUT /v2/orders/{id})."""
    if sim.object_answers == "empty":
        return {}
    if sim.object_answers == "partial":
        return {key: record.get(key) for key in _PARTIAL[name]}
    return record


def _guid(value: str, name: str) -> str:
    if not GUID_RE.match(value):
        raise validation_error(f"The value '{value}' is not valid for {name} (a Guid).")
    return value


class _Routes:
    def __init__(self, app: FastAPI, sim: EAccountingSim) -> None:
        self.app = app
        self.sim = sim
        self.registered: set[tuple[str, str]] = set()

    def add(self, method: str, path: str, handler: Handler) -> None:
        sim = self.sim
        op = sim.spec.operations.get((method, path))
        if op is None:
            raise KeyError(f"{method} {path} is not in the description")
        body_definition = op.body_definition if method in ("POST", "PUT") else None
        route = f"{method} {path}"

        async def endpoint(request: Request) -> Response:
            try:
                fault = sim.take_fault(method, request.url.path)
                if fault is not None:
                    response = fault_response(fault, oauth=False)
                else:
                    grant = sim.oauth.authenticate(request.headers.get("authorization"))
                    check_scopes(grant, op.scopes)
                    check_access(sim)
                    sim.rate.check(grant.client_id, path)
                    body = None
                    if body_definition is not None:
                        raw = await request.body()
                        optional = path.endswith("/convert")
                        if raw.strip() or not optional:
                            body = await read_json_body(request, body_definition)
                    result = handler(request, body)
                    response = Response(status_code=200) if result is EMPTY else json_response(result)
            except ApiError as exc:
                response = error_response(exc)
            sim.count(route, response.status_code)
            return response

        self.app.add_route(path, endpoint, methods=[method], include_in_schema=False)
        self.registered.add((method, path))

    def not_implemented(self) -> None:
        sim = self.sim
        for method, path in sim.spec.operations:
            if (method, path) in self.registered:
                continue
            route = f"{method} {path}"

            async def endpoint(_request: Request, route: str = route) -> Response:
                response = error_response(ApiError(501, 0, f"{route} is not implemented by the simulator."))
                sim.count(route, response.status_code)
                return response

            self.app.add_route(path, endpoint, methods=[method], include_in_schema=False)

    def order(self) -> None:
        """Static segments before parameters (`/accounts/standardaccounts` before `/accounts/{id}`)."""
        routes = self.app.router.routes
        api = [r for r in routes if getattr(r, "path", "").startswith("/v2/")]
        rest = [r for r in routes if not getattr(r, "path", "").startswith("/v2/")]
        api.sort(key=lambda r: [1 if seg.startswith("{") else 0 for seg in getattr(r, "path", "").split("/")])
        routes[:] = rest + api


def add_api_routes(app: FastAPI, sim: EAccountingSim) -> None:
    """Register every implemented `/v2` operation, then 501 stubs for the rest of the description."""
    routes = _Routes(app, sim)

    def query(request: Request) -> ListQuery:
        return sim.parse_list_query(request.query_params)

    def lister(name: str, paginated: bool = True) -> Handler:
        def handle(request: Request, _body: Any) -> Any:
            reserved = domain.reserved_stock(sim) if name == "articles" else None
            return sim.list_page(
                name,
                query(request),
                present=lambda r: domain.present(sim, name, r, reserved),
                paginated=paginated,
            )

        return handle

    def getter(name: str, param: str) -> Handler:
        def handle(request: Request, _body: Any) -> Any:
            ident = request.path_params[param]
            if RESOURCES[name].key == "Id":
                _guid(ident, param)
            return domain.present(sim, name, sim.get(name, ident))

        return handle

    def creator(name: str) -> Handler:
        return lambda _request, body: domain.present(sim, name, domain.create_record(sim, name, body))

    def updater(name: str, param: str) -> Handler:
        def handle(request: Request, body: Any) -> Any:
            ident = _guid(request.path_params[param], param)
            return domain.present(sim, name, domain.update_record(sim, name, ident, body))

        return handle

    def deleter(name: str, param: str, echo: bool = False) -> Handler:
        def handle(request: Request, _body: Any) -> Any:
            record = domain.delete_record(sim, name, _guid(request.path_params[param], param))
            return domain.present(sim, name, record) if echo else EMPTY

        return handle

    crud = [
        ("customers", "customerId", True, True),
        ("articles", "articleId", True, False),
        ("orders", "id", True, True),
        ("projects", "id", True, False),
        ("articlelabels", "articleLabelId", True, True),
    ]

    def object_typed(name: str, handler: Handler) -> Handler:
        return lambda request, body: thin(sim, name, handler(request, body))

    for name, param, writable, deletable in crud:
        routes.add("GET", f"/v2/{name}", lister(name))
        get_one = getter(name, param)
        routes.add("GET", f"/v2/{name}/{{{param}}}", object_typed(name, get_one) if name == "customers" else get_one)
        if writable:
            routes.add("POST", f"/v2/{name}", creator(name))
            put_one = updater(name, param)
            routes.add("PUT", f"/v2/{name}/{{{param}}}", object_typed(name, put_one) if name == "orders" else put_one)
        if deletable:
            routes.add("DELETE", f"/v2/{name}/{{{param}}}", deleter(name, param, echo=name == "articlelabels"))

    read_only = [
        ("termsofpayments", "id"),
        ("deliverymethods", "deliveryMethodId"),
        ("deliveryterms", "deliveryTermId"),
        ("units", "id"),
        ("articleaccountcodings", "articleAccountCodingId"),
        ("fiscalyears", "id"),
        ("countries", "countrycode"),
    ]
    for name, param in read_only:
        routes.add("GET", f"/v2/{name}", lister(name))
        routes.add("GET", f"/v2/{name}/{{{param}}}", getter(name, param))
    routes.add("GET", "/v2/currencies", lister("currencies"))

    # VAT codes: a plain array in the 2018 and 2020 descriptions, paged in the 2024 one (eaccounting-facts.md).
    plain_vatcodes, paged_vatcodes = lister("vatcodes", paginated=False), lister("vatcodes")
    routes.add("GET", "/v2/vatcodes", lambda r, b: (paged_vatcodes if sim.vatcodes_paged else plain_vatcodes)(r, b))
    routes.add("GET", "/v2/vatcodes/{id}", lambda r, _b: [getter("vatcodes", "id")(r, None)])

    # Cost centers and their items.
    routes.add("GET", "/v2/costcenters", lister("costcenters"))
    routes.add("PUT", "/v2/costcenters/{id}", updater("costcenters", "id"))
    routes.add("GET", "/v2/costcenteritems/{itemId}", getter("costcenteritems", "itemId"))
    routes.add("POST", "/v2/costcenteritems", creator("costcenteritems"))
    routes.add("PUT", "/v2/costcenteritems/{costCenterItemId}", updater("costcenteritems", "costCenterItemId"))

    # Invoice drafts and invoices.
    routes.add("GET", "/v2/customerinvoicedrafts", lister("customerinvoicedrafts"))
    routes.add("GET", "/v2/customerinvoicedrafts/{invoiceDraftId}", getter("customerinvoicedrafts", "invoiceDraftId"))
    routes.add("POST", "/v2/customerinvoicedrafts", creator("customerinvoicedrafts"))
    draft = "customerInvoiceDraftId"
    routes.add("PUT", f"/v2/customerinvoicedrafts/{{{draft}}}", updater("customerinvoicedrafts", draft))
    routes.add("DELETE", f"/v2/customerinvoicedrafts/{{{draft}}}", deleter("customerinvoicedrafts", draft))

    def convert(request: Request, body: Any) -> Any:
        if body is not None:
            errors = sim.spec.validate("CustomerInvoiceDraftValidationApi", body)
            if errors:
                raise validation_error(" ".join(e.message for e in errors))
        return domain.convert_draft(sim, _guid(request.path_params[draft], draft))

    routes.add("POST", f"/v2/customerinvoicedrafts/{{{draft}}}/convert", convert)

    def invoices(request: Request, _body: Any) -> Any:
        since = request.query_params.get("modifiedSinceUtc")
        rows: list[Record] = list(sim.table("customerinvoices").values())
        if since is not None:
            if not QUERY_DATETIME_RE.match(since):
                raise validation_error(f"The value '{since}' is not valid for modifiedSinceUtc.")
            cutoff = parse_datetime(since if "T" in since else f"{since}T00:00:00Z").astimezone(UTC)
            rows = [r for r in rows if parse_datetime(r["ModifiedUtc"]) >= cutoff]
        return sim.list_page("customerinvoices", query(request), rows=rows)

    def create_invoice(request: Request, body: Any) -> Any:
        invoice = domain.create_record(sim, "customerinvoices", body)
        return {"Url": f"{str(request.base_url).rstrip('/')}/v2/customerinvoices/{invoice['Id']}/pdf"}

    routes.add("GET", "/v2/customerinvoices", invoices)
    routes.add("GET", "/v2/customerinvoices/{invoiceId}", getter("customerinvoices", "invoiceId"))
    routes.add("POST", "/v2/customerinvoices", create_invoice)

    # Vouchers, per fiscal year.
    def vouchers(request: Request, _body: Any) -> Any:
        year = request.path_params.get("fiscalyearId")
        rows: list[Record] = list(sim.table("vouchers").values())
        if year is not None:
            sim.get("fiscalyears", _guid(year, "fiscalyearId"))
            rows = [v for v in rows if v.get("_FiscalYearId") == year.lower()]
        return sim.list_page(
            "vouchers", query(request), rows=rows, present=lambda r: domain.present(sim, "vouchers", r)
        )

    def voucher(request: Request, _body: Any) -> Any:
        year = _guid(request.path_params["fiscalyearId"], "fiscalyearId").lower()
        found = sim.get("vouchers", _guid(request.path_params["voucherId"], "voucherId"))
        if found.get("_FiscalYearId") != year:
            raise not_found("Voucher", request.path_params["voucherId"])
        return domain.present(sim, "vouchers", found)

    routes.add("GET", "/v2/vouchers", vouchers)
    routes.add("POST", "/v2/vouchers", creator("vouchers"))
    routes.add("GET", "/v2/vouchers/{fiscalyearId}", vouchers)
    routes.add("GET", "/v2/vouchers/{fiscalyearId}/{voucherId}", voucher)

    # Chart of accounts, per fiscal year.
    def accounts(request: Request, _body: Any) -> Any:
        year = request.path_params.get("fiscalyearId")
        rows: list[Record] = list(sim.table("accounts").values())
        if year is not None:
            sim.get("fiscalyears", _guid(year, "fiscalyearId"))
            rows = [a for a in rows if a["FiscalYearId"] == year.lower()]
        return sim.list_page("accounts", query(request), rows=rows)

    def account(request: Request, _body: Any) -> Any:
        year = _guid(request.path_params["fiscalyearId"], "fiscalyearId").lower()
        number = request.path_params["accountNumber"]
        found = sim.find("accounts", f"{year}/{number}")
        if found is None:
            raise ApiError(404, 3002, f"Account {number} does not exist in fiscal year {year}.")
        return found

    routes.add("GET", "/v2/accounts", accounts)
    routes.add("GET", "/v2/accounts/{fiscalyearId}", accounts)
    routes.add("GET", "/v2/accounts/{fiscalyearId}/{accountNumber}", account)

    # Company settings: one object.
    routes.add("GET", "/v2/companysettings", lambda _r, _b: sim.company)
    routes.add("PUT", "/v2/companysettings", lambda _r, body: domain.update_company(sim, body))

    routes.not_implemented()
    routes.order()
