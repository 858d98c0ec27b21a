"""Failure alerts to a Slack/Teams incoming webhook, rate-limited across processes, with a digest for the rest.

Why a gate in Redis: the API and several workers may all fail at once (e.g. a revoked connection), and the chat
channel must get one message per interval, not thousands. The first process to `SET gate NX EX interval` sends;
everyone else appends to a pending list. The next allowed send (a new alert or `flush_digest`, which the worker
calls periodically) carries the pending ones as one digest: "N more alerts: ...", grouped by kind.

The webhook URL itself is a secret (Slack and Teams embed the token in it): it is never logged, and where an
alert's text or details contain it (an error message quoting it), it is masked before logging and sending.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from redis.asyncio import Redis

from app.logging import redact, scrub_text
from connectors.keys import Keys

log = structlog.get_logger(__name__)

# Most pending alerts kept for the digest text; the count covers all of them.
_PENDING_KEEP = 500
_EXAMPLES_PER_KIND = 3
_PENDING_TTL_SECONDS = 7 * 86400
MASK = "**********"


def mask_alert_url(url: str | None) -> str | None:
    """`https://hooks.slack.com/services/T0/B0/token` -> `https://hooks.slack.com/**********`: the host shows where
    alerts go; the path and query (where Slack and Teams put the token) and any user info are hidden."""
    if not url:
        return None
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{MASK}"


def _secret_parts(url: str) -> list[str]:
    """What of `url` must not appear in text: the URL, and its path and query (the token) on their own."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return [url] + ([tail] if len(tail) > 1 else [])


