"""The datamapper: JSON mappings, validated and compiled once, run as pure functions (see docs/mapping.md).

spec = merge_overrides(load_default("orders_to_exact_sales_order"), user_overrides)
compiled = compile_mapping(spec)                 # MappingSpecError names the JSON path at fault
result = compiled.map(order, lookups=tables)     # MappingError names target field and source path
preview = compiled.dry_run(order, lookups=tables).to_dict()
"""

from mapping.compiler import CompiledMapping, compile_mapping
from mapping.defaults import default_names, load_default, load_default_document, merge_overrides
from mapping.errors import MappingError, MappingSpecError
from mapping.registry import REGISTRY as TRANSFORMS
from mapping.results import DryRun, MapResult, TraceEntry
from mapping.schema import mapping_json_schema
from mapping.spec import Condition, ExtraItem, FieldRule, ItemsSpec, MappingSpec, ValueMap
from mapping.values import jsonable

__all__ = [
    "TRANSFORMS",
    "CompiledMapping",
    "Condition",
    "DryRun",
    "ExtraItem",
    "FieldRule",
    "ItemsSpec",
    "MapResult",
    "MappingError",
    "MappingSpec",
    "MappingSpecError",
    "TraceEntry",
    "ValueMap",
    "compile_mapping",
    "default_names",
    "jsonable",
    "load_default",
    "load_default_document",
    "mapping_json_schema",
    "merge_overrides",
]
