"""JSON Schema of the mapping format (`make schema`), with every transform and its parameters spelled out."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mapping import compiler  # noqa: F401 - imports the transform modules, which fill the registry
from mapping.registry import REGISTRY
from mapping.spec import MappingSpec

_REF = "#/$defs/{model}"


def _transform_schemas(defs: dict[str, Any]) -> list[dict[str, Any]]:
    bare: list[str] = []
    objects: list[dict[str, Any]] = []
    for name in sorted(REGISTRY):
        definition = REGISTRY[name]
        if definition.params is None:
            bare.append(name)
            continue
        params = definition.params.model_json_schema(ref_template=_REF)
        defs.update(params.pop("$defs", {}))
        try:
            definition.params.model_validate({})
            bare.append(name)
        except ValidationError:
            pass
        value_schema: dict[str, Any] = params
        if definition.primary is not None:
            primary = params["properties"][definition.primary]
            value_schema = {"anyOf": [params, primary]}
        objects.append(
            {
                "type": "object",
                "description": definition.doc,
                "properties": {name: value_schema},
                "required": [name],
                "additionalProperties": False,
            }
        )
    return [{"enum": bare, "description": "A transform without parameters (or with their defaults)"}, *objects]


def mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) a mapping document must satisfy; default files validate against it."""
    schema = MappingSpec.model_json_schema(by_alias=True, ref_template=_REF)
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    defs["Transform"] = {"anyOf": _transform_schemas(defs)}
    defs["FieldRule"]["properties"]["transforms"]["items"] = {"$ref": "#/$defs/Transform"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ledgerbridge mapping"
    return schema
