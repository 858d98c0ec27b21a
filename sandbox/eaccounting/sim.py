"""`EAccountingSim`: the in-memory company behind the simulated API, and its control surface.

Tests, the demo and the benchmarks drive it through HTTP (`/_sim/*`) or directly through the same methods
(`advance_clock`, `add_fault`, `create_order`, `expire_refresh_tokens`, `counters`, ...).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .config import EAccountingSimConfig
from .errors import not_found, validation_error
from .odata import compile_filter, compile_orderby, sort_rows
from .resources import RESOURCES, Resource
from .spec import Spec, load_spec
from .state import Counters, Fault, OAuthState, RateLimiter, SimClock

__all__ = ["STOCK_MODULE", "EAccountingSim", "ListQuery", "iso_utc"]

Record = dict[str, Any]

STOCK_MODULE = "stock"  # the module's name in `ActivatedModules` (?: undocumented)
# Fields the API keeps unique per company; indexed so a 10,000-article company stays O(1) per write.
UNIQUE_FIELDS = {"articles": "Number", "customers": "CustomerNumber", "projects": "Number", "articlelabels": "Name"}


def iso_utc(moment: datetime) -> str:
    """The API's UTC timestamp format, millisecond precision: `2026-11-24T08:35:54.123Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_date(moment: datetime) -> str:
    """A date-only value as the API returns it (midnight, no offset)."""
    return moment.strftime("%Y-%m-%dT00:00:00")


@dataclass(frozen=True)
class ListQuery:
    """Validated OData options of a list request."""

    page: int = 1
    page_size: int = 50
    filter: str | None = None
    orderby: str | None = None
    select: tuple[str, ...] = ()


