"""Console sign-in sessions and CSRF tokens.

The admin token is exchanged once for a session cookie; the JSON API keeps bearer tokens. Why server-side sessions
in Redis rather than a signed cookie: signing out (or an expiry) must end the session for good, also for a copied
cookie, and a signed cookie stays valid until it expires. Every API and worker process already shares the Redis.

Invariants:
- The cookie holds 32 random bytes; Redis holds only their SHA-256 (a Redis dump gives no live session).
- A session ends `IDLE_SECONDS` after its last request, and `MAX_SECONDS` after sign-in whatever happens; both are
  checked against the injected clock on every read, Redis' TTL only cleans up.
- Each session has its own CSRF token (synchronizer token): every form carries it in a hidden field, script sends
  it as `X-CSRF-Token`; a POST without the session's token is refused (`app/console/forms.py`). The sign-in form,
  which has no session yet, uses a double-submit cookie instead.
- The cookie is HttpOnly, SameSite=Strict, Path=/, expires with the session, and Secure whenever the request came
  over HTTPS (behind a proxy: uvicorn's `proxy_headers`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis

from connectors.keys import Keys

SESSION_COOKIE = "lb_session"
SIGNIN_COOKIE = "lb_signin"
IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600
_TOUCH_EVERY = 60.0  # write `seen_at` back at most once a minute


@dataclass(slots=True)
class Session:
    """One signed-in browser. `flash` holds messages for the next page (post/redirect/get)."""

    csrf: str
    created_at: float
    seen_at: float
    link: str = "default"
    flash: list[dict[str, str]] = field(default_factory=list)


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class SessionStore:
    """Create, read, update and end sessions (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        clock: Callable[[], float] = time.time,
        idle_seconds: float = IDLE_SECONDS,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds

    def _key(self, cookie: str) -> str:
        return self._keys.console_session(_digest(cookie))

    async def create(self) -> tuple[str, Session]:
        """A new session: (the cookie value, the session)."""
        cookie = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(csrf=secrets.token_urlsafe(32), created_at=now, seen_at=now)
        await self._write(cookie, session)
        return cookie, session

    async def load(self, cookie: str | None) -> tuple[Session | None, bool]:
        """(the session, or None; whether it existed and has expired)."""
        if not cookie or len(cookie) > 200:
            return None, False
        raw = await self._redis.get(self._key(cookie))
        if raw is None:
            return None, False
        session = Session(**json.loads(raw))
        now = self.clock()
        if now - session.seen_at > self.idle_seconds or now - session.created_at > self.max_seconds:
            await self.end(cookie)
            return None, True
        if now - session.seen_at >= _TOUCH_EVERY:
            session.seen_at = now
            await self._write(cookie, session)
        return session, False

    async def save(self, cookie: str, session: Session) -> None:
        await self._write(cookie, session)

    async def end(self, cookie: str) -> None:
        await self._redis.delete(self._key(cookie))

    def expires_in(self, session: Session) -> float:
        """Seconds the cookie should live: until the session's absolute end."""
        return max(1.0, session.created_at + self.max_seconds - self.clock())

    async def _write(self, cookie: str, session: Session) -> None:
        ttl = max(1, int(session.created_at + self.max_seconds - self.clock()) + 60)
        await self._redis.set(self._key(cookie), json.dumps(asdict(session)), ex=ttl)
