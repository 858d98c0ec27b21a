"""What a flow is, as the engine sees it: a definition (how to find and fetch source records) and a handler.

A flow is a plain async function of (context, record): `handle(ctx, source) -> Outcome`. Everything around it
(triggers, de-duplication, retries, the activity log, cross-reference bookkeeping) belongs to the engine in
`app/engine.py`, so a flow reads top to bottom as the business rule it implements.

Failures are exceptions: a `ConnectorError` (transient ones are retried with backoff, permanent ones dead-lettered),
a `mapping.MappingError`, or `RecordFailed` for a business rule the record breaks (a SKU missing in the target).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import annotated_types
import structlog
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from connectors.keys import DEFAULT_LINK
from flows.countries import holds_countries, same_country_keys
from flows.limits import MAX_ENTRIES, UNSTATED

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.settings import Settings
    from app.xref import CrossRefs
    from connectors.eaccounting import EAccountingClient
    from connectors.exact import ExactClient
    from connectors.keys import Keys
    from flows.cache import RefCache

System = Literal["exact", "eaccounting"]

# Lock kinds (`ctx.xref.lock(kind, id)`) of eAccounting objects a PUT replaces whole: every flow that reads, changes
# and writes one back holds its lock from the GET to the PUT, so two flows never undo each other's write.
ARTICLE_LOCK = "ea:article"
ORDER_LOCK = "ea:order"
Action = Literal["created", "updated", "unchanged", "skipped"]


def source_record(model: BaseModel) -> dict[str, Any]:
    """A connector model as the wire-named JSON object the mappings read and the activity log shows (nulls out)."""
    dumped: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


class RecordFailed(Exception):
    """The record breaks a business rule; retrying cannot help until someone fixes the data or the config."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"type": "RecordFailed", "message": self.reason, **({"details": self.details} if self.details else {})}


@dataclass(slots=True)
class Outcome:
    """What a handler did with one record. `target_payload` is what was sent (or would have been).

    `mismatch` flags a warning on a record that was written: the target's own figures differ from the source's
    (e.g. an Exact document's totals; `{"source": ..., "exact": ..., "difference": ...}`). The engine shows it in
    the activity log, counts it in /metrics and raises an alert.
    """

    action: Action
    target_id: str | None = None
    reason: str | None = None
    target_payload: Any = None
    mismatch: dict[str, Any] | None = None

    @classmethod
    def skipped(cls, reason: str, target_id: str | None = None) -> Outcome:
        return cls("skipped", target_id=target_id, reason=reason)


@dataclass(slots=True)
class PollPage:
    """One page from a polling trigger: the records to enqueue and the cursor to store once they are enqueued.

    `payloads` optionally carries the full source records the listing already returned, so the job need not
    fetch them again (fewer API calls); the engine stashes them briefly in Redis.
    """

    record_ids: list[str]
    cursor: str | None
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordLabel:
    """A record as people know it: `kind` and `key` ("order", "1007") and a `name` ("Jansen BV").

    The flow that owns a record owns its label (STYLE.md §7); the engine stores the text on the activity entry when
    the record runs, so the console lists records by label without API calls. `person` marks a name that is a
    private person's, left out when the activity log redacts personal fields.
    """

    kind: str
    key: str | None
    name: str | None = None
    person: bool = False

    def text(self, *, hide_person: bool = False) -> str:
        head = f"{self.kind} {self.key}" if self.key else self.kind
        name = None if (hide_person and self.person) else self.name
        return f"{head} - {name}" if name else head


