"""Webhook events: the exact callback body, its `HashCode`, the queue, retries and delivery faults.

Reference §8.3: the body is `{"Content":{…},"HashCode":"…"}` where HashCode is HMAC-SHA256 over the raw
text of the Content object (braces included), keyed with the app's webhook secret, as UPPERCASE hex. The
Content text is written the way .NET writes it, `"\\/Date(ms)\\/"` included, so a receiver that re-serialises
parsed JSON computes a different hash, exactly the pitfall of §11.9.

Reference §8.4: delivery is asynchronous; on a non-2xx answer Exact retries (reportedly 10 times, 2^n
minutes apart (?)) and then drops the event. Here events wait in a queue until `flush()`; retries are due
on the simulator clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog

from sandbox.exact.wire import dumps

__all__ = ["Deliver", "Delivery", "WebhookFault", "WebhookQueue", "build_body", "http_deliver", "sign"]

logger = structlog.get_logger(__name__)

Deliver = Callable[[str, bytes, Mapping[str, str]], Awaitable[int]]
"""`await deliver(url, body, headers)` → HTTP status; raising counts as a failed attempt."""


def sign(content_text: str, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), content_text.encode("utf-8"), hashlib.sha256).hexdigest().upper()


def build_body(content: Mapping[str, object], secret: str) -> bytes:
    content_text = dumps(dict(content))
    return ('{"Content":' + content_text + ',"HashCode":"' + sign(content_text, secret) + '"}').encode("utf-8")


async def http_deliver(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """The default sender: one short-lived httpx client per POST (deliveries are rare)."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(url, content=body, headers=dict(headers))
        return response.status_code


@dataclass
class Delivery:
    url: str
    body: bytes
    due: datetime
    subscription: str
    attempts: int = 0


@dataclass
class WebhookFault:
    action: str  # drop | duplicate
    times: int


@dataclass
class WebhookQueue:
    max_retries: int
    retry_base_seconds: float = 60.0  # a failed delivery is due again retry_base * 2^attempts later
    pending: list[Delivery] = field(default_factory=list)
    faults: list[WebhookFault] = field(default_factory=list)
    sent: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    gave_up: int = 0

    def push(self, delivery: Delivery) -> None:
        self.pending.append(delivery)

    def _take_fault(self) -> str | None:
        for fault in self.faults:
            if fault.times > 0:
                fault.times -= 1
                action = fault.action
                self.faults = [f for f in self.faults if f.times > 0]
                return action
        return None

    async def flush(self, deliver: Deliver, now: datetime) -> int:
        """Send every due delivery once; failed ones are rescheduled 2^n minutes later. Returns successes."""
        due = [d for d in self.pending if d.due <= now]
        if not due:
            return 0
        self.pending = [d for d in self.pending if d.due > now]
        ok = 0
        headers = {"Content-Type": "application/json"}
        for delivery in due:
            fault = self._take_fault()
            if fault == "drop":
                self.dropped += 1
                continue
            copies = 2 if fault == "duplicate" else 1
            for _ in range(copies):
                try:
                    status = await deliver(delivery.url, delivery.body, headers)
                except Exception as exc:
                    logger.info("exact_sim.webhook_failed", url=delivery.url, error=type(exc).__name__)
                    status = 0
                if 200 <= status < 300:
                    self.sent += 1
                    ok += 1
                    continue
                self.failed_attempts += 1
                delivery.attempts += 1
                if delivery.attempts > self.max_retries:
                    self.gave_up += 1
                else:
                    delivery.due = now + timedelta(seconds=self.retry_base_seconds * 2**delivery.attempts)
                    self.pending.append(delivery)
                break
        return ok
