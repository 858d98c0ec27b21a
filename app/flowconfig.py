"""Flow configuration: stored in Redis as JSON, validated as a whole before it replaces the old one.

A config is valid when the envelope (`FlowConfig`) and the flow's own options model accept it and every mapping
it names compiles with its overrides. Errors carry the path of the field at fault, so the API can answer 422 with
it and keep the old config.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis

import mapping
from app.xref import content_hash
from connectors.keys import Keys
from flows.base import FlowConfig, FlowDefinition
from mapping.tables import override_problems
from mapping.target_fields import check_overrides


class ConfigInvalid(Exception):
    """A flow config was refused; `errors` is a list of {loc, msg} like FastAPI's 422 details."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    """A validated config with everything compiled: what a job runs with."""

    config: FlowConfig
    options: BaseModel
    mapping_name: str | None
    version: str

    def compiled(self, name: str | None = None) -> Any:
        """The compiled mapping `name` (default: the flow's selected one) with this config's overrides."""
        chosen = name or self.mapping_name
        if chosen is None:
            return None
        return _compile(chosen, json.dumps(self.config.mapping_overrides.get(chosen, {}), sort_keys=True))


_COMPILED: dict[tuple[str, str], Any] = {}


def _compile(name: str, overrides_json: str) -> Any:
    key = (name, overrides_json)
    compiled = _COMPILED.get(key)
    if compiled is None:
        spec = mapping.load_default(name)
        overrides = json.loads(overrides_json)
        if overrides:
            spec = mapping.merge_overrides(spec, overrides)
        compiled = mapping.compile_mapping(spec)
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        _COMPILED[key] = compiled
    return compiled


def default_config(definition: FlowDefinition) -> dict[str, Any]:
    return {
        "enabled": definition.enabled_by_default,
        "mapping": definition.default_mapping,
        "options": dict(definition.default_options),
    }


MAX_DEPTH = 64  # levels of nesting a config may have (the deepest shipped mapping override needs about 15)


def _unrunnable(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every number in `raw` that is not finite (JSON `1e400` parses as infinity; JSON cannot store it: it would be
    written as null), with its path, and the first value nested deeper than `MAX_DEPTH` (a condition wrapped in a
    thousand `not`s would overflow the stack of every step after this one: validation, compiling, storing). Walked
    without recursion, so no nesting depth can break it."""
    errors: list[dict[str, Any]] = []
    stack: list[tuple[list[Any], Any]] = [([], raw)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            shown = [*path[:8], "...", *path[-2:]]
            msg = f"nested deeper than {MAX_DEPTH} levels"
            return [{"loc": shown, "msg": msg, "type": "too_deep"}]
        if isinstance(value, float) and not math.isfinite(value):
            errors.append({"loc": path, "msg": "must be a finite number", "type": "finite_number"})
        elif isinstance(value, Mapping):
            stack.extend(([*path, key], item) for key, item in value.items())
        elif isinstance(value, list | tuple):
            stack.extend(([*path, index], item) for index, item in enumerate(value))
    return sorted(errors, key=lambda e: [str(p) for p in e["loc"]])


def resolve(definition: FlowDefinition, raw: Mapping[str, Any]) -> ResolvedConfig:
    """Validate `raw` for `definition`; raises ConfigInvalid naming every field at fault."""
    if not isinstance(raw, Mapping):
        raise ConfigInvalid([{"loc": [], "msg": "a flow config is a JSON object", "type": "dict_type"}])
    unrunnable = _unrunnable(raw)
    if unrunnable:
        raise ConfigInvalid(unrunnable)
    try:
        config = FlowConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigInvalid(_errors(exc, ())) from None
    try:
        options = definition.options_model.model_validate(config.options)
    except ValidationError as exc:
        raise ConfigInvalid(_errors(exc, ("options",))) from None
    # Stored as read: a country code given as `nl` is kept as `NL`, so the config reads back as every reader sees it.
    config = config.model_copy(update={"options": options.stored_form(config.options)})
    allowed = definition.mapping_names()
    mapping_name = config.mapping or definition.default_mapping
    errors: list[dict[str, Any]] = []
    if mapping_name is not None and mapping_name not in allowed:
        errors.append({"loc": ["mapping"], "msg": f"must be one of {allowed}", "type": "value_error"})
    known = set(mapping.default_names())
    for name, overrides in config.mapping_overrides.items():
        if name not in known:
            errors.append({"loc": ["mapping_overrides", name], "msg": "unknown mapping", "type": "value_error"})
            continue
        # Value maps out of bounds (a table too large, a key no country code) are named down to the entry, before
        # anything is merged or compiled.
        bounds = override_problems(overrides)
        if bounds:
            errors.extend(
                {"loc": ["mapping_overrides", name, *loc], "msg": msg, "type": "value_map"} for loc, msg in bounds
            )
            continue
        try:
            compiled = _compile(name, json.dumps(overrides, sort_keys=True))
        except (mapping.MappingSpecError, ValidationError, ValueError, TypeError) as exc:
            errors.append({"loc": ["mapping_overrides", name], "msg": str(exc), "type": "mapping_error"})
            continue
        # A target field the API object does not have would fail only when a record runs (or be dropped by the
        # API): refused here, against the vendors' field lists shipped in mapping/target_fields.json.
        for loc, message in check_overrides(compiled.spec.target, overrides):
            errors.append({"loc": ["mapping_overrides", name, *loc], "msg": message, "type": "unknown_target_field"})
    if errors:
        raise ConfigInvalid(errors)
    version = content_hash(config.model_dump(mode="json"))
    return ResolvedConfig(config=config, options=options, mapping_name=mapping_name, version=version)


def _errors(exc: ValidationError, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


class FlowConfigStore:
    def __init__(self, redis: Redis, keys: Keys, flows: Mapping[str, FlowDefinition]) -> None:
        self._redis = redis
        self._keys = keys
        self._flows = flows

    async def raw(self, flow: str) -> dict[str, Any]:
        stored = await self._redis.get(self._keys.flow_config(flow))
        if stored is None:
            return default_config(self._flows[flow])
        try:
            data: Any = json.loads(stored)
        except (ValueError, RecursionError):
            data = None  # not JSON: `get` reports it invalid (the flow's runs fail visibly) instead of crashing
        return data if isinstance(data, dict) else {"unreadable": stored.decode(errors="replace")[:200]}

    async def get(self, flow: str) -> ResolvedConfig:
        """The stored config, validated again as it is read (a config written by an older version, or by hand, is
        checked like a new one): raises ConfigInvalid naming every field at fault."""
        return resolve(self._flows[flow], await self.raw(flow))

    async def put(self, flow: str, raw: Mapping[str, Any]) -> ResolvedConfig:
        """Validate and store what reads back valid; the old config stays when validation fails.

        The config is validated, serialised, and the serialised text validated again: only a config that reads back
        as the same valid config is stored, so nothing the API accepts can turn invalid in Redis.
        """
        definition = self._flows[flow]
        resolved = resolve(definition, raw)
        try:
            text = json.dumps(resolved.config.model_dump(mode="json"), allow_nan=False)
            again = resolve(definition, json.loads(text))
        except ValueError as exc:
            raise ConfigInvalid([{"loc": [], "msg": f"cannot be stored: {exc}", "type": "value_error"}]) from None
        if again.version != resolved.version:
            raise ConfigInvalid([{"loc": [], "msg": "does not read back as stored", "type": "value_error"}])
        await self._redis.set(self._keys.flow_config(flow), text)
        return again
