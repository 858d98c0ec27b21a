"""The Redis client every process uses: arq's own keys moved under our prefix.

arq (0.26-0.28) names its keys with module constants: `arq:job:{id}` (a queued job), `arq:in-progress:{id}`,
`arq:retry:{id}`, `arq:result:{id}` and the set `arq:abort`, whatever the queue name. Two installations (or a demo
and the tests) on one Redis would share them, and `REDIS__KEY_PREFIX` would not cover every key we write. Patching
arq's constants would change every arq user in the process and depends on how arq imports them; instead this
client rewrites, on its way to Redis, every command argument that starts with one of those prefixes to
`{prefix}:arq:...` (`Keys.arq`). arq reads back through the same client, so it finds what it wrote. No value arq
stores starts with `arq:` (job ids are ours, `{prefix}:l:...`, or its cron ids `cron:...`; payloads are pickles),
so only keys are rewritten. The queue itself is `REDIS__QUEUE_NAME` (default `{prefix}:queue`) and arq's health
key is the queue name plus `:health-check`.

Every `ArqRedis` of the service (API, workers, CLI, demo, tests) comes from `connect_redis`; the workers get theirs
through `redis_pool=` (app/worker.py), so arq never opens a client of its own.
"""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import Pipeline

from app.settings import Settings
from connectors.keys import ARQ_KEY_PREFIXES, Keys

_PREFIXES = tuple(p.encode() for p in ARQ_KEY_PREFIXES)


def _rewriter(keys: Keys) -> Any:
    def rewrite(args: tuple[Any, ...]) -> tuple[Any, ...]:
        out = []
        for arg in args:
            if isinstance(arg, str) and arg.startswith(ARQ_KEY_PREFIXES):
                arg = keys.arq(arg)
            elif isinstance(arg, bytes) and arg.startswith(_PREFIXES):
                arg = keys.arq(arg.decode()).encode()
            out.append(arg)
        return tuple(out)

    return rewrite


class _NamespacedPipeline(Pipeline):
    def __init__(self, *args: Any, rewrite: Any) -> None:
        super().__init__(*args)
        self._rewrite = rewrite

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return super().execute_command(*self._rewrite(args), **kwargs)


class NamespacedArqRedis(ArqRedis):
    """An `ArqRedis` whose arq keys live under the installation's prefix (see the module docstring)."""

    def __init__(self, *args: Any, keys: Keys, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rewrite = _rewriter(keys)

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        return await super().execute_command(*self._rewrite(args), **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return _NamespacedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint, rewrite=self._rewrite
        )


def connect_redis(settings: Settings) -> ArqRedis:
    """A lazily connecting arq/Redis client on the configured URL, with bounded socket timeouts."""
    pool = ConnectionPool.from_url(settings.redis.url, socket_connect_timeout=2, socket_timeout=10)
    return NamespacedArqRedis(
        connection_pool=pool, default_queue_name=settings.redis.queue_name, keys=Keys.of(settings)
    )


def pack(*args: str | bytes | int) -> bytes:
    """One command in the Redis protocol (RESP), from arguments that are already what Redis should get: keys under
    the installation's prefix (`Keys`), so nothing is rewritten on the way.

    The webhook path packs its one script call per batch with this rather than through redis-py's `pack_command`
    (an encoder call and its type checks per argument) and `NamespacedArqRedis`'s rewrite (a prefix test per
    argument): with a few hundred arguments per call, together most of the client's CPU time per event.
    """
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int) and not isinstance(arg, bool):
            data = b"%d" % arg
        else:  # bool, float, bytearray, ...: what Redis would get is not obvious, so it is refused
            raise TypeError(f"pack takes str, bytes and int arguments, not {type(arg).__name__}")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


async def execute_packed(redis: Redis, packed: bytes) -> Any:
    """Send one command packed by `pack` on a connection of `redis`'s pool and read its answer (an error reply is
    raised as redis-py raises it, e.g. NoScriptError). Connection errors and timeouts propagate as redis-py's own
    (the connection is dropped, as `execute_command` does), so callers handle them alike."""
    pool = redis.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_packed_command(packed, check_health=False)
        return await connection.read_response()
    finally:
        await pool.release(connection)
