"""Settings of one simulator instance; the defaults are the real API's documented behaviour.

Where the documentation is silent the default is the stricter choice (see docs/eaccounting-api.md):
one-time refresh tokens with no grace period, no `Retry-After` on 429, the rate limit counted per client
and endpoint template.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EAccountingSimConfig"]


class EAccountingSimConfig(BaseModel):
    """How the simulated Visma Connect + eAccounting API v2 behaves."""

    model_config = ConfigDict(frozen=True)

    client_id: str = "ledgerbridge-demo"
    client_secret: str = "demo-eaccounting-client-secret"
    redirect_uri: str | None = Field(default=None, description="Registered redirect URI; None accepts any")
    access_token_ttl_seconds: int = Field(default=3600, ge=1, description="Visma Connect access tokens: 1 hour")
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=1, description="(?) not documented")
    refresh_token_grace_seconds: int = Field(default=0, ge=0, description="Visma Connect allows 5-60 s if set")
    authorization_code_ttl_seconds: int = Field(default=300, ge=1)
    rate_limit_per_minute: int | None = Field(default=600, ge=1, description="None disables the limit")
    send_retry_after: bool = Field(default=False, description="The documented 429 has no Retry-After header")
    default_page_size: int = Field(default=50, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    seed: bool = True
    start_time: datetime | None = Field(default=None, description="Freeze the clock here (tests); None = wall clock")
