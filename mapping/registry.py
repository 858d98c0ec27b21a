"""The registry of named transforms. A transform is compiled once into ``fn(value, record, ctx) -> value``.

A mapping names transforms as ``"upper"``, ``{"truncate": 60}`` (the scalar is the transform's main parameter)
or ``{"round": {"places": 2, "mode": "half_even"}}``. Each transform declares the parameters it takes (a pydantic
model, so they are checked at compile time and exported in the JSON Schema) and, where known, the kinds of value
it accepts and returns, so that e.g. ``upper`` after ``to_decimal`` is refused at compile time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from mapping.conditions import CompiledCondition
from mapping.errors import MappingSpecError
from mapping.paths import Getter
from mapping.spec import Condition, ValueMap

TransformFn = Callable[[Any, Any, Any], Any]

TEXT, DECIMAL, INTEGER, BOOLEAN, DATETIME, DATE, LIST = (
    "text",
    "decimal",
    "integer",
    "boolean",
    "datetime",
    "date",
    "list",
)
NUMERIC = frozenset({DECIMAL, INTEGER})
SAME = "same"  # returns the kind it was given


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Builder(Protocol):
    """What a transform factory may ask of the compiler."""

    def getter(self, path: str, where: str) -> Getter: ...

    def value_map(self, name: str, where: str) -> ValueMap: ...

    def condition(self, cond: Condition, where: str) -> CompiledCondition: ...

    def use_lookup(self, table: str) -> None: ...


Factory = Callable[[Any, Builder, str], TransformFn]


@dataclass(frozen=True, slots=True)
class TransformDef:
    name: str
    factory: Factory
    params: type[Params] | None
    primary: str | None  # the parameter a scalar shorthand sets: {"truncate": 60}
    accepts: frozenset[str] | None  # None: any kind
    returns: str | None  # None: unknown, SAME: as given
    doc: str
    # Null in, null out (so a null source skips the chain): True, or decided per use from the parameters.
    keeps_null: bool | Callable[[Any, Builder], bool] = False


REGISTRY: dict[str, TransformDef] = {}


def transform(
    name: str,
    *,
    params: type[Params] | None = None,
    primary: str | None = None,
    accepts: frozenset[str] | set[str] | None = None,
    returns: str | None = None,
    keeps_null: bool | Callable[[Any, Builder], bool] = False,
) -> Callable[[Factory], Factory]:
    """Register a transform factory under `name` (its docstring is the user-facing description)."""

    def register(factory: Factory) -> Factory:
        REGISTRY[name] = TransformDef(
            name=name,
            factory=factory,
            params=params,
            primary=primary,
            accepts=frozenset(accepts) if accepts is not None else None,
            returns=returns,
            doc=" ".join((factory.__doc__ or "").split()),
            keeps_null=keeps_null,
        )
        return factory

    return register


def parse_entry(entry: Any, where: str) -> tuple[TransformDef, Any]:
    """The definition and validated parameters of one ``transforms`` entry."""
    if isinstance(entry, str):
        name, raw = entry, None
    elif isinstance(entry, dict) and len(entry) == 1:
        ((name, raw),) = entry.items()
    else:
        raise MappingSpecError(where, "a transform is a name or an object with exactly one key (its name)")
    definition = REGISTRY.get(name)
    if definition is None:
        raise MappingSpecError(where, f"unknown transform {name!r}")
    if definition.params is None:
        if raw not in (None, {}, True):
            raise MappingSpecError(where, f"transform {name!r} takes no parameters")
        return definition, None
    if raw is None:
        raw = {}
    elif not isinstance(raw, dict):
        if definition.primary is None:
            raise MappingSpecError(where, f"transform {name!r} takes an object of parameters")
        raw = {definition.primary: raw}
    try:
        return definition, definition.params.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise MappingSpecError(where, f"transform {name!r}: {loc + ': ' if loc else ''}{first['msg']}") from None
