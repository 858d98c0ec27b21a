"""Links: one Exact division paired with one eAccounting company, the unit everything per administration belongs to.

A link names its two connections: the Exact connection (one user's consent; Exact tokens reach every division the
user has rights on, the division is part of each URL) and the eAccounting connection (a token is bound to the one
company chosen at consent, so a company is reached through its own connection). Several links may share an Exact
connection; a new link gets an eAccounting connection of its own (named like the link) unless it names one.

Stored in Redis (`Keys.links`, a hash id -> JSON) so the API and every worker see the same links; the link `default`
is the installation from before links (`app/upgrade.py`).

A link may have its own alert destination (`alert_url`, a Slack/Teams incoming-webhook URL; unset: the
installation's `ALERTS__WEBHOOK_URL`), so each administration's failures reach that client's people. The URL carries
the webhook's secret token: it is never logged, never in a repr, and the API and console show it masked
(`mask_alert_url`). Links stored before the field existed load with it unset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from app.alerts import mask_alert_url
from connectors.keys import DEFAULT_LINK, Keys

LINK_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
CONNECTION_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
ALERT_URL_MAX = 2000
_ALERT_URL_HELP = "Incoming-webhook URL (Slack/Teams) for this link's alerts; unset: the installation's setting"


def check_alert_url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, or None ("" clears). Raises ValueError naming what is wrong."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if any(c.isspace() for c in value):
        raise ValueError("must be an http or https URL without spaces")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL, e.g. https://hooks.slack.com/services/...")
    return value


# An alert URL as the API takes it (a new link, a change): checked by `check_alert_url`, "" read as unset.
AlertUrl = Annotated[
    str | None, Field(max_length=ALERT_URL_MAX, description=_ALERT_URL_HELP), AfterValidator(check_alert_url)
]


class Link(BaseModel):
    """One administration: an Exact division and an eAccounting company."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=LINK_ID_PATTERN, description="URL-safe id, e.g. `nl-shop`")
    title: str = Field("", max_length=200, description="A name people know it by")
    exact_connection: str = Field(DEFAULT_LINK, pattern=CONNECTION_PATTERN, description="Exact login it uses")
    division: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Exact division; only the upgraded `default` link may leave it open"
    )
    eaccounting_connection: str = Field(
        DEFAULT_LINK, pattern=CONNECTION_PATTERN, description="eAccounting connection (bound to one company)"
    )
    company: str | None = Field(None, description="The eAccounting company's name, read after consent")
    paused: bool = Field(False, description="A paused link runs no polls and no records; webhooks are ignored")
    alert_url: str | None = Field(None, max_length=ALERT_URL_MAX, repr=False, description=_ALERT_URL_HELP)
    created_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))


class NewLink(BaseModel):
    """What `POST /links` takes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=LINK_ID_PATTERN)
    title: str = Field("", max_length=200)
    division: int = Field(ge=1, le=2**31 - 1, description="The Exact division (administration) number")
    exact_connection: str = Field(DEFAULT_LINK, pattern=CONNECTION_PATTERN)
    eaccounting_connection: str | None = Field(
        None, pattern=CONNECTION_PATTERN, description="Default: a connection of its own, named like the link"
    )
    alert_url: AlertUrl = None


class LinkChanges(BaseModel):
    """What `PATCH /links/{link}` takes: only the fields given change; `"alert_url": null` (or "") clears it."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    alert_url: AlertUrl = None

    def updates(self) -> dict[str, Any]:
        """The changes to apply to a stored link (a `title` of null is no change)."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if changes.get("title", "") is None:
            del changes["title"]
        return changes


class LinkStore:
    """The links of the installation, in one Redis hash."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = keys.links

    async def all(self) -> list[Link]:
        return self.parse_all(await self._redis.hgetall(self._key))  # type: ignore[misc]  # Awaitable[T] | T

    def queue_all(self, pipe: Any) -> None:
        """Add the read of every link to a pipeline; `parse_all` reads its answer (batched reads, one round trip)."""
        pipe.hgetall(self._key)

    @staticmethod
    def parse_all(raw: Mapping[Any, Any]) -> list[Link]:
        return sorted((Link.model_validate_json(v) for v in raw.values()), key=lambda link: link.id)

    async def get(self, link_id: str) -> Link | None:
        raw = await self._redis.hget(self._key, link_id)  # type: ignore[misc]
        return Link.model_validate_json(raw) if raw is not None else None

    async def exists(self, link_id: str) -> bool:
        return bool(await self._redis.hexists(self._key, link_id))  # type: ignore[misc]

    async def add(self, link: Link) -> bool:
        """Store a new link; False when one with its id exists."""
        return bool(await self._redis.hsetnx(self._key, link.id, link.model_dump_json()))  # type: ignore[misc]

    async def put(self, link: Link) -> None:
        await self._redis.hset(self._key, link.id, link.model_dump_json())  # type: ignore[misc]

    async def delete(self, link_id: str) -> bool:
        return bool(await self._redis.hdel(self._key, link_id))  # type: ignore[misc]


def link_json(link: Link) -> dict[str, object]:
    """A link as the API shows it (its alert URL masked; `alerts_to`: `link` or `installation`)."""
    data: dict[str, object] = json.loads(link.model_dump_json())
    data["alert_url"] = mask_alert_url(link.alert_url)
    data["alerts_to"] = "link" if link.alert_url else "installation"
    return data
