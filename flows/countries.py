"""Country codes in flow options: ISO 3166-1 alpha-2 (`mapping.countries` holds the list) and the option types
that check them.

Both systems name countries this way (eAccounting's `InvoiceCountryCode` has at most 2 characters in the 2020
Swagger; Exact's address `Country` is an ISO code, reference §9.2), so a per-country table keyed by anything else
can never match a record. A key is two ASCII letters; lower case is read as upper case (`nl` is `NL`) and the
stored config holds the upper-case form (`app.flowconfig.resolve`), so every reader sees `NL`. Codes ISO does not
assign (`XX`, `EL` for Greece in EU VAT lists, `XI`, `XK`) are refused: eAccounting and Exact write `GR`, `GB`.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Final

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# The one list of the codes lives with the datamapper (imports point down), which checks its `*_by_country` tables.
from mapping.countries import ISO_3166_ALPHA2 as ISO_3166_ALPHA2

ANY_COUNTRY: Final = "*"  # the key of a customers table's entry for every country it does not list


def country_code(value: str) -> str:
    """`value` as an ISO 3166-1 alpha-2 code in upper case.

    Raises:
        PydanticCustomError: not two letters, or two letters ISO does not assign.
    """
    if value == ANY_COUNTRY:
        raise PydanticCustomError("country_code", "must be a country code (ISO 3166-1 alpha-2); this table has no '*'")
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise PydanticCustomError("country_code", "must be a country code of two letters (ISO 3166-1 alpha-2), e.g. NL")
    code = value.upper()
    if code not in ISO_3166_ALPHA2:
        raise PydanticCustomError("country_code", "{code} is not an ISO 3166-1 alpha-2 country code", {"code": code})
    return code


def country_or_any(value: str) -> str:
    """A country code as `country_code` reads it, or `*` (every other country)."""
    return value if value == ANY_COUNTRY else country_code(value)


class _Country:
    """Marks an option type holding country codes: `app.flowconfig` stores such an option as it was read."""

    def __repr__(self) -> str:
        return "COUNTRY"


COUNTRY: Final = _Country()
CountryCode = Annotated[str, AfterValidator(country_code), COUNTRY]
CountryOrAny = Annotated[str, AfterValidator(country_or_any), COUNTRY]


def holds_countries(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> bool:
    """Whether a field of this annotation (and metadata) holds country codes anywhere, e.g. as a table's keys."""
    if any(m is COUNTRY for m in metadata):
        return True
    stack = [annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is Annotated and any(m is COUNTRY for m in current.__metadata__):
            return True
        stack.extend(typing.get_args(current))
    return False


def same_country_keys(keys: list[Any]) -> list[str]:
    """Keys of one table that name the same country in different case (`nl` and `NL`), which reading in upper
    case would merge into one entry silently."""
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for key in keys:
        if not isinstance(key, str):
            continue
        other = seen.setdefault(key.upper(), key)
        if other != key:
            clashes.append(f"{other!r} and {key!r}")
    return clashes
