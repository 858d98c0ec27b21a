"""The shipped default mappings (``mapping/defaults/*.json``) and per-flow user overrides on top of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from mapping.compiler import spec_path
from mapping.errors import MappingSpecError
from mapping.spec import MappingSpec

_OVERRIDABLE = frozenset({"fields", "value_maps", "filters", "required", "description"})


@lru_cache(maxsize=1)
def default_names() -> list[str]:
    """Names of the shipped mappings, sorted (the file names without ``.json``)."""
    folder = resources.files("mapping") / "defaults"
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))


@lru_cache(maxsize=64)
def _document(name: str) -> str:
    if name not in default_names():
        raise MappingSpecError("", f"unknown default mapping {name!r} (known: {', '.join(default_names())})")
    return (resources.files("mapping") / "defaults" / f"{name}.json").read_text(encoding="utf-8")


def load_default_document(name: str) -> dict[str, Any]:
    """The raw JSON of a default mapping (a fresh copy)."""
    loaded: dict[str, Any] = json.loads(_document(name))
    return loaded


def load_default(name: str) -> MappingSpec:
    """The default mapping `name`, validated.

    Raises:
        MappingSpecError: unknown name (or a broken shipped file, which the tests rule out).
    """
    return _validate(load_default_document(name), f"defaults/{name}.json")


def _validate(document: Mapping[str, Any], label: str) -> MappingSpec:
    try:
        return MappingSpec.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MappingSpecError(spec_path(tuple(first["loc"])), f"{first['msg']} ({label})") from None


def _field_container(fields: dict[str, Any], key: str, where: str) -> tuple[dict[str, Any], str]:
    """For a dotted override key (``SalesOrderLines[*].CostUnit``, ``Address.City``) the dict holding the
    last part, and that part."""
    parts = key.split(".")
    container = fields
    for part in parts[:-1]:
        is_list = part.endswith("[*]")
        rule = container.get(part[:-3] if is_list else part)
        if not isinstance(rule, dict):
            raise MappingSpecError(where, f"no field {part!r} to override inside")
        if is_list:
            items = rule.get("items")
            if not isinstance(items, dict):
                raise MappingSpecError(where, f"field {part[:-3]!r} is not a list mapping")
            container = items.setdefault("fields", {})
        else:
            if not isinstance(rule.get("fields"), dict):
                raise MappingSpecError(where, f"field {part!r} is not an object mapping")
            container = rule["fields"]
    return container, parts[-1]


def merge_overrides(base: MappingSpec, overrides: Mapping[str, Any]) -> MappingSpec:
    """`base` with a user's per-field changes applied, validated (compile it to check transforms and paths).

    ``{"fields": {"YourRef": {...}}}`` replaces a field's rule (or adds the field); ``null`` removes it; a key
    ``"SalesOrderLines[*].CostUnit"`` reaches a field of each list item (``"A.B"`` one of an object).
    ``{"value_maps": {"vat": {"table": {"DE": "5", "NL": null}, "default": "2"}}}`` merges table entries
    (``null`` removes one) and replaces the other keys. ``filters``, ``required`` and ``description`` replace.

    Raises:
        MappingSpecError: an override that does not fit, named by its path under ``overrides``.
    """
    if not isinstance(overrides, Mapping):
        raise MappingSpecError("overrides", "must be an object")
    doc = base.model_dump(mode="python", by_alias=True, exclude_unset=True)
    doc = copy.deepcopy(doc)
    for key, value in overrides.items():
        if key not in _OVERRIDABLE:
            raise MappingSpecError(f"overrides.{key}", f"cannot be overridden (use {', '.join(sorted(_OVERRIDABLE))})")
        if key == "fields":
            if not isinstance(value, Mapping):
                raise MappingSpecError("overrides.fields", "must be an object")
            for field_key, rule in value.items():
                where = f"overrides.fields.{field_key}"
                container, last = _field_container(doc.setdefault("fields", {}), field_key, where)
                if rule is None:
                    container.pop(last, None)
                elif isinstance(rule, Mapping):
                    container[last] = copy.deepcopy(dict(rule))
                else:
                    raise MappingSpecError(where, "a field override is a rule object or null")
        elif key == "value_maps":
            if not isinstance(value, Mapping):
                raise MappingSpecError("overrides.value_maps", "must be an object")
            maps = doc.setdefault("value_maps", {})
            for map_name, change in value.items():
                where = f"overrides.value_maps.{map_name}"
                if change is None:
                    maps.pop(map_name, None)
                    continue
                if not isinstance(change, Mapping):
                    raise MappingSpecError(where, "a value map override is an object or null")
                merged = maps.setdefault(map_name, {"table": {}})
                for part, part_value in change.items():
                    if part == "table":
                        if not isinstance(part_value, Mapping):
                            raise MappingSpecError(f"{where}.table", "must be an object")
                        table = merged.setdefault("table", {})
                        for entry, entry_value in part_value.items():
                            if entry_value is None:
                                table.pop(entry, None)
                            else:
                                table[entry] = entry_value
                    else:
                        merged[part] = part_value
        else:
            doc[key] = copy.deepcopy(value)
    return _validate(doc, "with overrides")