def _hide(value: Any, secrets: list[str], masked: str, depth: int = 0) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, masked if secret.startswith(("http://", "https://")) else f"/{MASK}")
        return value
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {k: _hide(v, secrets, masked, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hide(v, secrets, masked, depth + 1) for v in value]
    return value


class Alerter:
    """Send alerts; see the module docstring for the rate limit.

    :param url: incoming-webhook URL; None: alerts are only logged.
    :param clock: seconds since the epoch, for the `at` field (the gate itself uses Redis expiry).
    """

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        http: httpx.AsyncClient,
        url: str | None,
        min_interval_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.http = http
        self.url = url
        self.min_interval_seconds = max(1, int(min_interval_seconds))
        self.clock = clock

    @property
    def _gate(self) -> str:
        return self.keys.alerts("gate")

    @property
    def _pending(self) -> str:
        return self.keys.alerts("pending")

    @property
    def _pending_count(self) -> str:
        return self.keys.alerts("pending_count")

    async def alert(self, kind: str, message: str, **details: Any) -> None:
        """Log the alert and deliver it (now, or in the next digest). Never raises."""
        message = self._hide_url(scrub_text(message))
        safe_details: dict[str, Any] = self._hide_url(redact(details))
        log.warning("alert", kind=kind, alert_message=message, details=safe_details)
        if not self.url:
            return
        item = {"kind": kind, "message": message, "details": safe_details, "at": self.clock()}
        try:
            if await self._acquire_gate():
                pending, total = await self._drain()
                await self._send(self._body(item, pending, total), item, pending, total)
            else:
                await self._enqueue(item)
        except Exception as exc:  # Redis down etc.: an alert must never break the caller
            log.warning("alert.failed", kind=kind, error_type=type(exc).__name__)

    async def flush_digest(self) -> bool:
        """Send the pending digest when the interval has passed; True when something was sent."""
        if not self.url:
            return False
        try:
            if not int(await self.redis.llen(self._pending)):  # type: ignore[misc]  # redis-py union type
                return False
            if not await self._acquire_gate():
                return False
            pending, total = await self._drain()
            if not pending:  # another process sent them meanwhile: give the slot back
                await self.redis.delete(self._gate)
                return False
            return await self._send(self._body(None, pending, total), None, pending, total)
        except Exception as exc:
            log.warning("alert.flush_failed", error_type=type(exc).__name__)
            return False

    def _hide_url(self, value: Any) -> Any:
        """`value` with this alerter's own URL (the secret) masked wherever it is quoted."""
        if not self.url:
            return value
        return _hide(value, _secret_parts(self.url), mask_alert_url(self.url) or MASK)

    async def _acquire_gate(self) -> bool:
        return bool(await self.redis.set(self._gate, "1", nx=True, ex=self.min_interval_seconds))

    async def _enqueue(self, item: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._pending, json.dumps(item, default=str))
            pipe.ltrim(self._pending, -_PENDING_KEEP, -1)
            pipe.incr(self._pending_count)
            pipe.expire(self._pending, _PENDING_TTL_SECONDS)
            pipe.expire(self._pending_count, _PENDING_TTL_SECONDS)
            await pipe.execute()

    async def _drain(self) -> tuple[list[dict[str, Any]], int]:
        """Take all pending alerts atomically: (the kept items, how many arrived in total)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(self._pending, 0, -1)
            pipe.getdel(self._pending_count)
            pipe.delete(self._pending)
            raw_items, raw_count, _ = await pipe.execute()
        items = [json.loads(r) for r in raw_items]
        total = max(int(raw_count or 0), len(items))
        return items, total

    async def _requeue(self, items: list[dict[str, Any]], total: int) -> None:
        """Delivery failed: put the alerts back so the next send carries them."""
        if not items:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._pending, *[json.dumps(i, default=str) for i in reversed(items)])
            pipe.ltrim(self._pending, 0, _PENDING_KEEP - 1)
            pipe.incrby(self._pending_count, total)
            pipe.expire(self._pending, _PENDING_TTL_SECONDS)
            pipe.expire(self._pending_count, _PENDING_TTL_SECONDS)
            await pipe.execute()

    @staticmethod
    def _digest_text(pending: list[dict[str, Any]], total: int) -> str:
        by_kind = Counter(str(i["kind"]) for i in pending)
        parts = []
        for kind, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
            examples = [str(i["message"]) for i in pending if i["kind"] == kind][:_EXAMPLES_PER_KIND]
            more = f", +{n - len(examples)} more" if n > len(examples) else ""
            parts.append(f"{kind} ×{n} ({'; '.join(examples)}{more})")
        dropped = total - len(pending)
        tail = f"; {dropped} older ones not kept" if dropped > 0 else ""
        return f"{total} more alerts: " + ", ".join(parts) + tail

    def _body(self, item: dict[str, Any] | None, pending: list[dict[str, Any]], total: int) -> dict[str, Any]:
        """`text` is what Slack and Teams show; the other fields are for machines (both ignore them)."""
        lines = []
        if item is not None:
            lines.append(f"[ledgerbridge] {item['kind']}: {item['message']}")
        if pending:
            lines.append(("[ledgerbridge] " if item is None else "") + self._digest_text(pending, total))
        body: dict[str, Any] = {"text": "\n".join(lines), "source": "ledgerbridge"}
        if item is not None:
            body.update(kind=item["kind"], message=item["message"], details=item["details"])
        if pending:
            body["digest"] = {
                "count": total,
                "by_kind": dict(Counter(str(i["kind"]) for i in pending)),
                "alerts": [{"kind": i["kind"], "message": i["message"]} for i in pending],
            }
        result: dict[str, Any] = redact(body)
        return result

    async def _send(
        self, body: dict[str, Any], item: dict[str, Any] | None, pending: list[dict[str, Any]], total: int
    ) -> bool:
        assert self.url is not None
        try:
            response = await self.http.post(self.url, json=body, timeout=10.0)
        except httpx.HTTPError as exc:
            log.warning("alert.delivery_failed", error_type=type(exc).__name__)
        else:
            if response.is_success:
                log.info("alert.sent", digest=total)
                return True
            log.warning("alert.delivery_failed", status=response.status_code)
        await self._requeue(pending + ([item] if item is not None else []), total + (1 if item else 0))
        return False
