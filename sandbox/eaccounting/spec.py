"""The vendor's Swagger 2.0 description, loaded once and turned into strict validators.

The simulator validates request bodies against the same document the connector's contract tests use
(`swagger.json` next to this module; source and caveats in `docs/eaccounting-api.md`). Three things make the
schemas stricter than the raw document, on purpose, so a connector that passes here does not trip over the real
API:

- every object definition gets `additionalProperties: false` (unknown members are refused, as JSON.NET
  does with `MissingMemberHandling.Error`);
- `pattern` also applies to numbers, as .NET's `RegularExpressionAttribute` does on decimals: an amount
  with three decimals where the field says "Format: 2 decimals" is refused;
- optional properties may be `null` (the API returns nulls and accepts them back), required ones may not.

The messages mimic the .NET ones (`The Name field is required.`) and always name the field's JSON path.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators
from jsonschema.protocols import Validator

__all__ = ["DATETIME_RE", "GUID_RE", "QUERY_DATETIME_RE", "FieldError", "Operation", "Spec", "load_spec"]

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# `format: date-time` needs a date AND a time (RFC 3339, JSON Schema); the offset stays optional, as .NET binds one
# without. The description types the date-only fields ("Format: YYYY-MM-DD") date-time, so a bare `2026-03-02` is
# refused here: the stricter of the two readings (docs/eaccounting-api.md §3).
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$")
# A query parameter typed date-time (`modifiedSinceUtc`): .NET's binder takes a date alone there too.
QUERY_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?$")
_SCOPES_RE = re.compile(r"scopes: <br><b>([^<]*)</b>")


@dataclass(frozen=True)
class FieldError:
    """One broken rule: the JSON path of the field (`Rows[0].Quantity`) and a .NET-style message."""

    path: str
    message: str


@dataclass(frozen=True)
class Operation:
    """One (method, path) of the description: the scopes it accepts and the shape of its answer."""

    method: str
    path: str
    scopes: frozenset[str]
    body_definition: str | None
    response_definition: str | None
    paginated: bool
    query_params: frozenset[str]


def _check_guid(value: object) -> bool:
    return not isinstance(value, str) or bool(GUID_RE.match(value))


def _check_datetime(value: object) -> bool:
    return not isinstance(value, str) or bool(DATETIME_RE.match(value))


def _check_int32(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -(2**31) <= value < 2**31


def _plain_number(value: int | Decimal) -> str:
    return str(value) if isinstance(value, int) else format(value, "f")


def _pattern(_validator: Validator, pattern: str, instance: Any, _schema: dict[str, Any]) -> Iterator[ValidationError]:
    """`pattern` for strings (JSON Schema) and for numbers (.NET `RegularExpression` on decimals)."""
    if isinstance(instance, str):
        bad = not re.search(pattern, instance)
    elif isinstance(instance, (int, Decimal)) and not isinstance(instance, bool):
        bad = not re.fullmatch(pattern, _plain_number(instance))
    else:
        bad = False
    if bad:
        yield ValidationError(f"does not match '{pattern}'")


_StrictValidator = validators.extend(Draft4Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]
_FORMATS = FormatChecker(formats=())
_FORMATS.checks("uuid")(_check_guid)
_FORMATS.checks("date-time")(_check_datetime)
_FORMATS.checks("int32")(_check_int32)


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


_DOTNET_TYPES: dict[tuple[object, object], str] = {
    ("string", "uuid"): "System.Guid",
    ("string", "date-time"): "System.DateTime",
    ("integer", "int32"): "System.Int32",
    ("integer", "int64"): "System.Int64",
    ("number", "double"): "System.Decimal",
    ("boolean", None): "System.Boolean",
    ("string", None): "System.String",
}


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error: ValidationError, definition: str) -> FieldError:
    """Turn a jsonschema error into the message the .NET API would give for the same mistake."""
    path = _path(error)
    field = str(error.absolute_path[-1]) if error.absolute_path else definition
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    if keyword == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        full = f"{path}.{name}" if path else name
        return FieldError(full, f"The {name} field is required.")
    if keyword == "additionalProperties":
        owner = _owner(error) or definition
        instance = error.instance if isinstance(error.instance, dict) else {}
        extras = sorted(set(instance) - set(schema.get("properties", {}))) or ["?"]
        name = extras[0]
        full = f"{path}.{name}" if path else name
        return FieldError(full, f"Could not find member '{name}' on object of type '{owner}'. Path '{full}'.")
    if keyword in ("maxLength", "minLength"):
        limit = schema.get("maxLength")
        return FieldError(path, f"The field {field} must be a string with a maximum length of {limit}.")
    if keyword in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        return FieldError(path, f"The field {field} must be between {low} and {high}.")
    if keyword == "pattern":
        return FieldError(path, f"The field {field} must match the regular expression '{error.validator_value}'.")
    if keyword == "enum":
        return FieldError(path, f"The field {field} has an invalid value {error.instance!r}.")
    if keyword in ("type", "format", "anyOf"):
        target = _DOTNET_TYPES.get((schema.get("type"), schema.get("format")))
        target = target or str(schema.get("type") or schema.get("format") or "the declared type")
        shown = json.dumps(error.instance, default=str)
        got = _json_type_name(error.instance)
        return FieldError(path, f"Error converting value {shown} ({got}) to type '{target}'. Path '{path}'.")
    return FieldError(path, f"The field {field} is invalid: {error.message}")


def _owner(error: ValidationError) -> str | None:
    """The definition name an `additionalProperties` error belongs to (stored on the strict schema)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    owner = schema.get("x-definition")
    return owner if isinstance(owner, str) else None