def label_value(value: Any) -> str | None:
    """A source field as label text: stripped (Exact pads account codes with spaces), None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# Bounds of the numbers a config may hold: every value the API accepts is one the service can run with.
MAX_POLL_INTERVAL_SECONDS = 7 * 86400  # a poll backs up webhooks Exact may lose: at least once a week
MAX_REFRESH_SECONDS = 86400.0  # reference data and indexes re-read at least daily
MAX_EXACT_TIMESTAMP = 2**63 - 1  # Exact's sync `Timestamp` is an Int64 (`Timestamp gt 123L`)


class FlowOptions(BaseModel):
    """Base of each flow's own options; unknown keys are refused so a typo in a config is a 422, not a no-op, and
    numbers must be finite (JSON `1e400` parses as infinity, which would be stored as null).

    Every string has a maximum length and every list or table a maximum number of entries (`flows.limits`), checked
    before the entries are (one error for a table too large, not one per entry). Country codes (`flows.countries`)
    are read in upper case; `stored_form` gives the options as a config stores them, with those codes as read.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        field_info = cls.model_fields.get(info.field_name or "")
        if field_info is None or not isinstance(value, list | dict):
            return value
        for limit in field_info.metadata:
            if isinstance(limit, annotated_types.MaxLen) and len(value) > limit.max_length:
                raise PydanticCustomError(
                    "too_long",
                    "at most {max_length} entries, not {length}",
                    {"max_length": limit.max_length, "length": len(value)},
                )
        if isinstance(value, dict) and holds_countries(field_info.annotation, field_info.metadata):
            clashes = same_country_keys(list(value))
            if clashes:
                raise PydanticCustomError(
                    "country_code", "the same country twice: {clashes}", {"clashes": "; ".join(clashes)}
                )
        return value

    @classmethod
    def country_fields(cls) -> frozenset[str]:
        """The options that hold country codes (read in upper case)."""
        return frozenset(
            name for name, info in cls.model_fields.items() if holds_countries(info.annotation, info.metadata)
        )

    def stored_form(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """`raw` (the options these were validated from) with the country options as read (`nl` stored as `NL`), so
        a stored config holds what every reader of it sees."""
        given = self.country_fields() & set(raw)
        return {**raw, **self.model_dump(mode="json", include=set(given))} if given else dict(raw)


class FlowConfig(BaseModel):
    """The stored, user-editable configuration of one flow (validated by `app.flowconfig`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = Field(True, description="Triggers run this flow only when enabled")
    poll_interval_seconds: int | None = Field(
        None,
        ge=5,
        le=MAX_POLL_INTERVAL_SECONDS,
        description="Polling interval in seconds (5 to 604,800, a week); default: the worker setting",
    )
    mapping: str | None = Field(None, max_length=UNSTATED, description="Default mapping name; None: the flow's default")
    mapping_overrides: dict[Annotated[str, StringConstraints(max_length=UNSTATED)], dict[str, Any]] = Field(
        default_factory=dict,
        max_length=MAX_ENTRIES,
        description="Per mapping name, per-field overrides of that mapping (see docs/mapping.md)",
        examples=[{"orders_to_exact_sales_order": {"fields": {"Description": {"source": "YourReference"}}}}],
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Flow-specific options (see the flow)")


@dataclass(slots=True)
class FlowContext:
    """Everything a handler may use. Built by the engine per job; clients are shared per process."""

    flow: str
    trigger: str
    settings: Settings
    config: FlowConfig
    options: Any  # the flow's validated FlowOptions subclass instance
    mapping: Any  # mapping.CompiledMapping for config.mapping (or the flow's default)
    mappings: Callable[[str], Any]  # compile-and-cache any other mapping by name, with this flow's overrides
    exact: ExactClient
    eaccounting: EAccountingClient
    xref: CrossRefs
    cache: RefCache
    redis: Redis
    keys: Keys  # the Redis key names of this flow's administration: a flow's own state lives under them
    log: Any = field(default_factory=lambda: structlog.get_logger("flow"))
    # Set by a handler right before it writes, so a failed write still shows what was sent in the activity log.
    target_payload: Any = None
    link: str = DEFAULT_LINK  # the administration (Exact division + eAccounting company) this run belongs to


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def guid(text: str) -> str:
    """`text` as a record id of either system: a GUID (both name records by GUIDs, compared case-insensitively),
    lower-cased, as webhook Keys are.

    Raises:
        ValueError: not a GUID.
    """
    value = text.strip().lower()
    if _GUID.fullmatch(value) is None:
        raise ValueError("must be a GUID, e.g. 3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
    return value


def exact_timestamp_since(text: str) -> str:
    """A manual poll start of a flow reading Exact's sync API: a `Timestamp` (1 to 2^63-1; 1 reads everything).

    Raises:
        ValueError: anything else, with a message that says what is expected.
    """
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19 or not 1 <= int(value) <= MAX_EXACT_TIMESTAMP:
        raise ValueError("must be an Exact sync Timestamp: a whole number from 1 (everything) to 2^63-1")
    return str(int(value))


def utc_datetime_since(text: str) -> str:
    """A manual poll start of a flow reading eAccounting: an ISO 8601 date or date-time (naive means UTC), returned
    as an aware ISO date-time (eAccounting's filters need one).

    Raises:
        ValueError: anything else, with a message that says what is expected.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2026-12-01 or 2026-12-01T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


Fetch = Callable[[FlowContext, str], Awaitable[dict[str, Any] | None]]
Handle = Callable[[FlowContext, dict[str, Any]], Awaitable[Outcome]]
Poll = Callable[[FlowContext, str | None], AsyncIterator[PollPage]]
Label = Callable[[Mapping[str, Any]], RecordLabel]
PreviewCheck = Callable[[FlowContext, dict[str, Any], Any], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class FlowDefinition:
    """A flow as registered with the engine.

    :param name: URL-safe name, e.g. ``orders``; also the cross-reference and log namespace.
    :param source: the system records come from; ``target`` the one written to.
    :param fetch: load one source record by id (None: it no longer exists).
    :param handle: the business rule.
    :param poll: list changed record ids since a cursor (None: the flow has no polling trigger).
    :param webhook_topics: Exact webhook topics that trigger this flow; the event's Key (lower-cased) is the record
        id, so `fetch` must accept it (the stock flow's Key is an ItemWarehouse, which `fetch` resolves to its item).
    :param options_model: the flow's FlowOptions subclass.
    :param default_mapping: default mapping name; ``mapping_choices`` lists the others a user may pick.
    :param enabled_by_default: whether a fresh install runs this flow.
    :param label: the record as people know it, from the source record (pure; "order 1007 - Jansen BV").
    :param parse_record_id: checks and normalises a record id given by hand (`POST /flows/{flow}/run
        {"record_id"}`), raising ValueError; default: a GUID, lower-cased (`guid`).
    :param parse_since: checks and normalises a manual poll start (`POST /flows/{flow}/run {"since"}`), raising
        ValueError; default: by `source`, an Exact sync Timestamp or an ISO date-time for eAccounting.
    :param preview_check: warnings a preview adds about the payload a run would send (source, payload).
    """

    name: str
    title: str
    source: System
    target: System
    fetch: Fetch
    handle: Handle
    poll: Poll | None = None
    webhook_topics: tuple[str, ...] = ()
    options_model: type[FlowOptions] = FlowOptions
    default_mapping: str | None = None
    mapping_choices: tuple[str, ...] = ()
    enabled_by_default: bool = True
    default_options: Mapping[str, Any] = field(default_factory=dict)
    label: Label | None = None
    parse_since: Callable[[str], str] | None = None
    parse_record_id: Callable[[str], str] = guid
    # A preview's own checks of what a run would send (app/preview.py): warnings in words, e.g. the totals Exact
    # would compute against the source's. Reads only; a run does its checks on the target's answer instead.
    preview_check: PreviewCheck | None = None

    def mapping_names(self) -> list[str]:
        """The mappings a user may pick, the default first, each once (`mapping_choices` may list the default again)."""
        return list(dict.fromkeys(n for n in (self.default_mapping, *self.mapping_choices) if n))

    def record_id(self, text: str) -> str:
        """`text` as a record id of this flow (see `parse_record_id`); raises ValueError naming what is expected."""
        return self.parse_record_id(text)

    def since(self, text: str) -> str:
        """`text` as this flow's poll cursor (see `parse_since`); raises ValueError naming what is expected."""
        if self.parse_since is not None:
            return self.parse_since(text)
        return exact_timestamp_since(text) if self.source == "exact" else utc_datetime_since(text)

    def label_text(self, source: Mapping[str, Any] | None, *, hide_person: bool = False) -> str | None:
        """The label of `source` (None without a source or label function; a label never fails a record)."""
        if source is None or self.label is None:
            return None
        try:
            return self.label(source).text(hide_person=hide_person)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
