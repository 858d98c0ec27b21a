"""A transport in front of a simulator that keeps every request (with its body), for tests that count calls."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards to `inner` (a simulator's ASGI app) and keeps every request that went through."""

    inner: httpx.AsyncBaseTransport
    requests: list[httpx.Request] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)
