"""Settings of one simulator instance; the defaults are the real API's documented behaviour.

Source of truth: `docs/exact-online-api.md`. Where the reference marks a fact as unsure the
default here is the stricter choice, and the field's description says so (see docs/exact-simulator.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExactSimConfig"]


class ExactSimConfig(BaseModel):
    """How the simulated Exact Online host behaves."""

    model_config = ConfigDict(frozen=True)

    client_id: str = "00000000-0000-4000-8000-00000000e1a1"
    client_secret: str = "demo-exact-client-secret"
    redirect_uri: str | None = Field(default=None, description="Registered redirect URI; None accepts any")
    webhook_secret: str = "demo-exact-webhook-secret"
    division: int = 1234567
    other_divisions: tuple[int, ...] = Field(default=(), description="More divisions the user may access (empty)")
    division_name: str = Field(default="Demo BV", description="Description of the main division in system/Divisions")
    public_base_url: str = Field(
        default="https://start.exactonline.nl", description="Host used in __next links and ExactOnlineEndpoint"
    )

    # OAuth (reference §2)
    access_token_ttl: int = Field(default=600, ge=1, description="Access tokens live 600 s regardless of use")
    refresh_min_age: int = Field(default=570, ge=0, description="A new access token only 570 s after the last one")
    refresh_token_ttl: int = Field(default=30 * 24 * 3600, ge=1, description="Unused refresh tokens: 30 days")
    authorization_code_ttl: int = Field(default=180, ge=1, description="Codes live 3 minutes, single use")
    token_calls_per_day: int | None = Field(default=200, ge=1, description="Token-endpoint calls per app per day")
    granted_scopes: frozenset[str] | None = Field(
        default=None, description="Scopes the app has (e.g. 'Logistics items'); None grants every scope"
    )

    # Rate limits (reference §3), per division
    minutely_limit: int = Field(default=60, ge=1)
    daily_limit: int = Field(default=5000, ge=1)

    # OData (reference §4)
    page_size: int = Field(default=60, ge=1, description="Regular endpoints")
    sync_page_size: int = Field(default=1000, ge=1, description="Sync and bulk endpoints")
    mandatory_filter: bool = Field(
        default=True,
        description="Regular/bulk endpoints with a sync counterpart need a $filter (July 2021 rule); any field counts",
    )

    # Webhooks (reference §8)
    require_https_callbacks: bool = Field(default=True, description="Exact only calls HTTPS callback URLs")
    webhook_create_action: str = Field(
        default="Create",
        description="(?) whether creations arrive as 'Create' or 'Update' is unsure; 'Create' is the stricter choice",
    )
    webhook_max_retries: int = Field(default=10, ge=0, description="(?) 10 retries, 2^n minutes apart")
    webhook_retry_base_seconds: float = Field(
        default=60.0, gt=0, description="A failed delivery is retried after base x 2^n seconds (Exact: minutes)"
    )
    stock_positions_key: Literal["item_warehouse", "item"] = Field(
        default="item_warehouse",
        description="(?) what a StockPositions event's Key names: the reference does not say; the item-warehouse row "
        "(inventory/ItemWarehouses) by default, or the item",
    )
    webhook_flush_interval: float = Field(default=1.0, gt=0, description="Background sender period in a server")

    # Demo data
    seed: bool = True
    seed_items: int = Field(default=40, ge=0)
    random_seed: int = Field(default=20240501, description="Makes generated GUIDs reproducible")
    start_time: datetime | None = Field(default=None, description="Start the sim clock here; None = wall clock")
