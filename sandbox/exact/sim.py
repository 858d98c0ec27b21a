"""`ExactSim`: the state of one simulated Exact Online host and the controls tests and benchmarks use.

Everything is in memory: divisions with their tables, the OAuth chain, rate-limit buckets, call counters,
injected faults and the webhook queue. The FastAPI app (`create_exact_app`) reads it from
`app.state.sim`; the same controls are served over HTTP under `/_sim/*`.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.exact.clock import SimClock
from sandbox.exact.config import ExactSimConfig
from sandbox.exact.engine import Engine
from sandbox.exact.entities import ENTITIES
from sandbox.exact.errors import ExactApiError, bad_request, not_found
from sandbox.exact.oauth import OAuthState
from sandbox.exact.ratelimit import RateLimiter
from sandbox.exact.store import DivisionState, Record
from sandbox.exact.webhooks import Deliver, Delivery, WebhookFault, WebhookQueue, build_body, http_deliver
from sandbox.exact.wire import AMSTERDAM, dumps

__all__ = ["ExactSim", "Fault"]


@dataclass
class Fault:
    """An injected failure for calls whose resource path and method match (None matches anything).

    `status`: answer with this status (429 comes with real rate-limit headers); `delay`: seconds to wait
    first; `drop`: "before" closes the connection without handling the call, "after" handles it (the
    write happens) and then closes the connection. `times`: how many calls it hits (None = until cleared).
    """

    path: str | None = None
    method: str | None = None
    status: int | None = None
    delay: float = 0.0
    drop: str | None = None
    times: int | None = 1
    message: str = "Service Unavailable"

    def matches(self, resource: str, method: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path.strip("/").lower() == resource.lower()


class ExactSim:
    def __init__(self, config: ExactSimConfig | None = None) -> None:
        self.config = config or ExactSimConfig()
        self.clock = SimClock(self.config.start_time)
        self.rng = random.Random(self.config.random_seed)
        self.user_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.oauth = OAuthState(self.config, self.clock)
        self.rate = RateLimiter(self.clock, self.config.minutely_limit, self.config.daily_limit)
        self.engine = Engine(self.clock, self.rng, self.user_id, self.emit)
        self.webhooks = WebhookQueue(self.config.webhook_max_retries, self.config.webhook_retry_base_seconds)
        self.deliver: Deliver = http_deliver
        self.divisions: dict[int, DivisionState] = {
            division: DivisionState(division) for division in (self.config.division, *self.config.other_divisions)
        }
        self._list_divisions()
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.events = 0
        self.inflight: dict[int, dict[str, Any]] = {}
        self._tickets = itertools.count(1)

    # --- requests in flight (the chaos suite kills the process that sent one) ---------------------------

    def begin_request(self, method: str, template: str, client: tuple[str, int] | None) -> int:
        ticket = next(self._tickets)
        self.inflight[ticket] = {
            "method": method,
            "endpoint": template,
            "client_port": client[1] if client else None,
            "started": time.time(),
        }
        return ticket

    def end_request(self, ticket: int) -> None:
        self.inflight.pop(ticket, None)

    # --- state ----------------------------------------------------------------------------------------

    def division(self, division: int | None = None) -> DivisionState:
        try:
            return self.divisions[self.config.division if division is None else division]
        except KeyError:
            raise ExactApiError(403, "Forbidden - WrongDivision") from None

    def _list_divisions(self) -> None:
        """`system/Divisions` in every division: all divisions of the user, the main one `Current`."""
        spec = ENTITIES["Divisions"]
        codes = sorted(self.divisions)
        for div in self.divisions.values():
            for code in codes:
                record = self.engine.blank(spec)
                main = code == self.config.division
                record.update(
                    {
                        "Code": code,
                        "Description": self.config.division_name if main else f"{self.config.division_name} ({code})",
                        "Current": main,
                        "Status": 1,  # active (0 inactive, 2 archived)
                        "BlockingStatus": 0,
                        "Country": "NL",
                        "Currency": "EUR",
                        "StartDate": self.clock.now(),
                    }
                )
                self.engine.save(div, spec, record, created=True)

    # --- counters -------------------------------------------------------------------------------------

    def count(self, method: str, template: str, status: int) -> None:
        self.calls[f"{method} {template}"] += 1
        self.statuses[status] += 1

    def counters(self) -> dict[str, Any]:
        return {
            "total": sum(self.calls.values()),
            "by_endpoint": dict(sorted(self.calls.items())),
            "by_status": {str(status): n for status, n in sorted(self.statuses.items())},
            # Requests that may change something (any method but GET/HEAD/OPTIONS), the token endpoint left out.
            "writes": sum(
                n
                for route, n in self.calls.items()
                if route.split(" ", 1)[0] not in ("GET", "HEAD", "OPTIONS") and "oauth2/" not in route
            ),
            "rate_limited": self.statuses.get(429, 0),
            "token_refreshes": self.oauth.refreshes,
            "code_exchanges": self.oauth.exchanges,
            "webhooks": {
                "events": self.events,
                "pending": len(self.webhooks.pending),
                "sent": self.webhooks.sent,
                "failed_attempts": self.webhooks.failed_attempts,
                "dropped": self.webhooks.dropped,
                "gave_up": self.webhooks.gave_up,
            },
        }

    def reset_counters(self) -> None:
        self.calls.clear()
        self.statuses.clear()
        self.oauth.refreshes = 0
        self.oauth.exchanges = 0
        self.events = 0

    # --- faults ---------------------------------------------------------------------------------------

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        fault = fault or Fault(**fields)
        if fault.drop not in (None, "before", "after"):
            raise ValueError("drop must be 'before' or 'after'")
        self.faults.append(fault)
        return fault

    def take_fault(self, resource: str, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(resource, method):
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def add_webhook_fault(self, action: str, times: int = 1) -> None:
        if action not in ("drop", "duplicate"):
            raise ValueError("action must be 'drop' or 'duplicate'")
        self.webhooks.faults.append(WebhookFault(action, times))

    def clear_faults(self) -> None:
        self.faults.clear()
        self.webhooks.faults.clear()

    # --- webhooks -------------------------------------------------------------------------------------

    def emit(self, division: int, topic: str, action: str, key: str, resource: str) -> None:
        """Queue one callback per subscription of `topic` in `division`."""
        subscriptions = self.divisions[division].store("WebhookSubscriptions").records.values()
        targets = [s for s in subscriptions if s["Topic"] == topic]
        if not targets:
            return
        if action == "Create":
            action = self.config.webhook_create_action
        if topic == "StockPositions" and self.config.stock_positions_key == "item":
            row = self.divisions[division].store("ItemWarehouses").get(key)
            if row is not None:
                key, resource = str(row["Item"]), f"logistics/Items(guid'{row['Item']}')"
        now = self.clock.now()
        base = self.config.public_base_url.rstrip("/")
        content = {
            "Topic": topic,
            "ClientId": self.config.client_id,
            "Division": division,
            "Action": action,
            "Key": key,
            "ExactOnlineEndpoint": f"{base}/api/v1/{division}/{resource}",
            "EventCreatedOn": now,
        }
        body = build_body(content, self.config.webhook_secret)
        for subscription in targets:
            self.events += 1
            self.webhooks.push(Delivery(subscription["CallbackURL"], body, now, subscription["ID"]))

    async def flush_webhooks(self) -> int:
        """Deliver every due event (retries become due as the sim clock advances). Returns successes."""
        return await self.webhooks.flush(self.deliver, self.clock.now())

    async def validate_callback(self, url: str) -> None:
        """Reference §8.1: an empty POST right after subscribing; anything but 2xx fails the subscription."""
        try:
            status = await self.deliver(url, b"", {"Content-Type": "application/json"})
        except Exception as exc:
            raise ExactApiError(500, f"Invalid: Post to callback URL endpoint failed ({type(exc).__name__})") from None
        if not 200 <= status < 300:
            raise ExactApiError(500, f"Invalid: Post to callback URL endpoint returns {status}")

    # --- controls acting like a user in Exact's UI ----------------------------------------------------

    def item_by_code(self, code: str, division: int | None = None) -> Record:
        item = self.division(division).store("Items").by_code_get(code)
        if item is None:
            raise not_found(f"Item '{code}' does not exist")
        return item

    def set_stock(
        self,
        item_code: str,
        quantity: Decimal | int | str,
        warehouse_code: str | None = None,
        division: int | None = None,
    ) -> Record:
        """Set an item's current stock in a warehouse (a stock count); bumps Timestamps, emits StockPositions."""
        div = self.division(division)
        item = self.item_by_code(item_code, division)
        if not item.get("IsStockItem"):
            raise bad_request(f"Item '{item_code}' is not a stock item")
        warehouse_id = None
        if warehouse_code is not None:
            warehouse = div.store("Warehouses").by_code_get(warehouse_code)
            if warehouse is None:
                raise bad_request(f"Warehouse '{warehouse_code}' does not exist")
            warehouse_id = warehouse["ID"]
        row = self.engine.adjust_stock(div, item["ID"], warehouse_id, set_current=Decimal(str(quantity)))
        assert row is not None
        return row

    def upsert_item(self, code: str, fields: dict[str, Any], division: int | None = None) -> Record:
        """Create or change an item by code; `fields` use API property names and wire values."""
        div = self.division(division)
        spec = ENTITIES["Items"]
        existing = div.store("Items").by_code_get(code)
        if existing is None:
            return self.engine.create(div, spec, {"Code": code, **fields})
        return self.engine.update(div, spec, existing["ID"], fields)

    def upsert_account(self, fields: dict[str, Any], key: str | None = None, division: int | None = None) -> Record:
        div = self.division(division)
        spec = ENTITIES["Accounts"]
        if key is None:
            return self.engine.create(div, spec, fields)
        return self.engine.update(div, spec, key, fields)

    def deliver_order(
        self,
        order: int | str,
        *,
        quantities: dict[str, Decimal | int] | None = None,
        tracking_number: str | None = None,
        shipping_method: str | None = None,
        division: int | None = None,
    ) -> Record:
        """Ship a sales order (by number or OrderID) like a warehouse user: a GoodsDelivery with lines.

        `quantities` maps item code → quantity (default: everything still open). `shipping_method` is a code.
        """
        div = self.division(division)
        orders = div.store("SalesOrders").records
        if isinstance(order, int):
            found = next((o for o in orders.values() if o["OrderNumber"] == order), None)
        else:
            found = orders.get(order)
        if found is None:
            raise not_found(f"Sales order {order} does not exist")
        lines = []
        for line in self.engine.order_lines(div, found["OrderID"]):
            open_qty = line["Quantity"] - (line["QuantityDelivered"] or 0)
            qty = open_qty if quantities is None else Decimal(str(quantities.get(line["ItemCode"], 0)))
            if qty > 0:
                lines.append({"SalesOrderLineID": line["ID"], "QuantityDelivered": str(qty)})
        if not lines:
            raise bad_request(f"Sales order {found['OrderNumber']} has nothing left to deliver")
        body: dict[str, Any] = {
            # A naive body datetime is Amsterdam wall-clock time, as in Exact's UI.
            "DeliveryDate": self.clock.now().astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%S"),
            "GoodsDeliveryLines": lines,
        }
        if tracking_number is not None:
            body["TrackingNumber"] = tracking_number
        if shipping_method is not None:
            method = div.store("ShippingMethods").by_code_get(shipping_method)
            if method is None:
                raise bad_request(f"Shipping method '{shipping_method}' does not exist")
            body["ShippingMethod"] = method["ID"]
        return self.engine.create(div, ENTITIES["GoodsDeliveries"], body)

    def issue_tokens(self) -> dict[str, str]:
        """A fresh token pair without the browser flow (tests, benchmarks)."""
        return self.oauth.issue_for_tests()

    def expire_refresh_tokens(self) -> int:
        return self.oauth.expire_refresh_tokens()

    def snapshot(self, entity: str, division: int | None = None) -> str:
        """All records of an entity as wire JSON (debugging aid)."""
        return dumps(list(self.division(division).store(entity).records.values()))