def _strictify(definitions: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(definitions)
    for name, schema in out.items():
        props = schema.get("properties")
        if schema.get("type") != "object" or not isinstance(props, dict):
            continue
        schema["additionalProperties"] = False
        schema["x-definition"] = name
        required = set(schema.get("required", ()))
        for prop, sub in list(props.items()):
            if prop in required:
                continue
            if "$ref" in sub:
                props[prop] = {"anyOf": [sub, {"type": "null"}]}
            elif "type" in sub:
                sub["type"] = [sub["type"], "null"]
                if "enum" in sub:
                    sub["enum"] = [*sub["enum"], None]
    return out


class Spec:
    """The parsed description: definitions, strict validators and operations."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.definitions: dict[str, Any] = document["definitions"]
        self._strict = _strictify(self.definitions)
        self._validators: dict[str, Validator] = {}

    @cached_property
    def operations(self) -> dict[tuple[str, str], Operation]:
        ops: dict[tuple[str, str], Operation] = {}
        for path, methods in self.document["paths"].items():
            for method, op in methods.items():
                scopes: set[str] = set()
                for group in _SCOPES_RE.findall(op.get("description", "")):
                    scopes.update(s.strip() for s in group.split(",") if s.strip())
                body = None
                query: set[str] = set()
                for param in op.get("parameters", []):
                    if param.get("in") == "body":
                        body = param["schema"].get("$ref", "").rsplit("/", 1)[-1] or None
                    elif param.get("in") == "query":
                        query.add(param["name"])
                response = op.get("responses", {}).get("200", {}).get("schema", {})
                ref = response.get("$ref", "").rsplit("/", 1)[-1] or None
                paginated = bool(ref and ref.startswith("PaginatedResponse["))
                if paginated and ref:
                    ref = ref[len("PaginatedResponse[") : -1]
                elif response.get("type") == "array":
                    ref = response.get("items", {}).get("$ref", "").rsplit("/", 1)[-1] or None
                ops[(method.upper(), path)] = Operation(
                    method=method.upper(),
                    path=path,
                    scopes=frozenset(scopes),
                    body_definition=body,
                    response_definition=ref,
                    paginated=paginated,
                    query_params=frozenset(query),
                )
        return ops

    def properties(self, definition: str) -> dict[str, Any]:
        props = self.definitions[definition].get("properties", {})
        return props if isinstance(props, dict) else {}

    def required(self, definition: str) -> frozenset[str]:
        return frozenset(self.definitions[definition].get("required", ()))

    def validator(self, definition: str) -> Validator:
        found = self._validators.get(definition)
        if found is None:
            schema = {"$ref": f"#/definitions/{definition}", "definitions": self._strict}
            found = _StrictValidator(schema, format_checker=_FORMATS)
            self._validators[definition] = found
        return found

    def validate(self, definition: str, body: Any) -> list[FieldError]:
        """Every broken rule of `body` against `definition`, sorted by path; empty when valid."""
        errors: list[FieldError] = []
        for error in self.validator(definition).iter_errors(body):
            errors.extend(_flatten(error, definition))
        unique = {(e.path, e.message): e for e in errors}
        return sorted(unique.values(), key=lambda e: (e.path, e.message))


def _flatten(error: ValidationError, definition: str) -> list[FieldError]:
    """An `anyOf` (our nullable wrapper around a `$ref`) hides the real error in its context."""
    if error.validator == "anyOf" and error.context and not isinstance(error.instance, (str, int, bool)):
        inner = [e for e in error.context if not (isinstance(e.schema, dict) and e.schema.get("type") == "null")]
        if inner:
            out: list[FieldError] = []
            for sub in inner:
                out.extend(_flatten(sub, definition))
            return out
    return [_describe(error, definition)]


def load_spec() -> Spec:
    """The bundled description (package data), parsed; callers share one instance per app."""
    text = resources.files(__package__).joinpath("swagger.json").read_text(encoding="utf-8")
    return Spec(json.loads(text))
