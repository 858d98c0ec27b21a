"""Bounds of a mapping's value maps (issue 18): every table is finite, and a table named `*_by_country` is keyed by
ISO 3166-1 alpha-2 codes.

The numbers are the flows' options' (`flows.limits`): at most 500 entries, keys and text values of at most 200
characters (a code, a GUID, a GL account: far below it). A value is text, a number, true/false or null, the
things a target field takes from a table. A `*_by_country` table is looked up with what `country_iso2` gives (two
upper-case letters), so a key that is no such code (`nl`, `NLD`, `XX`, `*`) could never be found: refused, with
the value map's `default` named as the value for every other country.

The checks return `(loc, message)` pairs, loc inside the checked object, so a caller can name the entry at fault
(`app.flowconfig.resolve` answers 422 at `mapping_overrides.<mapping>.value_maps.<map>.table.<key>`); the spec
models run them too, so no mapping (a shipped default, an inline table, overrides merged) holds more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mapping.countries import ISO_3166_ALPHA2

MAX_TABLE_ENTRIES: Final = 500  # entries of one value map, and value maps of one mapping
MAX_TABLE_TEXT: Final = 200  # characters of a key, a text value, a value map's name
COUNTRY_TABLE_SUFFIX: Final = "_by_country"

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]

_SCALARS = (str, int, float, bool)


def is_country_table(name: str) -> bool:
    """Whether the value map `name` is keyed by country codes (its name ends with `_by_country`)."""
    return name.endswith(COUNTRY_TABLE_SUFFIX)


def _too_long(text: str) -> str | None:
    if len(text) > MAX_TABLE_TEXT:
        return f"String should have at most {MAX_TABLE_TEXT} characters"
    return None


def value_problem(value: Any) -> str | None:
    """What is wrong with a table's value (or a value map's `default`), or None."""
    if value is None:
        return None
    if not isinstance(value, _SCALARS):
        return "a value map's value is text, a number, true/false or null"
    return _too_long(value) if isinstance(value, str) else None


def country_key_problem(key: str) -> str | None:
    """What is wrong with a key of a `*_by_country` table, or None."""
    if key in ISO_3166_ALPHA2:
        return None
    if key == "*":
        return "must be a country code (ISO 3166-1 alpha-2); for every other country set the value map's default"
    if len(key) != 2 or not key.isascii() or not key.isalpha():
        return "must be a country code of two letters (ISO 3166-1 alpha-2), e.g. NL"
    if key.upper() in ISO_3166_ALPHA2:
        return f"write country codes in upper case: {key.upper()} (country_iso2 gives upper case)"
    return f"{key.upper()} is not an ISO 3166-1 alpha-2 country code"


def table_problems(table: Mapping[str, Any], *, countries: bool = False) -> Problems:
    """What is wrong with a value map's table: loc `()` for the whole table, `(key, "[key]")` for a key,
    `(key,)` for a value. A table too large is one problem, however bad its entries."""
    if len(table) > MAX_TABLE_ENTRIES:
        return [((), f"a value map has at most {MAX_TABLE_ENTRIES} entries, not {len(table)}")]
    problems: Problems = []
    for key, value in table.items():
        key_problem = _too_long(key) or (country_key_problem(key) if countries else None)
        if key_problem is not None:
            problems.append(((key, "[key]"), key_problem))
        if (problem := value_problem(value)) is not None:
            problems.append(((key,), problem))
    return problems


def value_map_problems(name: str, value_map: Mapping[str, Any]) -> Problems:
    """What is wrong with one value map (as written in a mapping or an override): its table and its default."""
    problems: Problems = []
    table = value_map.get("table")
    if isinstance(table, Mapping):
        problems.extend((("table", *loc), msg) for loc, msg in table_problems(table, countries=is_country_table(name)))
    if (problem := value_problem(value_map.get("default"))) is not None:
        problems.append((("default",), problem))
    return problems


def override_problems(overrides: Any) -> Problems:
    """What is wrong with the value maps of a mapping's overrides (`{"value_maps": {name: {"table": ...}}}`), loc
    from `value_maps`. Shapes that are not objects are left to `merge_overrides`, which names them."""
    maps = overrides.get("value_maps") if isinstance(overrides, Mapping) else None
    if not isinstance(maps, Mapping):
        return []
    if len(maps) > MAX_TABLE_ENTRIES:
        return [(("value_maps",), f"a mapping has at most {MAX_TABLE_ENTRIES} value maps, not {len(maps)}")]
    problems: Problems = []
    for name, change in maps.items():
        if (problem := _too_long(name)) is not None:
            problems.append((("value_maps", name, "[key]"), problem))
        elif isinstance(change, Mapping):
            problems.extend((("value_maps", name, *loc), msg) for loc, msg in value_map_problems(name, change))
    return problems


def describe(problems: Problems) -> str:
    """The first problem as one line, its loc dotted (`table.XX[key]: ...`), for a spec model's error."""
    loc, message = problems[0]
    where = ".".join(str(part) for part in loc).replace(".[key]", "[key]")
    return f"{where}: {message}" if where else message
