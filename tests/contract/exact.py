"""Checks one HTTP request to the Exact Online REST API against the reference's entity and field lists, and nothing
else: not the simulator's tables, not our models.

The reference: `sandbox/exact/exact-entities.json`, a byte-for-byte copy of `../shared/reference/exact-entities.json`
(every entity picqer/exact-php-client describes, commit 8b350573, 2025-12-19; the copy is pinned by its sha256 in
tests/sandbox_exact/test_reference.py). A request passes when:

- its path is `/api/v1/current/Me`, or `/api/v1/{division}/{url}` where `url` is an entity's `url` (compared
  case-insensitively, as Exact routes), optionally with a key `(guid'…')`, then optionally `/$count` or `/{Nav}` where
  `Nav` is a collection field (`SalesOrderLine[]`) of the entity;
- every `$select` item is a field of that endpoint (`Nav/Field`: `Nav` a collection field, `Field` a field of the
  line entity), and so is every property `$filter` and `$orderby` name; `$expand` names collection fields;
- any other query parameter is an OData option Exact documents (`$top`, `$skiptoken`, `$inlinecount`;
  docs/exact-online-api.md §4) or a documented parameter of a function endpoint (`read/logistics/StockPosition`:
  `itemId`, §9.5);
- every member of a JSON body is a field of the endpoint, and every member of a line in a collection field is a field
  of the line entity.

Problems are plain sentences naming the endpoint and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any
from urllib.parse import unquote

import httpx

__all__ = ["ExactReference", "filter_properties", "load_entities"]

SYSTEM_OPTIONS = frozenset({"$top", "$skiptoken", "$inlinecount"})
FIELD_OPTIONS = ("$select", "$filter", "$orderby", "$expand")
# Parameters of function endpoints (not fields): docs/exact-online-api.md §9.5 (`read/logistics/StockPosition?itemId=`).
FUNCTION_PARAMETERS = {"read/logistics/stockposition": frozenset({"itemId"})}

_TOKEN = re.compile(
    r"""\s+
    | (?P<literal>(?:[A-Za-z]+)?'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?[LlMmDdFf]?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_WORDS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "add", "sub", "mul", "div", "mod"})
_WORDS |= {"true", "false", "null", "asc", "desc"}


def load_entities() -> dict[str, Any]:
    """The reference file as shipped with the simulator (package data)."""
    text = resources.files("sandbox.exact").joinpath("exact-entities.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def filter_properties(expression: str) -> list[str]:
    """The property paths an OData v2 `$filter` (or `$orderby`) names: identifiers that are not operators, literals
    (`'…'`, `guid'…'`, `datetime'…'`, numbers, `123L`) or function names (an identifier followed by `(`)."""
    found: list[str] = []
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot read {expression[position : position + 20]!r} in $filter {expression!r}")
        position = match.end()
        kind = match.lastgroup
        if kind is not None:
            tokens.append((kind, match.group(kind)))
    for index, (kind, text) in enumerate(tokens):
        if kind != "name" or text.lower() in _WORDS:
            continue
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if following == "(":
            continue  # a function: substringof, startswith, trim, …
        found.append(text)
    return found


@dataclass(frozen=True)
class Endpoint:
    url: str
    entity: str
    fields: dict[str, str]


class ExactReference:
    """The reference's endpoints, and the problems of one request against them."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document or load_entities()
        self.entities: dict[str, Any] = self.document["entities"]

    @cached_property
    def _by_url(self) -> dict[str, Endpoint]:
        return {
            str(e["url"]).lower(): Endpoint(str(e["url"]), name, dict(e["fields"])) for name, e in self.entities.items()
        }

    def endpoint(self, url: str) -> Endpoint | None:
        return self._by_url.get(url.strip("/").lower())

    def line_entity(self, endpoint: Endpoint, nav: str) -> Endpoint | None:
        """The entity of a collection field (`SalesOrderLines: SalesOrderLine[]`), or None if `nav` is none."""
        kind = endpoint.fields.get(nav, "")
        if not kind.endswith("[]"):
            return None
        name = kind[:-2]
        entity = self.entities.get(name)
        return Endpoint(str(entity["url"]), name, dict(entity["fields"])) if entity else None

    def resource(self, path: str) -> str | None:
        """`/api/v1/123/crm/Accounts(guid'…')` -> `crm/Accounts(guid'…')`; `current/Me`; None if not the REST API."""
        marker = "/api/v1/"
        at = path.find(marker)
        if at < 0:
            return None
        rest = unquote(path[at + len(marker) :])
        if rest.lower().startswith("current/"):
            return rest
        division, _, resource = rest.partition("/")
        return resource if division.isdigit() else None

    def _split(self, resource: str) -> tuple[str, str | None]:
        """`url(guid'…')/Nav` -> (`url`, `Nav`); a path without a key is an endpoint, or an endpoint and a segment."""
        if "(" in resource:
            url, _, rest = resource.partition("(")
            _, _, after = rest.partition(")")
            return url, (after.strip("/") or None)
        if self.endpoint(resource) is None and "/" in resource:
            url, _, sub = resource.rpartition("/")
            if self.endpoint(url) is not None:
                return url, sub
        return resource, None

    def problems(self, request: httpx.Request) -> list[str]:
        """Everything about `request` the reference does not list; empty when every name is in it."""
        resource = self.resource(request.url.path)
        where = f"{request.method} {request.url.path}"
        if resource is None:
            return [f"{where}: not a path of the Exact Online REST API (/api/v1/…)"]
        url, sub = self._split(resource)
        endpoint = self.endpoint(url)
        if endpoint is None:
            return [f"{where}: the reference has no endpoint {url!r}"]
        where = f"{request.method} {endpoint.url}"
        found: list[str] = []
        target = endpoint
        if sub is not None and sub != "$count":
            line = self.line_entity(endpoint, sub)
            if line is None:
                return [f"{where}: {sub!r} is not a collection field of {endpoint.entity}"]
            target, where = line, f"{where}/{sub}"
        found += self._query_problems(request, target, where)
        found += self._body_problems(request, target, where)
        return found

    def _query_problems(self, request: httpx.Request, endpoint: Endpoint, where: str) -> list[str]:
        found: list[str] = []
        allowed = FUNCTION_PARAMETERS.get(endpoint.url.lower(), frozenset())
        for name in request.url.params:
            if name in SYSTEM_OPTIONS or name in FIELD_OPTIONS or name in allowed:
                continue
            found.append(f"{where}: query parameter {name!r} is neither an OData option nor a documented parameter")
        params = request.url.params
        for text in params.get_list("$select"):
            for item in (part.strip() for part in text.split(",")):
                if item and item != "*":
                    found += self._path_problems(endpoint, item, where, "$select")
        for text in params.get_list("$expand"):
            for nav in (part.strip() for part in text.split(",")):
                if nav and self.line_entity(endpoint, nav) is None:
                    found.append(f"{where}: $expand {nav!r} is not a collection field of {endpoint.entity}")
        for option in ("$filter", "$orderby"):
            for text in params.get_list(option):
                try:
                    names = filter_properties(text)
                except ValueError as exc:
                    found.append(f"{where}: {option}: {exc}")
                    continue
                for name in names:
                    found += self._path_problems(endpoint, name, where, option)
        return found

    def _path_problems(self, endpoint: Endpoint, path: str, where: str, option: str) -> list[str]:
        head, _, tail = path.partition("/")
        if head not in endpoint.fields:
            return [f"{where}: {option} names {head!r}, which is not a field of {endpoint.entity} ({endpoint.url})"]
        if not tail or tail == "*":
            return []
        line = self.line_entity(endpoint, head)
        if line is None:
            return [f"{where}: {option} {path!r}: {head!r} is not a collection field"]
        if tail not in line.fields:
            return [f"{where}: {option} names {path!r}: {tail!r} is not a field of {line.entity}"]
        return []

    def _body_problems(self, request: httpx.Request, endpoint: Endpoint, where: str) -> list[str]:
        if not request.content:
            return []
        try:
            body = json.loads(request.content)
        except ValueError:
            return [f"{where}: the body is not JSON"]
        return self._member_problems(body, endpoint, where, "")

    def _member_problems(self, body: Any, endpoint: Endpoint, where: str, prefix: str) -> list[str]:
        if not isinstance(body, dict):
            return [f"{where}: body{prefix} is not a JSON object"]
        found: list[str] = []
        for name, value in body.items():
            if name not in endpoint.fields:
                found.append(f"{where}: body member {prefix}{name!r} is not a field of {endpoint.entity}")
                continue
            line = self.line_entity(endpoint, name)
            if line is not None and isinstance(value, list):
                for index, item in enumerate(value):
                    found += self._member_problems(item, line, where, f"{prefix}{name}[{index}].")
        return found
