"""In-memory tables of one division, indexed so that page reads stay O(page) instead of O(table).

- `records`: key → record (a dict of property → value; `Timestamp` is kept on every record for the sync API).
- a sorted key list (cached, rebuilt only after inserts/deletes) serves regular endpoints, which page by key
  with `$skiptoken=guid'…'`.
- `ts_log`: an append-only list of (Timestamp, key); a record's stale entries are skipped. Timestamps only
  grow, so the list is sorted and the sync API finds its cursor with `bisect`.
- `by_code`: unique code → key, for code-keyed references (`VATCode`, `PaymentCondition`, …) and filters.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

from sandbox.exact.entities import ENTITIES, EntitySpec

__all__ = ["DivisionState", "Record", "Store"]

Record = dict[str, Any]


class Store:
    def __init__(self, spec: EntitySpec) -> None:
        self.spec = spec
        self.records: dict[str, Record] = {}
        self.by_code: dict[str, str] = {}
        self.children: defaultdict[str, list[str]] = defaultdict(list)  # parent key -> line keys (line stores)
        self.ts_log: list[tuple[int, str]] = []
        self._sorted: list[str] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: str) -> Record | None:
        return self.records.get(key)

    def put(self, record: Record) -> None:
        key = record[self.spec.key]
        if key not in self.records:
            self._sorted = None
        old = self.records.get(key)
        if old is not None and self.spec.code_field and old.get(self.spec.code_field) is not None:
            self.by_code.pop(old[self.spec.code_field], None)
        self.records[key] = record
        if self.spec.code_field and record.get(self.spec.code_field) is not None:
            self.by_code[record[self.spec.code_field]] = key
        self.ts_log.append((record["Timestamp"], key))

    def remove(self, key: str) -> Record | None:
        record = self.records.pop(key, None)
        if record is not None:
            self._sorted = None
            if self.spec.code_field and record.get(self.spec.code_field) is not None:
                self.by_code.pop(record[self.spec.code_field], None)
        return record

    def by_code_get(self, code: str) -> Record | None:
        key = self.by_code.get(code)
        return None if key is None else self.records.get(key)

    def sorted_keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.records)
        return self._sorted

    def keys_after(self, key: str | None) -> list[str]:
        """Keys in key order strictly after `key` (a view; callers only read it)."""
        keys = self.sorted_keys()
        start = 0 if key is None else bisect.bisect_right(keys, key)
        return keys[start:]

    def iter_since(self, timestamp: int) -> Any:
        """Current records with Timestamp > `timestamp`, in Timestamp order."""
        start = bisect.bisect_right(self.ts_log, (timestamp, "\uffff"))
        for ts, key in self.ts_log[start:]:
            record = self.records.get(key)
            if record is not None and record["Timestamp"] == ts:
                yield record


class DivisionState:
    """Every table of one division plus its rowversion counter and deletion log."""

    def __init__(self, division: int) -> None:
        self.division = division
        self.stores: dict[str, Store] = {name: Store(spec) for name, spec in ENTITIES.items()}
        # Rowversions are large opaque integers in Exact; start high so `Timestamp gt 1` means "everything".
        self.timestamp = 100_000 + division % 1000 * 10
        self.deleted: list[Record] = []
        self.numbers: defaultdict[str, int] = defaultdict(int)

    def store(self, name: str) -> Store:
        return self.stores[name]

    def next_timestamp(self) -> int:
        self.timestamp += 1
        return self.timestamp

    def next_number(self, series: str, start: int) -> int:
        current = self.numbers[series]
        self.numbers[series] = max(current + 1, start)
        return self.numbers[series]
