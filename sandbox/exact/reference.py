"""The vendor reference the simulator's tables are derived from: `exact-entities.json` next to this module.

A byte-for-byte copy of `../shared/reference/exact-entities.json` (pinned by sha256 in tests/sandbox_exact/
test_reference.py): every entity picqer/exact-php-client describes (commit 8b350573, 2025-12-19) with its endpoint
`url`, `primary_key` and field names with their PHP docblock types; regular and `sync/` endpoints apart. It lists
fields, not which are read-only or required: that comes from `entities.py` (docs/exact-online-api.md §9) and the
rules in `derived_read_only`.

What the simulator serves follows from it: an endpoint the file does not list answers 404, a field it does not list
for that endpoint is a 400 in `$select`, `$filter`, `$orderby` and in bodies. Fields the file lists that the
simulator does not model are still served (null until written) and accepted in writes unless read-only.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["AUDIT_FIELDS", "Reference", "derived_read_only", "kind_of", "reference"]

# Set by Exact on every write; never taken from a request body.
AUDIT_FIELDS = frozenset(
    {"Created", "Creator", "CreatorFullName", "Modified", "Modifier", "ModifierFullName", "Division", "Timestamp"}
)
_KINDS = {"string": "str", "int": "int", "float": "decimal", "bool": "bool"}
_ECHO_SUFFIXES = ("Description", "FullName", "Name", "Code")


def kind_of(php_type: str) -> str:
    """The simulator's kind for a docblock type (`string`, `int`, `float`, `bool`; anything else is text)."""
    return _KINDS.get(php_type, "str")


def derived_read_only(name: str, fields: dict[str, str]) -> bool:
    """Read-only by the reference's own naming, for fields the simulator does not model itself: audit fields, the
    description/name/code Exact fills in for a reference (`PaymentConditionDescription` next to `PaymentCondition`,
    `OrderedByName` next to `OrderedBy`, `WarehouseCode` next to `WarehouseID`), and computed amounts (`Amount…`,
    `…VATAmount…`)."""
    if name in AUDIT_FIELDS:
        return True
    for suffix in _ECHO_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and base and (base in fields or f"{base}ID" in fields or f"{base}Id" in fields):
            return True
    return name.startswith("Amount") or "VATAmount" in name


class Reference:
    """The parsed file: entities by name and by endpoint (`url`, compared case-insensitively as Exact routes)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.entities: dict[str, dict[str, Any]] = document["entities"]
        self._by_url = {str(e["url"]).lower(): name for name, e in self.entities.items()}

    def entity_at(self, url: str) -> str | None:
        return self._by_url.get(url.strip("/").lower())

    def fields(self, url: str) -> dict[str, str]:
        """Field name -> docblock type of the endpoint `url`; KeyError when the reference has no such endpoint."""
        name = self.entity_at(url)
        if name is None:
            raise KeyError(f"the reference has no endpoint {url!r}")
        fields: dict[str, str] = self.entities[name]["fields"]
        return fields

    def has(self, url: str) -> bool:
        return self.entity_at(url) is not None

    def line_entity(self, url: str, nav: str) -> str | None:
        """The entity name of a collection field (`SalesOrderLines: SalesOrderLine[]`)."""
        kind = self.fields(url).get(nav, "")
        return kind[:-2] if kind.endswith("[]") else None


@cache
def reference() -> Reference:
    """The packaged file, parsed once per process."""
    text = resources.files(__package__).joinpath("exact-entities.json").read_text(encoding="utf-8")
    return Reference(json.loads(text))
