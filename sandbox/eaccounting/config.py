"""Settings of one simulator instance; the defaults are the real API's documented behaviour.

Where the documentation is silent the default is the stricter choice (see docs/eaccounting-api.md):
one-time refresh tokens with no grace period, no `Retry-After` on 429, the rate limit counted per client
and endpoint template.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccessProblem", "EAccountingSimConfig", "ObjectAnswers"]

ObjectAnswers = Literal["full", "partial", "empty"]
AccessProblem = Literal["api_module", "startup_guide"]


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
    stock_module: bool = Field(
        default=False,
        description="The company's stock module is active: StockBalance is read-only (2020 description); a PUT or "
        "POST is accepted and the value ignored (whether the real API refuses or ignores it is not documented)",
    )
    object_answers: ObjectAnswers = Field(
        default="partial",
        description="What GET /v2/customers/{id} and PUT /v2/orders/{id} answer; the description types both only as "
        "`object`: the whole record (full), a few members (partial) or {} (empty)",
    )
    vatcodes_paged: bool = Field(
        default=True, description="GET /v2/vatcodes pages as the 2024 description has it (2018/2020: a plain array)"
    )
    access_problem: AccessProblem | None = Field(
        default=None,
        description="A first-connection failure every /v2 call answers: the API module not enabled for the company "
        "(api_module) or its startup guide not completed (startup_guide)",
    )
    seed: bool = True
    start_time: datetime | None = Field(default=None, description="Freeze the clock here (tests); None = wall clock")
