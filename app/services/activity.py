"""The activity log and the dead letters of a link as people read them: records by their labels, whether a failed
record later succeeded, what changed since its previous run, failures grouped by reason with a fix hint.

The console's pages call these; replays go through `Engine.enqueue` like `app.services.flows.retry_log_entry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.activity import ActivityEntry, DeadLetter, Outcome
from app.engine import Engine
from app.services.errors import InvalidInput
from app.services.flows import definition
from app.services.hints import Hint, fix_hint, group_key

__all__ = [
    "ActivityRow",
    "Problem",
    "ProblemGroup",
    "activity_rows",
    "changed_fields",
    "dead_letters",
    "fix_hint",
    "label_of",
    "later_success",
    "log_page",
    "previous_run",
    "problem_groups",
    "retry_group",
]


async def log_page(
    engine: Engine,
    *,
    flow: str | None = None,
    outcome: Outcome | None = None,
    source_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before: str | None = None,
) -> tuple[list[ActivityEntry], str | None]:
    """A page of the link's activity log, newest first, and the cursor of the next; a flow the link does not have is
    NotFoundError (a typo must not look like "nothing happened"), an out-of-range time InvalidInput."""
    if flow is not None:
        definition(engine, flow)
    try:
        return await engine.activity.query(
            flow=flow, outcome=outcome, source_id=source_id, since=since, until=until, limit=limit, before=before
        )
    except (ValueError, OverflowError) as exc:  # out-of-range datetimes
        raise InvalidInput(str(exc)) from None


async def dead_letters(engine: Engine, flow: str | None = None) -> list[DeadLetter]:
    """The link's dead letters, newest first, optionally of one flow (NotFoundError for a flow it does not have)."""
    if flow is not None:
        definition(engine, flow)
    return await engine.dead_letters.list(flow)


@dataclass(slots=True)
class ActivityRow:
    entry: ActivityEntry
    label: str
    later: ActivityEntry | None = None  # a newer run of the same record that succeeded
    hint: Hint | None = None


def label_of(entry: ActivityEntry) -> str:
    """The entry's label, or the flow's record with a short id when the record could not even be read."""
    return entry.label or f"{entry.flow} record {entry.source_id[:8]}"


async def later_success(engine: Engine, entry: ActivityEntry) -> ActivityEntry | None:
    """The newest run of the same record, when it is newer than `entry` and did not fail."""
    newest, _ = await engine.activity.query(flow=entry.flow, source_id=entry.source_id, limit=1)
    if newest and newest[0].id > entry.id and newest[0].outcome not in ("failed", "retrying"):
        return newest[0]
    return None


async def activity_rows(
    engine: Engine,
    *,
    flow: str | None,
    outcome: str | None,
    text: str | None,
    before: str | None,
    limit: int = 25,
    scan_most: int = 2000,
) -> tuple[list[ActivityRow], str | None]:
    """A page of entries, newest first; `text` matches the label (number or name) or the record id."""
    needle = (text or "").strip().lower()
    found: list[ActivityEntry] = []
    cursor = before
    scanned = 0
    while len(found) <= limit and scanned < scan_most:
        page, cursor = await engine.activity.query(flow=flow, outcome=outcome, before=cursor, limit=100)
        scanned += len(page)
        found.extend(e for e in page if not needle or needle in label_of(e).lower() or needle in e.source_id)
        if cursor is None:
            break
    rows = []
    for entry in found[:limit]:
        later = await later_success(engine, entry) if entry.outcome in ("failed", "retrying") else None
        hint = fix_hint(entry.flow, entry.error, entry.target_system) if entry.outcome == "failed" else None
        rows.append(ActivityRow(entry, label_of(entry), later, hint))
    more = found[limit - 1].id if len(found) > limit else (cursor if found and cursor else None)
    return rows, more


def changed_fields(current: Any, previous: Any) -> set[str]:
    """Top-level fields of `current` whose value differs from `previous` (all of them when there is none)."""
    if not isinstance(current, dict):
        return set()
    if not isinstance(previous, dict):
        return set(current)
    return {k for k, v in current.items() if previous.get(k) != v}


async def previous_run(engine: Engine, entry: ActivityEntry) -> ActivityEntry | None:
    """The run of the same record before `entry` (to show what changed since)."""
    page, _ = await engine.activity.query(flow=entry.flow, source_id=entry.source_id, before=entry.id, limit=5)
    return next((e for e in page if e.source_payload is not None), None)


# --- problems ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Problem:
    label: str
    source_id: str
    log_id: str
    failed_at: datetime
    failures: int


@dataclass(slots=True)
class ProblemGroup:
    key: str
    flow: str
    message: str
    hint: Hint
    records: list[Problem] = field(default_factory=list)


async def problem_groups(engine: Engine) -> list[ProblemGroup]:
    """Dead letters grouped by flow and reason, largest group first, each with its fix hint."""
    letters = await engine.dead_letters.list()
    entries = {}
    for letter in letters:
        entries[letter.log_id] = await engine.activity.get(letter.log_id)
    groups: dict[str, ProblemGroup] = {}
    for letter in letters:
        key = group_key(letter.flow, letter.error)
        definition = engine.flows.get(letter.flow)
        if key not in groups:
            groups[key] = ProblemGroup(
                key,
                letter.flow,
                str(letter.error.get("message") or "failed"),
                fix_hint(letter.flow, letter.error, definition.target if definition else None),
            )
        entry = entries.get(letter.log_id)
        label = label_of(entry) if entry is not None else f"{letter.flow} record {letter.source_id[:8]}"
        groups[key].records.append(Problem(label, letter.source_id, letter.log_id, letter.failed_at, letter.failures))
    return sorted(groups.values(), key=lambda g: (-len(g.records), g.key))


async def retry_group(engine: Engine, key: str) -> int:
    """Replay every dead letter of one problem group of the link; returns how many were queued."""
    queued = 0
    for letter in await engine.dead_letters.list():
        if group_key(letter.flow, letter.error) == key:
            await engine.enqueue(letter.flow, letter.source_id, "retry", replay_of=letter.log_id)
            queued += 1
    return queued
