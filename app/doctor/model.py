"""What a doctor run reports: one `CheckResult` per question an operator asks, in words, with the fix.

Statuses: `ok` (nothing to do), `warn` (works, but look; or not checked because something above failed), `fail`
(needs action: `ledgerbridge doctor` exits 1). A report's status is its worst check's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

Status = Literal["ok", "warn", "fail"]
_RANK: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}


class Verdict(NamedTuple):
    """What a check found: its status, a sentence saying what it found, and what to do about it (if anything)."""

    status: Status
    message: str
    fix: str | None = None


def ok(message: str) -> Verdict:
    return Verdict("ok", message)


def warn(message: str, fix: str | None = None) -> Verdict:
    return Verdict("warn", message, fix)


def fail(message: str, fix: str | None = None) -> Verdict:
    return Verdict("fail", message, fix)


class CheckResult(BaseModel):
    """One line of the report."""

    name: str = Field(description="What was checked, e.g. 'Redis persistence'")
    scope: str = Field(description="'installation', 'connection exact/default' or 'link default'")
    status: Status
    message: str = Field(description="What was found, in words")
    fix: str | None = Field(None, description="What to do (set when the status is not ok)")


class Report(BaseModel):
    status: Status = Field(description="The worst status of all checks")
    checked_at: datetime
    checks: list[CheckResult]

    @property
    def needs_action(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status == "fail"]


def worst(statuses: list[Status]) -> Status:
    return max(statuses, key=_RANK.__getitem__, default="ok")
