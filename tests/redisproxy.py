"""A TCP proxy in front of Redis that counts round trips (used by tests and bench/bench_webhooks.py).

A round trip is a burst of bytes from the client after Redis last answered (or on a fresh connection): a command, a
pipeline or a script is one, however many commands it carries.
"""

from __future__ import annotations

import asyncio
import contextlib


class RoundTripProxy:
    """A TCP proxy in front of Redis counting round trips: client bytes that follow an answer (or open a turn)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.trips = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(self.host, self.port)
        turn = {"client": False}

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if not turn["client"]:
                    self.trips += 1
                    turn["client"] = True
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downstream() -> None:
            while data := await server_r.read(65536):
                turn["client"] = False
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(upstream(), downstream())

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
