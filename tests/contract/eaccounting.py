"""Checks one HTTP request against the vendor's Swagger 2.0 description of the eAccounting API v2, and nothing else.

The description: `sandbox/eaccounting/swagger.json`, the project's one copy, shipped as package data because the
simulator validates bodies against it too: the production host's description of 2020-06 kept in the public repository
simenandre/eaccounting (`openapi/v2.json`, commit 8cacecaa; a byte-for-byte copy of
`../shared/reference/eaccounting-v2-2020-swagger.json`, pinned by sha256 in tests/sandbox_eaccounting/
test_description.py; docs/eaccounting-api.md, source S1). A request passes when:

- its path matches a path template of the description (literal segments beat parameters, as in routing) and the
  method is declared for it;
- every query parameter is declared for the operation, except the OData options `$page`, `$pagesize`, `$filter`,
  `$orderby`, `$select`, which no description lists per operation but Visma documents for every paginated list
  (docs/eaccounting-api.md §4); they are accepted only on GETs whose answer is `PaginatedResponse`, or that
  `eaccounting-facts.md` reports paged since (`GET /v2/vatcodes`, paged in the 2024 description);
- every property `$filter`, `$orderby` and `$select` name is a property of the answer's item definition;
- a body is sent exactly when the operation declares one, as JSON, and it validates (Draft 4) against the
  definition with every `$ref` resolved into `#/definitions`, with the rules the description states in prose:
  no member the definition does not declare (`additionalProperties: false`), amounts with no more decimals than
  "Format: 2 decimals" / "4 decimals" allow, and `format: date-time` with a time (`2026-03-02T00:00:00`): the
  description types the date-only fields date-time, so a bare `2026-03-02` does not satisfy it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from importlib import resources
from typing import Any

import httpx
from jsonschema import Draft4Validator, FormatChecker

ODATA_OPTIONS = frozenset({"$page", "$pagesize", "$filter", "$orderby", "$select"})
FIELD_OPTIONS = ("$filter", "$orderby", "$select")
# Lists the description types as a plain array that a newer description pages (eaccounting-facts.md): answer item.
PAGED_SINCE = {"/v2/vatcodes": "VatCode"}
_DECIMALS = re.compile(r"(\d+) decimals")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$")
_FILTER_TOKEN = re.compile(
    r"""\s+
    | (?P<literal>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_WORDS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "has", "true", "false", "null"})
_WORDS |= {"asc", "desc", "add", "sub", "mul", "div", "mod"}


def load_swagger() -> dict[str, Any]:
    text = resources.files("sandbox.eaccounting").joinpath("swagger.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("uuid")(lambda v: not isinstance(v, str) or bool(_GUID.match(v)))
_FORMATS.checks("date-time")(lambda v: not isinstance(v, str) or bool(_DATETIME.match(v)))


def _strict(definitions: dict[str, Any]) -> dict[str, Any]:
    """Each object definition closed to undeclared members; "N decimals" becomes `x-decimals: N`."""
    out = copy.deepcopy(definitions)
    for schema in out.values():
        props = schema.get("properties")
        if schema.get("type") == "object" and isinstance(props, dict):
            schema["additionalProperties"] = False
            for prop in props.values():
                found = _DECIMALS.search(prop.get("description") or "")
                if found and prop.get("type") == "number":
                    prop["x-decimals"] = int(found.group(1))
    return out


def _decimal_places(value: Any) -> int:
    if isinstance(value, Decimal):
        exponent = value.normalize().as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0
    return 0


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]

    @property
    def query_params(self) -> set[str]:
        return {p["name"] for p in self.spec.get("parameters", []) if p.get("in") == "query"}

    @property
    def body(self) -> dict[str, Any] | None:
        return next((p for p in self.spec.get("parameters", []) if p.get("in") == "body"), None)

    @property
    def paginated(self) -> bool:
        return self._answer.startswith("PaginatedResponse[") or self.template in PAGED_SINCE

    @property
    def _answer(self) -> str:
        schema = self.spec.get("responses", {}).get("200", {}).get("schema", {})
        ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
        return str(ref).rsplit("/", 1)[-1]

    @property
    def item_definition(self) -> str | None:
        """The definition of one item of the answer (`PaginatedResponse[X]`, an array of X, or X)."""
        name = self._answer
        if name.startswith("PaginatedResponse["):
            return name[len("PaginatedResponse[") : -1]
        return name or PAGED_SINCE.get(self.template)


