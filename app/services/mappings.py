"""A flow's mappings as the editor sees them: the shipped default, the user's overrides, the difference, and
saving or resetting the overrides (through the flow config, validated like `PUT /flows/{flow}/config`).

Overrides live in the flow config (`mapping_overrides[name]`), so one validation decides for the API and the
console: the mapping format (compiled), and the target's real field list (`mapping/target_fields.py`).
"""

from __future__ import annotations

import json
from typing import Any

import mapping
from app.engine import Engine
from app.flowconfig import ConfigInvalid, resolve
from app.services.errors import InvalidInput, NotFoundError
from app.services.flows import definition, mapping_in_use, put_flow_config
from flows.base import FlowDefinition
from mapping.target_fields import field_lists


def _spec_document(spec: mapping.MappingSpec) -> dict[str, Any]:
    document: dict[str, Any] = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return document


def _in_use(found: FlowDefinition, raw: dict[str, Any]) -> str | None:
    """The mapping a run sends with, None when the stored config does not resolve."""
    try:
        return mapping_in_use(found, resolve(found, raw))
    except ConfigInvalid:
        return None


def _pick(found: FlowDefinition, name: str | None, in_use: str | None) -> str:
    """`name` if the flow has it (NotFoundError if not), else the mapping in use, else the flow's first."""
    choices = found.mapping_names()
    if not choices:
        raise NotFoundError(f"the {found.name} flow has no mapping")
    if name is None:
        return in_use if in_use is not None and in_use in choices else choices[0]
    if name not in choices:
        raise NotFoundError(f"the {found.name} flow has no mapping {name!r}; one of {choices}")
    return name


async def mapping_name(engine: Engine, flow: str, name: str | None = None) -> str:
    """`name` when the flow has that mapping (NotFoundError if not); without one, the mapping a run sends with."""
    found = definition(engine, flow)
    if name is None and found.mapping_names():
        return _pick(found, None, _in_use(found, await engine.configs.raw(flow)))
    return _pick(found, name, None)


def _flatten(fields: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Field rules by override key (`Field`, `List[*].Field`, `Object.Field`), nested rules without their
    children (each child has its own key)."""
    out: dict[str, Any] = {}
    for key, rule in fields.items():
        path = f"{prefix}{key}"
        if not isinstance(rule, dict):
            out[path] = rule
            continue
        own = {k: v for k, v in rule.items() if k not in ("fields", "items")}
        items = rule.get("items")
        if isinstance(items, dict):
            own["items"] = {k: v for k, v in items.items() if k != "fields"}
            out.update(_flatten(items.get("fields") or {}, f"{path}[*]."))
        if isinstance(rule.get("fields"), dict):
            out.update(_flatten(rule["fields"], f"{path}."))
        out[path] = own
    return out


def diff(default: dict[str, Any], effective: dict[str, Any]) -> list[dict[str, Any]]:
    """What differs from the shipped default: per field (by override key), per value map, and the filters."""
    changes: list[dict[str, Any]] = []

    def compare(what: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            change = "added" if key not in before else "removed" if key not in after else "changed"
            changes.append({"section": what, "key": key, "change": change, "default": old, "now": new})

    compare("fields", _flatten(default.get("fields") or {}), _flatten(effective.get("fields") or {}))
    compare("value_maps", default.get("value_maps") or {}, effective.get("value_maps") or {})
    for section in ("filters", "required", "description"):
        if default.get(section) != effective.get(section):
            changes.append(
                {"section": section, "key": section, "change": "changed",
                 "default": default.get(section), "now": effective.get(section)}
            )  # fmt: skip
    return changes


def effective(name: str, overrides: dict[str, Any]) -> mapping.MappingSpec:
    """The default `name` with `overrides` (raises MappingSpecError when they do not fit)."""
    base = mapping.load_default(name)
    return mapping.merge_overrides(base, overrides) if overrides else base


async def mapping_view(engine: Engine, flow: str, name: str | None = None) -> dict[str, Any]:
    """One of the flow's mappings: the shipped default, the stored overrides, the effective mapping, the diff,
    and the target's field lists."""
    found = definition(engine, flow)
    raw = await engine.configs.raw(flow)
    in_use = _in_use(found, raw)
    name = _pick(found, name, in_use)
    overrides: dict[str, Any] = dict((raw.get("mapping_overrides") or {}).get(name) or {})
    default_spec = mapping.load_default(name)
    default = _spec_document(default_spec)
    try:
        now = _spec_document(effective(name, overrides))
        error = None
    except (mapping.MappingSpecError, ValueError) as exc:  # stored before a check existed: shown, not hidden
        now, error = default, str(exc)
    return {
        "flow": flow,
        "mapping": name,
        "choices": found.mapping_names(),
        "selected": in_use or raw.get("mapping") or found.default_mapping,
        "target": default_spec.target,
        "version": default_spec.version,
        "default": default,
        "overrides": overrides,
        "effective": now,
        "diff": diff(default, now),
        "error": error,
        "target_fields": field_lists(default_spec.target),
    }


async def check(engine: Engine, flow: str, name: str, overrides: Any) -> dict[str, Any]:
    """Validate `overrides` of mapping `name` as saving would (InvalidInput with every error) and answer the
    effective mapping and its diff against the default."""
    name = await mapping_name(engine, flow, name)
    if not isinstance(overrides, dict):
        raise InvalidInput([{"loc": ["mapping_overrides", name], "msg": "overrides are a JSON object", "type": "type"}])
    raw = await engine.configs.raw(flow)
    candidate = {**raw, "mapping_overrides": {**(raw.get("mapping_overrides") or {}), name: overrides}}
    try:
        resolve(definition(engine, flow), candidate)
    except ConfigInvalid as exc:
        raise InvalidInput(exc.errors) from None
    now = _spec_document(effective(name, overrides))
    return {"mapping": name, "effective": now, "diff": diff(_spec_document(mapping.load_default(name)), now)}


async def save(engine: Engine, flow: str, name: str, overrides: Any) -> dict[str, Any]:
    """Store `overrides` for mapping `name` (replacing the stored ones; `{}` = the default): the next record
    uses them. Refused (InvalidInput, nothing stored) like any invalid config."""
    name = await mapping_name(engine, flow, name)
    await check(engine, flow, name, overrides)
    raw = await engine.configs.raw(flow)
    stored = dict(raw.get("mapping_overrides") or {})
    if overrides:
        stored[name] = overrides
    else:
        stored.pop(name, None)
    result = await put_flow_config(engine, flow, {**raw, "mapping_overrides": stored})
    return {"mapping": name, "overrides": overrides, "version": result["version"]}


async def reset(engine: Engine, flow: str, name: str) -> dict[str, Any]:
    """Back to the shipped default: the mapping's overrides are removed."""
    return await save(engine, flow, name, {})


def parse_overrides(text: str) -> dict[str, Any]:
    """The editor's text as overrides (blank: none); InvalidInput naming the line and column of a JSON error."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [
                {
                    "loc": ["overrides"],
                    "msg": f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                    "type": "json",
                }
            ]
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput([{"loc": ["overrides"], "msg": "overrides are a JSON object: {...}", "type": "json"}])
    return value


__all__ = ["check", "diff", "effective", "mapping_name", "mapping_view", "parse_overrides", "reset", "save"]
