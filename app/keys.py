"""Redis key names in one place, all under the configured prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    @property
    def worker_heartbeat(self) -> str:
        return f"{self.prefix}:worker:heartbeat"

    def token(self, system: str, connection: str = "default") -> str:
        return f"{self.prefix}:oauth:{system}:{connection}:token"

    def token_lock(self, system: str, connection: str = "default") -> str:
        return f"{self.prefix}:oauth:{system}:{connection}:lock"

    def ratelimit(self, system: str, scope: str) -> str:
        return f"{self.prefix}:ratelimit:{system}:{scope}"
