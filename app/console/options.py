"""A flow's options as form fields, and back (pure): the options model decides the fields, their kinds and texts.

Simple options get a control of their own (a checkbox, a choice, a number, a line of text); lists and tables are
edited as JSON. The stored config is then validated by the same code as `PUT /flows/{flow}/config`, so the form
cannot store what the API would refuse.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Literal

from pydantic import BaseModel

_EXPLAIN = {
    "missing_sku": "What an order naming a SKU that Exact does not have does: fail (and wait for you to create the "
    "item in Exact) or create the item in Exact.",
    "customer_match": "How an order's customer is found in Exact: by e-mail address, customer number or VAT number.",
    "source": "Which eAccounting documents to transfer: orders or customer invoices.",
}


@dataclass(slots=True)
class Field:
    name: str
    title: str
    help: str
    kind: str  # bool | choice | number | text | json
    value: str
    checked: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    error: str | None = None


def _kind(annotation: Any) -> tuple[str, tuple[str, ...], bool]:
    """(kind, choices, optional) of a field's annotation."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    optional = False
    if origin in (typing.Union, UnionType) and NoneType in args:
        rest = [a for a in args if a is not NoneType]
        optional = True
        if len(rest) == 1:
            annotation = rest[0]
            args, origin = typing.get_args(annotation), typing.get_origin(annotation)
    if annotation is bool:
        return "bool", (), optional
    if origin is Literal and all(isinstance(a, str) for a in args):
        return "choice", tuple(str(a) for a in args), optional
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice", tuple(str(m.value) for m in annotation), optional
    if annotation in (int, float):
        return "number", (), optional
    if annotation is str or (isinstance(annotation, type) and annotation.__name__ in ("date", "Decimal")):
        return "text", (), optional
    return "json", (), optional


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, indent=1, default=str)
    return str(value)


def _where(inside: list[str]) -> str:
    """Where inside an option an error is, in words: `NL` (an entry), `the key XX` (a table's key)."""
    if inside and inside[-1] == "[key]":
        return f"the key {'.'.join(inside[:-1])}"
    return ".".join(inside)


def field_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Each option's errors as one text, a line each (loc `options.<name>...` or `<name>...`), naming the entry or
    key at fault when the error is inside a table or list: `the key XX: XX is not ...`, `NL: String should ...`."""
    by_name: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", [])]
        if loc and loc[0] == "options" and len(loc) > 1:
            loc = loc[1:]
        name, inside = (loc[0], loc[1:]) if loc else ("", [])
        message = str(error.get("msg", "invalid"))
        by_name.setdefault(name, []).append(f"{_where(inside)}: {message}" if inside else message)
    return {name: "\n".join(messages) for name, messages in by_name.items()}


def form_fields(
    model: type[BaseModel],
    stored: dict[str, Any],
    errors: list[dict[str, Any]],
    submitted: Mapping[str, str] | None = None,
) -> list[Field]:
    """One field per option, showing the stored value (else the default) and the errors naming it, if any.

    `submitted`: the refused form (its `field:<name>`/`opt:<name>` entries); the options it names show what was
    typed, so a person corrects their text instead of typing it again."""
    by_name = field_errors(errors)
    fields = []
    defaults = model().model_dump(mode="json") if _constructible(model) else {}
    for name, info in model.model_fields.items():
        kind, choices, optional = _kind(info.annotation)
        value = stored.get(name, defaults.get(name))
        shown, checked = _shown(value, kind), bool(value) if kind == "bool" else False
        if submitted is not None and f"field:{name}" in submitted:
            typed = submitted.get(f"opt:{name}", "")
            shown, checked = (shown, typed == "on") if kind == "bool" else (typed, False)
        fields.append(
            Field(
                name=name,
                title=name.replace("_", " ").capitalize(),
                help=info.description or _EXPLAIN.get(name, ""),
                kind=kind,
                value=shown,
                checked=checked,
                choices=choices,
                optional=optional,
                error=by_name.get(name),
            )
        )
    return fields


def _constructible(model: type[BaseModel]) -> bool:
    try:
        model()
    except Exception:
        return False
    return True


def options_from_form(model: type[BaseModel], form: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The options the form describes (checkboxes absent mean false; empty optional fields mean none), and the
    errors of fields that are not even JSON. Only fields the form names (`field:<name>`) are taken."""
    options: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name, info in model.model_fields.items():
        if f"field:{name}" not in form:
            continue
        kind, _, optional = _kind(info.annotation)
        raw = form.get(f"opt:{name}", "")
        if kind == "bool":
            options[name] = raw == "on"
        elif raw.strip() == "" and (optional or kind == "json"):
            options[name] = None if optional else info.get_default(call_default_factory=True)
        elif kind == "json":
            try:
                options[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                errors.append({"loc": ["options", name], "msg": f"not valid JSON: {exc.msg} (line {exc.lineno})"})
        else:
            options[name] = raw.strip()
    return options, errors
