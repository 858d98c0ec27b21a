"""What mapping returns: `MapResult` (fast path) and `DryRun` (with a per-field trace, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mapping.values import jsonable


@dataclass(slots=True)
class MapResult:
    """`payload` is the target object, or None when a filter skipped the record (`skipped` says why).

    Amounts in `payload` are `Decimal`; use `mapping.jsonable` for a JSON-ready copy (Decimals as exact text).
    """

    payload: dict[str, Any] | None
    skipped: str | None = None


@dataclass(slots=True)
class TraceEntry:
    """Which rule produced which value: one per target field (per list item for list fields)."""

    target: str
    kind: str  # source | const | object | list | when | row_skipped | extra_item
    source: str | None
    value: Any = None
    transforms: tuple[str, ...] = ()
    omitted: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "kind": self.kind,
            "source": self.source,
            "value": jsonable(self.value),
            "transforms": list(self.transforms),
        }
        if self.omitted:
            out["omitted"] = True
        if self.note:
            out["note"] = self.note
        return out


@dataclass(slots=True)
class DryRun:
    """A preview: the payload that would be sent, why the record would be skipped, or the error, plus the trace."""

    payload: dict[str, Any] | None
    skipped: str | None
    error: dict[str, Any] | None
    trace: list[TraceEntry] = field(default_factory=list)
    mode: str = "create"
    mapping: str | None = None
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "version": self.version,
            "mode": self.mode,
            "payload": jsonable(self.payload),
            "skipped": self.skipped,
            "error": self.error,
            "trace": [entry.to_dict() for entry in self.trace],
        }
