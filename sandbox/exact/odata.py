"""OData v2 query options as Exact serves them: `$filter`, `$select`, `$orderby`, `$top`, `$skiptoken`.

`$filter` is tokenised and parsed into a small AST (never evaluated with `eval`), type-checked against the
entity's property kinds the way WCF Data Services does (`ID eq 'x'` on a GUID is a 400), then compiled to a
predicate. String comparisons are case-insensitive and ignore trailing spaces, as SQL Server's default
collation does; leading spaces count, which is why the 18-character `Account.Code` needs padding (§4.4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.exact.errors import bad_request
from sandbox.exact.wire import parse_guid, parse_local_datetime

__all__ = ["Cmp", "Node", "Predicate", "compile_filter", "parse_filter", "parse_orderby", "parse_select"]

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<typed>(?:guid|datetime|datetimeoffset|X|binary|time)'(?:[^']|'')*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_FUNCTIONS = {"substringof": 2, "startswith": 2, "endswith": 2, "trim": 1, "tolower": 1, "toupper": 1, "length": 1}


@dataclass(frozen=True)
class Lit:
    kind: str  # str, guid, datetime, number, bool, null
    value: Any


@dataclass(frozen=True)
class Prop:
    name: str


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Cmp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logic:
    op: str  # and, or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Lit | Prop | Func | Cmp | Logic | Not


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise bad_request(f"Syntax error at position {pos} in '$filter={text}'")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def error(self, what: str) -> Exception:
        return bad_request(f"Syntax error in '$filter={self.text}': {what}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise self.error(f"expected '{value}', found '{token[1]}'")

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "ident" and token[1] == word

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise self.error(f"unexpected '{self.peek()[1]}'")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at_word("or"):
            self.take()
            node = Logic("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.at_word("and"):
            self.take()
            node = Logic("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.at_word("not"):
            self.take()
            return Not(self.not_expr())
        left = self.primary()
        token = self.peek()
        if token is not None and token[0] == "ident" and token[1] in _COMPARISONS:
            self.take()
            return Cmp(token[1], left, self.primary())
        return left

    def primary(self) -> Node:
        kind, value = self.take()
        if value == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "string":
            return Lit("str", value[1:-1].replace("''", "'"))
        if kind == "typed":
            prefix, _, rest = value.partition("'")
            body = rest[:-1].replace("''", "'")
            if prefix == "guid":
                try:
                    return Lit("guid", parse_guid(body))
                except ValueError:
                    raise self.error(f"invalid GUID literal {value}") from None
            if prefix in ("datetime", "datetimeoffset"):
                try:
                    return Lit("datetime", parse_local_datetime(body))
                except ValueError:
                    raise self.error(f"invalid datetime literal {value}") from None
            raise self.error(f"unsupported literal {value}")
        if kind == "number":
            try:
                return Lit("number", Decimal(value.rstrip("LlMmDdFf")))
            except InvalidOperation:
                raise self.error(f"invalid number {value}") from None
        if kind == "ident":
            if value in ("true", "false"):
                return Lit("bool", value == "true")
            if value == "null":
                return Lit("null", None)
            nxt = self.peek()
            if nxt is not None and nxt[1] == "(":
                if value not in _FUNCTIONS:
                    raise self.error(f"unknown function '{value}'")
                self.take()
                args: list[Node] = [self.or_expr()]
                while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                    self.take()
                    args.append(self.or_expr())
                self.expect(")")
                if len(args) != _FUNCTIONS[value]:
                    raise self.error(f"function '{value}' takes {_FUNCTIONS[value]} argument(s)")
                return Func(value, tuple(args))
            if "/" in value:
                # Reference §4.4: filtering on a navigation property is not supported.
                raise bad_request(f"Filtering on navigation property '{value}' is not supported")
            return Prop(value)
        raise self.error(f"unexpected '{value}'")


def parse_filter(text: str) -> Node:
    return _Parser(text).parse()


# --- type checking and compilation ----------------------------------------------------------------

_NUMERIC = frozenset({"int", "decimal", "number"})


def _kind(node: Node, kinds: Mapping[str, str]) -> str:
    if isinstance(node, Lit):
        return node.kind
    if isinstance(node, Prop):
        if node.name not in kinds:
            raise bad_request(f"No property '{node.name}' exists in type '{kinds.get('__type__', 'entity')}'")
        return kinds[node.name]
    if isinstance(node, Func):
        if node.name == "length":
            return "int"
        if node.name in ("trim", "tolower", "toupper"):
            return "str"
        return "bool"
    return "bool"


def _compatible(left: str, right: str) -> bool:
    if "null" in (left, right):
        return True
    if left in _NUMERIC and right in _NUMERIC:
        return True
    return left == right


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.rstrip(" ").casefold()
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def compile_filter(node: Node, kinds: Mapping[str, str]) -> Predicate:
    """Type-check `node` against property `kinds` and return a predicate over stored records."""
    value_fn = _compile_value(node, kinds)
    return lambda record: value_fn(record) is True


def _compile_value(node: Node, kinds: Mapping[str, str]) -> Callable[[Record], Any]:
    if isinstance(node, Lit):
        constant = node.value
        return lambda _record: constant
    if isinstance(node, Prop):
        _kind(node, kinds)
        name = node.name
        return lambda record: record.get(name)
    if isinstance(node, Not):
        inner = _compile_value(node.operand, kinds)
        return lambda record: inner(record) is not True
    if isinstance(node, Logic):
        left, right = _compile_value(node.left, kinds), _compile_value(node.right, kinds)
        if node.op == "and":
            return lambda record: left(record) is True and right(record) is True
        return lambda record: left(record) is True or right(record) is True
    if isinstance(node, Func):
        return _compile_func(node, kinds)
    left_kind, right_kind = _kind(node.left, kinds), _kind(node.right, kinds)
    if not _compatible(left_kind, right_kind):
        raise bad_request(f"Operator '{node.op}' incompatible with operand types '{left_kind}' and '{right_kind}'")
    left_fn, right_fn = _compile_value(node.left, kinds), _compile_value(node.right, kinds)
    op = node.op

    def compare(record: Record) -> bool:
        a, b = _norm(left_fn(record)), _norm(right_fn(record))
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if a is None or b is None:
            return False
        try:
            if op == "gt":
                return bool(a > b)
            if op == "ge":
                return bool(a >= b)
            if op == "lt":
                return bool(a < b)
            return bool(a <= b)
        except TypeError:
            return False

    return compare


def _compile_func(node: Func, kinds: Mapping[str, str]) -> Callable[[Record], Any]:
    args = [_compile_value(arg, kinds) for arg in node.args]
    for arg in node.args:
        arg_kind = _kind(arg, kinds)
        if node.name != "length" and arg_kind not in ("str", "null"):
            raise bad_request(f"Function '{node.name}' needs string arguments, got '{arg_kind}'")
    name = node.name

    def text(record: Record, index: int) -> str | None:
        value = args[index](record)
        return value if isinstance(value, str) else None

    def call(record: Record) -> Any:
        first = text(record, 0)
        if name == "trim":
            return None if first is None else first.strip()
        if name == "tolower":
            return None if first is None else first.lower()
        if name == "toupper":
            return None if first is None else first.upper()
        if name == "length":
            return None if first is None else len(first)
        second = text(record, 1)
        if first is None or second is None:
            return False
        if name == "substringof":
            return first.casefold() in second.casefold()
        if name == "startswith":
            return second.casefold() == first.casefold()[: len(second)]
        return first.casefold().endswith(second.casefold())

    return call


# --- $select, $orderby ------------------------------------------------------------------------------


def parse_select(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not names or any(not name for name in names):
        raise bad_request(f"Syntax error in '$select={text}'")
    return names


def parse_orderby(text: str, kinds: Mapping[str, str]) -> list[tuple[str, bool]]:
    """`F1 desc, F2` → [(F1, True), (F2, False)] (True = descending)."""
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise bad_request(f"Syntax error in '$orderby={text}'")
        if words[0] not in kinds:
            raise bad_request(f"No property '{words[0]}' exists in type '{kinds.get('__type__', 'entity')}'")
        out.append((words[0], len(words) == 2 and words[1] == "desc"))
    return out


def sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first, as SQL Server sorts them ascending."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, datetime):
        return (2, value.timestamp())
    if isinstance(value, bool):
        return (3, int(value))
    return (4, value)