class EAccountingSim:
    """One simulated eAccounting company plus its Visma Connect identity server."""

    def __init__(self, config: EAccountingSimConfig | None = None, spec: Spec | None = None) -> None:
        self.config = config or EAccountingSimConfig()
        self.spec = spec or load_spec()
        self.clock = SimClock(self.config.start_time)
        self.oauth = OAuthState(
            clock=self.clock,
            access_ttl=self.config.access_token_ttl_seconds,
            refresh_ttl=self.config.refresh_token_ttl_seconds,
            refresh_grace=self.config.refresh_token_grace_seconds,
            code_ttl=self.config.authorization_code_ttl_seconds,
        )
        self.rate = RateLimiter(self.clock, self.config.rate_limit_per_minute, self.config.send_retry_after)
        self.faults: list[Fault] = []
        self._counters = Counters()
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in RESOURCES}
        self.company: Record = {}
        self.sequences: dict[str, int] = {"order": 1000, "customer": 1000, "invoice": 10000, "voucher": 0}
        self.id_factory: Callable[[str], str] | None = None
        self._unique: dict[str, dict[Any, str]] = {name: {} for name in UNIQUE_FIELDS}
        # Company set-up the control surface may change at run time (`/_sim/settings`).
        self.stock_module = self.config.stock_module
        self.object_answers = self.config.object_answers
        self.vatcodes_paged = self.config.vatcodes_paged
        self.access_problem = self.config.access_problem

    def set_stock_module(self, active: bool) -> None:
        """Switch the company's stock module; `ActivatedModules` lists it (as `stock`, the name is undocumented)."""
        self.stock_module = active
        modules = [m for m in self.company.get("ActivatedModules") or [] if m != STOCK_MODULE]
        self.company["ActivatedModules"] = [*modules, STOCK_MODULE] if active else modules

    # -- clock, faults, counters, tokens -------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance_clock(self, seconds: float) -> datetime:
        """Move simulated time forward (token expiry, rate windows, `ModifiedUtc` cursors)."""
        return self.clock.advance(seconds)

    def add_fault(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first active fault matching this request, consuming one of its `times`."""
        for fault in self.faults:
            if not fault.matches(method, path):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            fault.hits += 1
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    def counters(self) -> dict[str, Any]:
        return self._counters.snapshot()

    def count(self, route: str, status: int) -> None:
        self._counters.count(route, status)

    def reset_counters(self) -> None:
        self._counters.reset()

    def issue_tokens(self, scopes: Iterable[str] = ("ea:api", "ea:sales", "ea:accounting", "offline_access")) -> Record:
        """A token response without the browser dance (tests and tools); same rules as `/connect/token`."""
        return self.oauth.issue(self.config.client_id, frozenset(scopes))

    def expire_refresh_tokens(self, token: str | None = None) -> int:
        return self.oauth.expire_refresh_tokens(token)

    # -- storage -------------------------------------------------------------------------------------

    def table(self, name: str) -> dict[str, Record]:
        return self.tables[name]

    def blank(self, resource: Resource) -> Record:
        """A record with every property of the definition present and null, as the API returns them."""
        return dict.fromkeys(self.spec.properties(resource.definition))

    def get(self, name: str, ident: str) -> Record:
        resource = RESOURCES[name]
        record = self.tables[name].get(ident.lower() if resource.key == "Id" else ident)
        if record is None:
            raise not_found(resource.label, ident)
        return record

    def find(self, name: str, ident: Any) -> Record | None:
        if not isinstance(ident, str):
            return None
        return self.tables[name].get(ident.lower() if RESOURCES[name].key == "Id" else ident)

    def put(self, name: str, record: Record, *, touch: bool = True, key: str | None = None) -> Record:
        """Store a record, assigning an Id and moving its change timestamp."""
        resource = RESOURCES[name]
        if resource.key == "Id" and not record.get("Id"):
            record["Id"] = self.id_factory(name) if self.id_factory else str(uuid.uuid4())
        if touch and resource.changed_field:
            record[resource.changed_field] = iso_utc(self.now())
        if resource.created_field and not record.get(resource.created_field):
            record[resource.created_field] = iso_utc(self.now())
        ident = key or str(record[resource.key])
        ident = ident.lower() if resource.key == "Id" else ident
        field = UNIQUE_FIELDS.get(name)
        if field is not None:
            index = self._unique[name]
            old = self.tables[name].get(ident)
            if old is not None and index.get(old.get(field)) == ident:
                del index[old.get(field)]
            index[record.get(field)] = ident
        self.tables[name][ident] = record
        return record

    def remove(self, name: str, ident: str) -> Record:
        """Delete a record (and its unique-index entry)."""
        resource = RESOURCES[name]
        key = ident.lower() if resource.key == "Id" else ident
        record = self.tables[name].pop(key)
        field = UNIQUE_FIELDS.get(name)
        if field is not None and self._unique[name].get(record.get(field)) == key:
            del self._unique[name][record.get(field)]
        return record

    def by_unique(self, name: str, value: Any) -> Record | None:
        """The record whose unique field (article Number, CustomerNumber, ...) equals `value`."""
        ident = self._unique[name].get(value)
        return self.tables[name].get(ident) if ident is not None else None

    def next_number(self, sequence: str) -> int:
        self.sequences[sequence] += 1
        return self.sequences[sequence]

    # -- reading -------------------------------------------------------------------------------------

    def list_page(
        self,
        name: str,
        query: ListQuery,
        rows: Iterable[Record] | None = None,
        present: Callable[[Mapping[str, Any]], Record] | None = None,
        paginated: bool = True,
    ) -> Any:
        """Filter, order and page a collection; `{"Meta", "Data"}` or a plain list."""
        resource = RESOURCES[name]
        props = self.spec.properties(resource.definition)
        selected: list[Mapping[str, Any]] = list(self.tables[name].values() if rows is None else rows)
        if present is not None and (query.filter or query.orderby):
            selected = [present(r) for r in selected]
            present = None
        if query.filter:
            predicate = compile_filter(query.filter, props, resource.definition)
            selected = [r for r in selected if predicate(r)]
        if query.orderby:
            selected = sort_rows(selected, compile_orderby(query.orderby, props, resource.definition))
        total = len(selected)
        if paginated:
            start = (query.page - 1) * query.page_size
            selected = selected[start : start + query.page_size]
        data = [present(r) if present is not None else r for r in selected]
        if query.select:
            unknown = [f for f in query.select if f not in props]
            if unknown:
                raise validation_error(
                    f"Could not find a property named '{unknown[0]}' on type '{resource.definition}'."
                )
            data = [{f: r.get(f) for f in query.select} for r in data]
        if not paginated:
            return data
        return {
            "Meta": {
                "CurrentPage": query.page,
                "PageSize": query.page_size,
                "TotalNumberOfPages": math.ceil(total / query.page_size),
                "TotalNumberOfResults": total,
                "ServerTimeUtc": iso_utc(self.now()),
            },
            "Data": data,
        }

    def parse_list_query(self, params: Mapping[str, str]) -> ListQuery:
        """Validate `$page`, `$pagesize`, `$filter`, `$orderby`, `$select`; other `$` options are refused."""
        allowed = {"$page", "$pagesize", "$filter", "$orderby", "$select"}
        for key in params:
            if key.startswith("$") and key not in allowed:
                raise validation_error(f"The query parameter '{key}' is not supported.")
        page = _int_param(params, "$page", 1)
        size = _int_param(params, "$pagesize", self.config.default_page_size)
        if page < 1:
            raise validation_error("The value of $page must be 1 or greater.")
        if not 1 <= size <= self.config.max_page_size:
            raise validation_error(f"The value of $pagesize must be between 1 and {self.config.max_page_size}.")
        select = tuple(s.strip() for s in params["$select"].split(",") if s.strip()) if "$select" in params else ()
        return ListQuery(page, size, params.get("$filter"), params.get("$orderby"), select)

    # -- shop-side helpers ---------------------------------------------------------------------------

    def create_order(
        self,
        customer_number: str,
        rows: Iterable[tuple[str, Decimal | int | str]] | Iterable[Mapping[str, Any]],
        *,
        status: int = 2,
        currency_code: str | None = None,
        your_reference: str | None = None,
        shipping_amount: Decimal | None = None,
        order_date: str | None = None,
        roundings_amount: Decimal | None = None,
        eu_third_party: bool = False,
    ) -> Record:
        """Create an order as a web shop or a clerk would, through the API's own validation."""
        from .domain import shop_order

        return shop_order(
            self,
            customer_number,
            rows,
            status=status,
            currency_code=currency_code,
            your_reference=your_reference,
            shipping_amount=shipping_amount,
            order_date=order_date,
            roundings_amount=roundings_amount,
            eu_third_party=eu_third_party,
        )


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation_error(f"The value '{raw}' is not valid for {name}.") from None
