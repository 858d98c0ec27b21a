"""The fields each mapping target's API object has, so an override naming a field that does not exist is refused.

`target_fields.json` next to this module is generated from the vendors' own descriptions (shipped with the package:
the production image has no `sandbox/` and no reference files):

* Exact Online: `exact-entities.json` (picqer/exact-php-client's entity list, `../shared/reference/`), the entity's
  fields, and for a list field (`SalesOrderLines: SalesOrderLine[]`) the fields of the listed entity;
* eAccounting: the 2020 Swagger (`eaccounting-v2-2020-swagger.json`), the definition's properties, following
  `$ref`s one level into objects and lists (`Rows` -> `OrderRowApi`).

Regenerate with `python -m mapping.target_fields <reference dir>` (`make target-fields`); a test checks the file
against the reference. Per target: `{"": [top-level fields], "Lines": [fields of each item], "Obj": [...]}`.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

# Mapping `target` -> (system, the entity or Swagger definition that describes it).
SOURCES: dict[str, tuple[str, str]] = {
    "exact.SalesOrder": ("exact", "SalesOrder"),
    "exact.SalesInvoice": ("exact", "SalesInvoice"),
    "exact.SalesEntry": ("exact", "SalesEntry"),
    "exact.GeneralJournalEntry": ("exact", "GeneralJournalEntry"),
    "exact.Account": ("exact", "Account"),
    "exact.Contact": ("exact", "Contact"),
    "exact.Item": ("exact", "Item"),
    "exact.GoodsDelivery": ("exact", "GoodsDelivery"),
    "eaccounting.Customer": ("eaccounting", "CustomerApi"),
    "eaccounting.Article": ("eaccounting", "ArticleApi"),
    "eaccounting.ArticleStock": ("eaccounting", "ArticleApi"),
    "eaccounting.OrderShipment": ("eaccounting", "OrderApi"),
    "eaccounting.Order": ("eaccounting", "OrderApi"),
}
EXACT_FILE = "exact-entities.json"
EACCOUNTING_FILE = "eaccounting-v2-2020-swagger.json"
_LIST_TYPE = re.compile(r"^([A-Za-z]+)\[\]$")


def _exact(entities: dict[str, Any], name: str) -> dict[str, list[str]]:
    fields: dict[str, str] = entities[name]["fields"]
    out = {"": sorted(fields)}
    for field, kind in fields.items():
        listed = _LIST_TYPE.match(kind)
        if listed and listed.group(1) in entities:
            out[field] = sorted(entities[listed.group(1)]["fields"])
    return out


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def _eaccounting(definitions: dict[str, Any], name: str) -> dict[str, list[str]]:
    properties: dict[str, Any] = definitions[name].get("properties") or {}
    out = {"": sorted(properties)}
    for field, schema in properties.items():
        ref = _ref_name(schema)
        if ref and ref in definitions and definitions[ref].get("properties"):
            out[field] = sorted(definitions[ref]["properties"])
    return out


def build(exact_entities: dict[str, Any], eaccounting_swagger: dict[str, Any]) -> dict[str, Any]:
    """The file's content from the two vendor descriptions (parsed JSON)."""
    entities = exact_entities["entities"]
    definitions = eaccounting_swagger["definitions"]
    targets = {
        target: _exact(entities, name) if system == "exact" else _eaccounting(definitions, name)
        for target, (system, name) in sorted(SOURCES.items())
    }
    return {
        "sources": {
            "exact": f"{EXACT_FILE} (picqer/exact-php-client {exact_entities.get('commit', '?')[:8]})",
            "eaccounting": f"{EACCOUNTING_FILE} (Visma eAccounting API v2, 2020)",
        },
        "targets": targets,
    }


def generate(reference_dir: Path) -> dict[str, Any]:
    exact = json.loads((reference_dir / EXACT_FILE).read_text("utf-8"))
    swagger = json.loads((reference_dir / EACCOUNTING_FILE).read_text("utf-8"))
    return build(exact, swagger)


def dumps(content: dict[str, Any]) -> str:
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


@cache
def _shipped() -> dict[str, dict[str, frozenset[str]]]:
    text = resources.files("mapping").joinpath("target_fields.json").read_text("utf-8")
    targets: dict[str, dict[str, list[str]]] = json.loads(text)["targets"]
    return {t: {path: frozenset(names) for path, names in parts.items()} for t, parts in targets.items()}


def known_targets() -> frozenset[str]:
    return frozenset(_shipped())


def fields_of(target: str | None, path: str = "") -> frozenset[str] | None:
    """The field names of `target` at `path` ("" top level, "SalesOrderLines" each line); None: not described."""
    if target is None:
        return None
    parts = _shipped().get(target)
    if parts is None:
        return None
    return parts.get(path)


def field_lists(target: str | None) -> dict[str, list[str]]:
    """Every field list of `target` (for the mapping editor), {} when the target is not described."""
    if target is None:
        return {}
    return {path: sorted(names) for path, names in _shipped().get(target, {}).items()}


def _unknown(target: str, path: str, name: str) -> str | None:
    allowed = fields_of(target, path)
    if allowed is None or name in allowed:
        return None
    where = f"{target}.{path}[]" if path else target
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where} has no field {name!r}{hint}"


def _rule_fields(target: str, path: str, rule: Any, loc: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """Unknown fields in a rule's own nested `fields` / `items.fields` (`path`: the field the rule fills)."""
    errors: list[tuple[tuple[str, ...], str]] = []
    if not isinstance(rule, dict):
        return errors
    for nested_key, nested in (("fields", rule.get("fields")), ("items", (rule.get("items") or {}).get("fields"))):
        if not isinstance(nested, dict):
            continue
        for name in nested:
            message = _unknown(target, path, str(name))
            if message:
                inner = (
                    (*loc, nested_key, "fields", str(name)) if nested_key == "items" else (*loc, "fields", str(name))
                )
                errors.append((inner, message))
    return errors


def check_overrides(target: str | None, overrides: Any) -> list[tuple[tuple[str, ...], str]]:
    """Target fields an override names that the target's API object does not have: [(loc in the override, message)].

    Keys as `merge_overrides` reads them: `Field`, `List[*].Field`, `Object.Field`; a rule's nested `fields` and
    `items.fields` too. A target the shipped lists do not describe is not checked."""
    if target is None or target not in _shipped() or not isinstance(overrides, dict):
        return []
    fields = overrides.get("fields")
    if not isinstance(fields, dict):
        return []
    errors: list[tuple[tuple[str, ...], str]] = []
    for key, rule in fields.items():
        parts = str(key).replace("[*]", "").split(".")
        loc = ("fields", str(key))
        if len(parts) == 1:
            message = _unknown(target, "", parts[0])
            nested_path = parts[0]
        else:
            message = _unknown(target, "", parts[0]) or _unknown(target, parts[0], parts[1])
            nested_path = ""  # deeper than the lists describe: not checked further
        if message:
            errors.append((loc, message))
        elif rule is not None and nested_path:
            errors.extend(_rule_fields(target, nested_path, rule, loc))
    return errors


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m mapping.target_fields <reference dir>", file=sys.stderr)  # noqa: T201
        return 2
    out = Path(__file__).with_name("target_fields.json")
    out.write_text(dumps(generate(Path(argv[1]))), "utf-8")
    print(f"wrote {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
