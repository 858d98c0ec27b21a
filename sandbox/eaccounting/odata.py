"""The OData v4 subset the eAccounting API documents for `$filter` and `$orderby`.

developer.vismaonline.com/docs/filtering lists `eq ne gt ge lt le`, `and`/`or`, `startswith`, `endswith`,
`contains`, `length`, and `year/month/day/hour/minute/second` on datetimes, with unquoted datetime literals
such as `ChangedUtc gt 2016-12-31T23:59:59.00Z`. Like the real (ASP.NET OData) parser this one is typed:
comparing a datetime field with a quoted string, or naming a property the type does not have, is an error,
not an empty result. Filters compile once into a Python predicate, so a 10,000-row list stays cheap.
Lambda operators (`Rows/any(...)`) are not simulated and are refused with a message saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .errors import validation_error

__all__ = ["compile_filter", "compile_orderby", "field_kind", "parse_datetime", "sort_rows"]

Row = Mapping[str, Any]
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]

_TOKEN_RE = re.compile(
    r"""\s*(?:
    (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))
    |(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
    |(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
    |(?P<number>-?\d+(?:\.\d+)?)(?![\w.])
    |(?P<string>'(?:[^']|'')*')
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<punct>[(),])
    )""",
    re.VERBOSE,
)

_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_OP_NAMES = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}
_EDM = {
    "string": "Edm.String",
    "number": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
    "date": "Edm.Date",
    "null": "null",
}


def parse_datetime(value: str) -> datetime:
    """An API datetime string as an aware UTC datetime (naive values are UTC, as the API's are)."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if "." in text:  # .NET writes up to 7 fractional digits; Python takes at most 6
        head, _, tail = text.partition(".")
        digits = re.match(r"\d*", tail)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{tail[len(frac) :]}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def field_kind(schema: Mapping[str, Any]) -> str:
    """The filter type of a property from its Swagger schema."""
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "string" and fmt == "date-time":
        return "datetime"
    if kind == "string" and fmt == "uuid":
        return "guid"
    if kind in ("integer", "number"):
        return "number"
    if kind in ("string", "boolean"):
        return str(kind)
    return "complex"


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


@dataclass(frozen=True)
class _Operand:
    kind: str
    get: Getter


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise validation_error(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


def _coerce(kind: str, value: Any) -> Any:
    """A stored value in the form comparisons use (datetimes parsed, GUIDs lower-cased)."""
    if value is None:
        return None
    if kind == "datetime":
        return parse_datetime(value) if isinstance(value, str) else value
    if kind == "guid":
        return str(value).lower()
    return value


class _Parser:
    def __init__(self, text: str, properties: Mapping[str, Any], type_name: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.properties = properties
        self.type_name = type_name

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise validation_error(f"Unexpected end of expression in '{self.text}'.")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise validation_error(f"Expected '{text}' but found '{token.text}' in '{self.text}'.")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "ident" and token.text in words:
            self.pos += 1
            return token.text
        return None

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise validation_error(f"Syntax error: unexpected '{self.take().text}' in '{self.text}'.")
        return predicate

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.keyword("or"):
            right = self.and_expr()
            left = _or(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.not_expr()
        while self.keyword("and"):
            right = self.not_expr()
            left = _and(left, right)
        return left

    def not_expr(self) -> Predicate:
        if self.keyword("not"):
            inner = self.not_expr()
            return lambda row: not inner(row)
        return self.comparison()

    def comparison(self) -> Predicate:
        left = self.operand()
        op = self.keyword(*_COMPARE)
        if op is None:
            if left.kind != "boolean":
                raise validation_error(f"The $filter expression '{self.text}' must evaluate to a boolean.")
            get = left.get
            return lambda row: get(row) is True
        right = self.operand()
        return self.compare(op, left, right)

    def compare(self, op: str, left: _Operand, right: _Operand) -> Predicate:
        kinds = {left.kind, right.kind}
        compatible = left.kind == right.kind or "null" in kinds
        if not compatible:
            raise validation_error(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{_EDM.get(left.kind, left.kind)}' and '{_EDM.get(right.kind, right.kind)}' "
                f"for operator kind '{_OP_NAMES[op]}'."
            )
        if "null" in kinds and op not in ("eq", "ne"):
            raise validation_error(f"The operator '{op}' cannot be applied to null in '{self.text}'.")
        lget, rget = left.get, right.get
        if op == "eq":
            return lambda row: bool(lget(row) == rget(row))
        if op == "ne":
            return lambda row: bool(lget(row) != rget(row))
        return _ordered(op, lget, rget)

    def operand(self) -> _Operand:
        token = self.take()
        if token.kind == "punct" and token.text == "(":
            inner = self.or_expr()
            self.expect(")")
            return _Operand("boolean", inner)
        if token.kind == "datetime":
            value = parse_datetime(token.text)
            return _Operand("datetime", lambda _row: value)
        if token.kind == "guid":
            guid = token.text.lower()
            return _Operand("guid", lambda _row: guid)
        if token.kind == "date":
            raise validation_error(
                f"The date literal '{token.text}' is not supported: use a full datetime such as {token.text}T00:00:00Z."
            )
        if token.kind == "number":
            number = Decimal(token.text)
            return _Operand("number", lambda _row: number)
        if token.kind == "string":
            literal = token.text[1:-1].replace("''", "'")
            return _Operand("string", lambda _row: literal)
        if token.kind == "ident":
            return self.identifier(token.text)
        raise validation_error(f"Syntax error: unexpected '{token.text}' in '{self.text}'.")

    def identifier(self, name: str) -> _Operand:
        if name in ("true", "false"):
            flag = name == "true"
            return _Operand("boolean", lambda _row: flag)
        if name == "null":
            return _Operand("null", lambda _row: None)
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            return self.function(name)
        if "/" in name:
            raise validation_error(f"Navigation and lambda expressions ('{name}') are not supported by the simulator.")
        schema = self.properties.get(name)
        if schema is None:
            raise validation_error(f"Could not find a property named '{name}' on type '{self.type_name}'.")
        kind = field_kind(schema)
        if kind == "complex":
            raise validation_error(f"The property '{name}' cannot be used in $filter (not a primitive type).")
        return _Operand(kind, lambda row: _coerce(kind, row.get(name)))

    def function(self, name: str) -> _Operand:
        self.expect("(")
        args = [self.operand()]
        while self.peek() is not None and self.peek() == _Token("punct", ","):
            self.take()
            args.append(self.operand())
        self.expect(")")
        lowered = name.lower()
        if lowered in ("contains", "startswith", "endswith"):
            self.arity(name, args, 2, "string")
            hay, needle = args[0].get, args[1].get
            method = {"contains": str.__contains__, "startswith": str.startswith, "endswith": str.endswith}[lowered]
            return _Operand("boolean", lambda row: _string_test(method, hay(row), needle(row)))
        if lowered in ("tolower", "toupper"):
            self.arity(name, args, 1, "string")
            get = args[0].get
            upper = lowered == "toupper"
            return _Operand("string", lambda row: _case(get(row), upper))
        if lowered == "length":
            self.arity(name, args, 1, "string")
            get = args[0].get
            return _Operand("number", lambda row: None if get(row) is None else Decimal(len(get(row))))
        if lowered in ("year", "month", "day", "hour", "minute", "second"):
            self.arity(name, args, 1, "datetime")
            get = args[0].get
            return _Operand("number", lambda row: _part(get(row), lowered))
        raise validation_error(f"An unknown function with name '{name}' was found.")

    def arity(self, name: str, args: list[_Operand], count: int, kind: str) -> None:
        if len(args) != count or any(a.kind not in (kind, "null") for a in args):
            raise validation_error(f"No function signature for the function with name '{name}' matches the arguments.")


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) and right(row)


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) or right(row)


def _ordered(op: str, lget: Getter, rget: Getter) -> Predicate:
    def test(row: Row) -> bool:
        a, b = lget(row), rget(row)
        if a is None or b is None:
            return False
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)

    return test


def _string_test(method: Callable[[str, str], bool], hay: Any, needle: Any) -> bool:
    return isinstance(hay, str) and isinstance(needle, str) and method(hay, needle)


def _case(value: Any, upper: bool) -> Any:
    if not isinstance(value, str):
        return value
    return value.upper() if upper else value.lower()


def _part(value: Any, part: str) -> Decimal | None:
    if not isinstance(value, datetime):
        return None
    return Decimal(getattr(value, part))


def compile_filter(text: str, properties: Mapping[str, Any], type_name: str) -> Predicate:
    """A predicate over stored rows for an OData `$filter`; raises `ApiError` (400) on any mistake."""
    if not text.strip():
        raise validation_error("The $filter query option must not be empty.")
    if re.search(r"/(any|all)\(", text):
        raise validation_error(f"Lambda operators (any/all) in '{text}' are not supported by the simulator.")
    return _Parser(text, properties, type_name).parse()


def compile_orderby(text: str, properties: Mapping[str, Any], type_name: str) -> list[tuple[str, str, bool]]:
    """`$orderby` as [(property, kind, descending)]; only primitive properties can be ordered by."""
    out: list[tuple[str, str, bool]] = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
            raise validation_error(f"Syntax error in $orderby '{text}'.")
        schema = properties.get(parts[0])
        if schema is None:
            raise validation_error(f"Could not find a property named '{parts[0]}' on type '{type_name}'.")
        kind = field_kind(schema)
        if kind == "complex":
            raise validation_error(f"The property '{parts[0]}' cannot be used in $orderby.")
        out.append((parts[0], kind, len(parts) == 2 and parts[1].lower() == "desc"))
    return out


def sort_rows(rows: list[Row], orderby: list[tuple[str, str, bool]]) -> list[Row]:
    """Stable multi-key sort; nulls first ascending, like SQL Server."""
    result = list(rows)
    for name, kind, desc in reversed(orderby):

        def key(row: Row, name: str = name, kind: str = kind) -> tuple[int, Any]:
            value = _coerce(kind, row.get(name))
            return (0, 0) if value is None else (1, value)

        result.sort(key=key, reverse=desc)
    return result
