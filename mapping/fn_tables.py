"""Table transforms: value maps (tables in the mapping), lookups (tables the flow passes in), country codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from mapping.countries import country_iso2
from mapping.errors import TransformFailed
from mapping.registry import TEXT, Builder, Params, TransformFn, transform
from mapping.spec import ValueMap
from mapping.tables import describe, value_map_problems
from mapping.values import table_key, type_name

_MISSING = object()


class ValueMapParams(Params):
    name: str | None = Field(None, description="Name of a table under the mapping's `value_maps`")
    table: dict[str, Any] | None = Field(None, description="An inline table")
    default: Any = Field(None, description="Result for unknown values (inline tables; may be null)")
    case_insensitive: bool = False

    @model_validator(mode="after")
    def _one(self) -> ValueMapParams:
        if (self.name is None) == (self.table is None):
            raise ValueError("give exactly one of 'name' or 'table'")
        if self.table is not None and (
            problems := value_map_problems("", {"table": self.table, "default": self.default})
        ):
            raise ValueError(describe(problems))  # an inline table is bounded like a named one (mapping.tables)
        return self


def _value_map_keeps_null(p: ValueMapParams, b: Builder) -> bool:
    """A table without a default maps null to null."""
    if p.name is not None:
        return not b.value_map(p.name, "value_map").has_default
    return "default" not in p.model_fields_set


@transform("value_map", params=ValueMapParams, primary="name", keeps_null=_value_map_keeps_null)
def _value_map(p: ValueMapParams, b: Builder, where: str) -> TransformFn:
    """Translate through a table (country -> VAT code, delivery method -> shipping method). An unknown value takes
    the table's `default`, or fails the record when there is none. Null input gives the default (or null)."""
    if p.name is not None:
        spec = b.value_map(p.name, f"{where}.value_map")
        label = f"value map {p.name!r}"
    else:
        spec = ValueMap.model_validate(
            {"table": p.table, "case_insensitive": p.case_insensitive}
            | ({"default": p.default} if "default" in p.model_fields_set else {})
        )
        label = "inline value map"
    fold = spec.case_insensitive
    table = {(k.casefold() if fold else k): v for k, v in spec.table.items()}
    has_default, default = spec.has_default, spec.default

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return default if has_default else None
        key = v if type(v) is str else table_key(v)
        found = table.get(key.casefold() if fold else key, _MISSING)
        if found is not _MISSING:
            return found
        if has_default:
            return default
        raise TransformFailed(f"{key!r} is not in {label} and it has no default")

    return fn


class LookupParams(Params):
    table: str = Field(..., min_length=1, description="Name of a table in the `lookups` the flow passes to map()")
    field: str | None = Field(None, description="When entries are objects, the key to take from the entry")
    default: Any = Field(None, description="Result when the key is not in the table; omit to fail instead")
    default_key: str | None = Field(None, description="Entry to use when the key is not in the table")
    case_insensitive: bool = Field(False, description="Match keys case-insensitively (the flow folds the table)")


@transform("lookup", params=LookupParams, primary="table", keeps_null=True)
def _lookup(p: LookupParams, b: Builder, _where: str) -> TransformFn:
    """Resolve a key through a table the flow fetched before mapping, e.g. an article number to an Exact Item
    GUID with ``{"lookup": "items_by_code"}``. A missing key fails the record naming the key, unless `default`
    or `default_key` is given. Null input stays null."""
    b.use_lookup(p.table)
    name, field, default_key, fold = p.table, p.field, p.default_key, p.case_insensitive
    has_default, default = "default" in p.model_fields_set, p.default

    def pick(entry: Any) -> Any:
        if field is None or entry is None:
            return entry
        if isinstance(entry, Mapping):
            return entry.get(field)
        raise TransformFailed(f"lookup {name!r}: entry is {type_name(entry)}, cannot take {field!r}")

    def fn(v: Any, _rec: Any, ctx: Any) -> Any:
        if v is None:
            return None
        lookups = ctx.lookups
        table = lookups.get(name) if lookups is not None else None
        if table is None:
            raise TransformFailed(f"lookup table {name!r} was not provided")
        key = v if type(v) is str else table_key(v)
        if fold:
            key = key.casefold()
        entry = table.get(key, _MISSING)
        if entry is _MISSING and default_key is not None:
            entry = table.get(default_key, _MISSING)
        if entry is _MISSING:
            if has_default:
                return default
            raise TransformFailed(f"{key!r} not found in lookup {name!r}")
        return entry if field is None else pick(entry)

    return fn


class CountryParams(Params):
    default: Any = Field(None, description="Result for unknown countries; omit to fail instead")


@transform(
    "country_iso2", params=CountryParams, primary="default", accepts=frozenset({TEXT}), returns=TEXT, keeps_null=True
)
def _country_iso2(p: CountryParams, _b: Builder, _where: str) -> TransformFn:
    """ISO 3166 alpha-2 code (upper case) from a code ('nl', 'NLD') or a name ('Nederland', 'Sverige')."""
    has_default, default = "default" in p.model_fields_set, p.default

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, str):
            raise TransformFailed(f"expected a country, got {type_name(v)}")
        if not v.strip():
            return default if has_default else None
        code = country_iso2(v)
        if code is not None:
            return code
        if has_default:
            return default
        raise TransformFailed(f"unknown country {v[:40]!r}")

    return fn