def filter_properties(expression: str) -> list[str]:
    """The property paths an OData v4 `$filter`/`$orderby`/`$select` names (Visma's syntax: datetimes and GUIDs
    unquoted, strings in single quotes): identifiers that are not operators, literals or function names."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        match = _FILTER_TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot read {expression[position : position + 20]!r} in {expression!r}")
        position = match.end()
        if match.lastgroup is not None:
            tokens.append((match.lastgroup, match.group(match.lastgroup)))
    found: list[str] = []
    for index, (kind, text) in enumerate(tokens):
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if kind == "name" and text.lower() not in _WORDS and following != "(":
            found.append(text)
    return found


class Contract:
    def __init__(self, document: dict[str, Any] | None = None, base_path: str = "") -> None:
        self.document = document or load_swagger()
        self.base_path = base_path.rstrip("/")
        self.definitions = _strict(self.document["definitions"])

    @cached_property
    def _templates(self) -> list[tuple[re.Pattern[str], str, int]]:
        out = []
        for template in self.document["paths"]:
            segments = template.strip("/").split("/")
            pattern = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
            literal = sum(1 for s in segments if not s.startswith("{"))
            out.append((re.compile(f"^/{pattern}$", re.IGNORECASE), template, literal))
        return sorted(out, key=lambda t: -t[2])

    def operation(self, method: str, path: str) -> Operation | None:
        local = path[len(self.base_path) :] if self.base_path and path.startswith(self.base_path) else path
        for pattern, template, _ in self._templates:
            if pattern.match(local):
                spec = self.document["paths"][template].get(method.lower())
                return Operation(method.upper(), template, spec) if spec is not None else None
        return None

    def problems(self, request: httpx.Request) -> list[str]:
        """Everything about `request` the description does not allow; empty when it conforms."""
        where = f"{request.method} {request.url.path}"
        op = self.operation(request.method, request.url.path)
        if op is None:
            return [f"{where}: no such path and method in the description"]
        found: list[str] = []
        declared = op.query_params
        for name in request.url.params:
            if name in declared:
                continue
            if name in ODATA_OPTIONS and op.method == "GET" and op.paginated:
                continue
            found.append(f"{where}: query parameter {name!r} not declared for {op.method} {op.template}")
        found.extend(self._field_problems(request, op, where))
        found.extend(self._body_problems(request, op, where))
        return found

    def _field_problems(self, request: httpx.Request, op: Operation, where: str) -> list[str]:
        """Every property an OData option names must be a property of the answer's items."""
        definition = op.item_definition
        props = self.definitions.get(definition or "", {}).get("properties", {})
        found: list[str] = []
        for option in FIELD_OPTIONS:
            for text in request.url.params.get_list(option):
                try:
                    names = filter_properties(text.replace(",", " , "))
                except ValueError as exc:
                    found.append(f"{where}: {option}: {exc}")
                    continue
                for name in names:
                    if name.split("/", 1)[0] not in props:
                        found.append(f"{where}: {option} names {name!r}, not a property of {definition}")
        return found

    def _body_problems(self, request: httpx.Request, op: Operation, where: str) -> list[str]:
        content = request.content
        param = op.body
        if param is None:
            return [f"{where}: sends a body the operation does not take"] if content else []
        if not content:
            return [f"{where}: body {param['name']!r} is required"] if param.get("required") else []
        media = request.headers.get("content-type", "").split(";")[0].strip()
        if media != "application/json":
            return [f"{where}: body sent as {media!r}, not application/json"]
        body = json.loads(content, parse_float=Decimal)
        schema = {**param["schema"], "definitions": self.definitions}
        validator = Draft4Validator(schema, format_checker=_FORMATS)
        found = [
            f"{where}: {'/'.join(str(p) for p in e.absolute_path) or '<body>'}: {e.message}"
            for e in validator.iter_errors(body)
        ]
        found.extend(self._decimal_problems(body, schema, where, ""))
        return found

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            resolved: dict[str, Any] = self.definitions[ref.rsplit("/", 1)[-1]]
            return resolved
        return schema

    def _decimal_problems(self, value: Any, schema: dict[str, Any], where: str, path: str) -> list[str]:
        schema = self._resolve(schema)
        found: list[str] = []
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key, item in value.items():
                if key in props:
                    found.extend(self._decimal_problems(item, props[key], where, f"{path}/{key}"))
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                found.extend(self._decimal_problems(item, schema["items"], where, f"{path}/{index}"))
        elif "x-decimals" in schema and _decimal_places(value) > schema["x-decimals"]:
            found.append(f"{where}: {path.lstrip('/')}: {value} has more than {schema['x-decimals']} decimals")
        return found
