"""The JSON mapping format as pydantic models (``extra="forbid"``: a typo in a key is an error, not a no-op).

A mapping names its target fields under ``fields``; each field has one rule (see `FieldRule`). The format is
documented with examples in ``docs/mapping.md`` and exported as JSON Schema by `mapping.mapping_json_schema`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mapping.tables import (
    MAX_TABLE_ENTRIES,
    MAX_TABLE_TEXT,
    describe,
    is_country_table,
    table_problems,
    value_map_problems,
)

On = Literal["create", "update", "always"]
Op = Literal["eq", "ne", "in", "not_in", "exists", "missing", "gt", "ge", "lt", "le", "truthy", "falsy"]
TransformEntry = str | dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(_Strict):
    """A test over a source path: ``{"path": "Status", "op": "in", "value": [2, 3]}``, or a combination with
    ``all`` / ``any`` / ``not``. ``null`` and a missing key are the same: ``exists`` is false for both."""

    path: str | None = Field(None, description="Source path; omitted inside `choose`: the value being transformed")
    op: Op | None = Field(
        None, description="Comparison; a number operand compares numbers (numeric text too), text compares text"
    )
    value: Any = Field(None, description="Operand of eq/ne/gt/ge/lt/le, list for in/not_in")
    all: list[Condition] | None = Field(None, description="True when every condition is true")
    any: list[Condition] | None = Field(None, description="True when at least one condition is true")
    not_: Condition | None = Field(None, alias="not", description="True when the condition is false")
    reason: str | None = Field(None, description="Readable reason recorded when a filter skips a record")

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [k for k in ("all", "any", "not_") if getattr(self, k) is not None]
        if self.op is not None:
            kinds.append("op")
        if len(kinds) != 1:
            raise ValueError("a condition needs exactly one of 'op' (with 'path'), 'all', 'any' or 'not'")
        if self.op is None and self.path is not None:
            raise ValueError("'path' needs an 'op'")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list 'value'")
        return self


class ValueMap(_Strict):
    """A lookup table in the mapping itself (country -> VAT code, ...). Keys are text: ``1``, ``1.0`` and ``"1"``
    all find ``"1"``. Without ``default``, a value missing from the table is a `MappingError`. Bounded
    (`mapping.tables`): at most 500 entries, keys and text values of at most 200 characters."""

    table: dict[str, Any] = Field(
        default_factory=dict,
        json_schema_extra={"maxProperties": MAX_TABLE_ENTRIES, "propertyNames": {"maxLength": MAX_TABLE_TEXT}},
    )
    default: Any = Field(None, description="Result for values not in the table (may be null); omit to fail instead")
    case_insensitive: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ValueMap:
        problems = value_map_problems("", {"table": self.table, "default": self.default})
        if problems:
            raise ValueError(describe(problems))
        return self

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class ExtraItem(_Strict):
    """An item appended after the mapped ones when `when` holds, e.g. a shipping-costs line. Its field paths read
    from the record itself (the order), not from a row."""

    when: Condition | None = None
    fields: dict[str, FieldRule]
    description: str | None = None


class ItemsSpec(_Strict):
    """How each element of the source list becomes one target item; paths are relative to the element
    (use ``$.`` for the record)."""

    fields: dict[str, FieldRule]
    filters: list[Condition] = Field(default_factory=list, description="Elements failing one are left out")


class FieldRule(_Strict):
    """One target field. Value: ``source`` (a path) or ``const``; then ``default`` when that is null or missing;
    then ``transforms`` in order. ``fields`` builds an object, ``items`` a list from a source list."""

    source: str | None = Field(None, description="Source path, e.g. 'Rows[*]', '$.CurrencyCode', 'Customer.Name'")
    const: Any = Field(None, description="A constant value instead of a source path")
    default: Any = Field(None, description="Used when the source value is null or missing (before transforms)")
    transforms: list[TransformEntry] = Field(default_factory=list, description="Named transforms, applied in order")
    on: On = Field("always", description="'create': never sent on update; 'update': only on update")
    when: Condition | None = Field(None, description="Field is produced only when this holds (else `else`)")
    else_: FieldRule | None = Field(None, alias="else", description="Rule used when `when` does not hold")
    if_missing: Literal["omit", "null", "error"] = Field(
        "omit", description="When the result is null: leave the field out, send null, or fail the record"
    )
    fields: dict[str, FieldRule] | None = Field(None, description="Nested object (paths relative to `source`)")
    items: ItemsSpec | None = Field(None, description="List mapping: one item per element of `source`")
    extra_items: list[ExtraItem] = Field(default_factory=list, description="Items appended after the mapped ones")
    description: str | None = None

    @property
    def has_const(self) -> bool:
        return "const" in self.model_fields_set

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class MappingSpec(_Strict):
    """A whole mapping document: one source record in, one target payload out."""

    schema_: str | None = Field(None, alias="$schema", description="Optional JSON Schema reference for editors")
    version: str = Field(..., pattern=r"^\d+(\.\d+){0,2}$", description="Version of this mapping, e.g. '1.2.0'")
    name: str | None = None
    description: str | None = None
    source: str | None = Field(None, description="What the record is, e.g. 'eaccounting.Order'")
    target: str | None = Field(None, description="What the payload is, e.g. 'exact.SalesOrder' (checks required)")
    required: list[str] = Field(default_factory=list, description="Extra target fields that must be mapped")
    value_maps: dict[str, ValueMap] = Field(
        default_factory=dict,
        max_length=MAX_TABLE_ENTRIES,
        description="Tables users own; one named `*_by_country` is keyed by ISO 3166-1 alpha-2 codes (NL)",
    )
    filters: list[Condition] = Field(default_factory=list, description="Records failing one are skipped")
    fields: dict[str, FieldRule]

    @model_validator(mode="after")
    def _country_tables(self) -> MappingSpec:
        for name, value_map in self.value_maps.items():
            if len(name) > MAX_TABLE_TEXT:
                raise ValueError(f"value map names have at most {MAX_TABLE_TEXT} characters")
            if is_country_table(name) and (problems := table_problems(value_map.table, countries=True)):
                raise ValueError(describe([(("value_maps", name, "table", *loc), msg) for loc, msg in problems]))
        return self


ExtraItem.model_rebuild()
ItemsSpec.model_rebuild()
FieldRule.model_rebuild()
