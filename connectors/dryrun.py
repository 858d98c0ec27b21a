"""Dry runs at the wire: inside `intercept_writes()`, no request that changes anything leaves this process.

`ApiClient.request` (connectors/http.py), the one place every connector call goes through, asks `intercepted()`
before it sends: a POST, PUT, PATCH or DELETE made inside the block is recorded as a `Write` and answered here
with a stand-in of what the API would have answered (the body sent back with a placeholder key: GUIDs
`00000000-0000-4000-8000-00000000000n`, so a later step that uses the new record's id, say an order's new
customer, reads as "the record created above"). Reads go to the API as usual. The flow's code cannot tell the
difference, so a preview runs the real handler (its reads, checks and decisions) and the writes it would make come
back as data. A stand-in carries no values the API would compute (numbers, totals): the caller must not compare
with them.
"""

from __future__ import annotations

import contextvars
import json as jsonlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

READS = frozenset({"GET", "HEAD", "OPTIONS"})
PLACEHOLDER_PREFIX = "00000000-0000-4000-8000-"

# Exact's key property per entity set (the reference's exact-entities.json: the `primaryKey` of each), for the
# entity sets the flows create; any other entity set answers with `ID`, Exact's usual key.
_EXACT_KEYS = {
    "SalesOrders": "OrderID",
    "SalesInvoices": "InvoiceID",
    "SalesEntries": "EntryID",
    "GeneralJournalEntries": "EntryID",
}


@dataclass(slots=True)
class Write:
    """One write a dry run did not send: `entity` is the API's resource (`Accounts`, `articles`)."""

    system: str
    method: str
    endpoint: str
    entity: str
    payload: Any
    placeholder: str | None = None  # the key the stand-in answer gave the record (POST)

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "method": self.method,
            "endpoint": self.endpoint,
            "entity": self.entity,
            "payload": self.payload,
            **({"placeholder_id": self.placeholder} if self.placeholder else {}),
        }


@dataclass(slots=True)
class WriteLog:
    writes: list[Write] = field(default_factory=list)

    def placeholder(self) -> str:
        return f"{PLACEHOLDER_PREFIX}{len(self.writes) + 1:012d}"


_current: contextvars.ContextVar[WriteLog | None] = contextvars.ContextVar("dry_run_writes", default=None)


@contextmanager
def intercept_writes() -> Iterator[WriteLog]:
    """Inside the block (this task and the tasks it starts) writes are recorded and answered, never sent."""
    log = WriteLog()
    token = _current.set(log)
    try:
        yield log
    finally:
        _current.reset(token)


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(PLACEHOLDER_PREFIX)


def _entity(system: str, endpoint: str) -> str:
    path = endpoint.split("?", 1)[0].rstrip("/")
    if system == "exact":
        last = path.rsplit("/", 1)[-1]
        return last.split("(", 1)[0]
    parts = [p for p in path.split("/") if p and p != "{id}" and p != "v2"]
    return parts[0] if parts else path


def intercepted(system: str, method: str, url: str, endpoint: str, body: Any) -> httpx.Response | None:
    """The stand-in answer to a write inside `intercept_writes()` (recording it); None: send the request."""
    log = _current.get()
    if log is None or method.upper() in READS:
        return None
    entity = _entity(system, endpoint)
    method = method.upper()
    placeholder = log.placeholder() if method == "POST" else None
    log.writes.append(Write(system, method, endpoint, entity, body, placeholder))
    request = httpx.Request(method, url)
    if method == "DELETE" or (system == "exact" and method != "POST"):
        return httpx.Response(204, request=request)  # Exact answers a PUT with 204 and no body
    scalars = {k: v for k, v in (body or {}).items() if not isinstance(v, list | dict)}
    if system == "exact":
        answer: dict[str, Any] = {**scalars, _EXACT_KEYS.get(entity, "ID"): placeholder}
        return httpx.Response(201, request=request, content=jsonlib.dumps({"d": answer}).encode(),
                              headers={"Content-Type": "application/json"})  # fmt: skip
    answer = dict(body or {})
    if method == "POST":
        answer["Id"] = placeholder
    return httpx.Response(201 if method == "POST" else 200, request=request, content=jsonlib.dumps(answer).encode(),
                          headers={"Content-Type": "application/json"})  # fmt: skip


__all__ = ["PLACEHOLDER_PREFIX", "Write", "WriteLog", "intercept_writes", "intercepted", "is_placeholder"]
