"""Plain fix hints for failed records: what went wrong in the user's words and what to do about it (pure).

A dead letter's error is `ConnectorError.to_dict()` or `RecordFailed.to_dict()`: `type`, `message`, `system`,
`status`, and for business rules `details` (e.g. `{"sku": ["SKU-9999"]}`). The hint is chosen by the first rule
that matches, most specific first; the last rule always matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SYSTEM_NAMES = {"exact": "Exact Online", "eaccounting": "eAccounting"}


@dataclass(frozen=True, slots=True)
class Hint:
    """`text` says what is wrong and what to do; `sku` names a missing item (the demo links to the simulator's
    item form); `option` names the flow option that changes the behaviour; `reconnect` a system to re-authorize."""

    text: str
    sku: str | None = None
    option: str | None = None
    reconnect: str | None = None


def system_name(system: str | None) -> str:
    return _SYSTEM_NAMES.get(system or "", system or "the other system")


def _skus(details: Mapping[str, Any]) -> list[str]:
    value = details.get("sku")
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)] if value else []


def fix_hint(flow: str, error: Mapping[str, Any] | None, target: str | None = None) -> Hint:
    """The hint for one failure of `flow` (writing to `target`)."""
    error = error or {}
    kind = str(error.get("type") or "")
    message = str(error.get("message") or "")
    raw_details = error.get("details")
    details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
    system = str(error.get("system") or "")
    skus = _skus(details)
    lower = message.lower()
    if skus and flow == "orders":
        listed = ", ".join(skus)
        return Hint(
            f"SKU {listed} is not an Exact item: create it in Exact (then retry), or let the orders flow create "
            "missing items (option missing_sku).",
            sku=skus[0],
            option="missing_sku",
        )
    if skus:
        listed = ", ".join(skus)
        return Hint(
            f"{listed}: {message}. Fix the article in eAccounting or the item in Exact, then retry.", sku=skus[0]
        )
    if kind in ("ReauthorizationRequired", "AuthError") or error.get("status") in (401, 403):
        name = system_name(system)
        return Hint(
            f"{name} refused our access ({message}). Re-authorize {name} on the overview page, then retry.",
            reconnect=system or None,
        )
    if "vat" in lower:
        return Hint(f"{message}. Check the flow's VAT options (VAT codes per situation and country), then retry.")
    if kind == "RateLimited" or error.get("status") == 429:
        return Hint("The API's rate limit was reached. Retry later; the flow waits for the budget by itself.")
    if kind == "ValidationRejected" or (isinstance(error.get("status"), int) and 400 <= error["status"] < 500):
        name = system_name(system or target)
        return Hint(
            f"{name} refused the record: {message}. Fix the data in the source or the flow's settings, then retry."
        )
    if kind in ("TransientError", "ConnectorError") or (
        isinstance(error.get("status"), int) and error["status"] >= 500
    ):
        return Hint(f"{system_name(system)} did not answer properly ({message}). Retry; it is usually temporary.")
    if kind == "MappingError" or "mapping" in lower:
        return Hint(f"{message}. Check the flow's mapping, then retry.")
    return Hint(f"{message or 'The record failed'}. Fix the record or the flow's settings, then retry.")


def group_key(flow: str, error: Mapping[str, Any] | None) -> str:
    """Failures with the same flow, error type and message are one problem (retried together)."""
    error = error or {}
    return f"{flow}|{error.get('type') or ''}|{error.get('message') or ''}"
