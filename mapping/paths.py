"""Source paths: ``OrderDate``, ``Customer.Name``, ``Rows[0].Text``, ``Rows[*].ArticleNumber``, ``["odd key"]``.

A path is parsed once, at compile time, into a getter closure ``get(record, ctx) -> value``. ``$.X`` reads from
the root record (useful inside list items), ``@`` is the current record itself and ``$`` the root. A missing key,
a ``null`` on the way or an index out of range give ``None``; a step through the wrong kind of value (a key into a
list, an index into text) raises `TransformFailed`, which the field turns into a `MappingError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mapping.errors import TransformFailed
from mapping.values import type_name

Getter = Callable[[Any, Any], Any]
Segment = str | int | None  # key, index, None = wildcard [*]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')


class PathSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    from_root: bool
    segments: tuple[Segment, ...]

    @property
    def has_wildcard(self) -> bool:
        return None in self.segments


def parse_path(text: str) -> Path:
    """Parse `text`; raises `PathSyntaxError` with the position of the first bad character."""
    if not isinstance(text, str) or not text:
        raise PathSyntaxError("empty path")
    from_root = False
    pos = 0
    if text == "$" or text == "@":
        return Path(text, text == "$", ())
    if text.startswith("$."):
        from_root, pos = True, 2
    elif text.startswith("@."):
        pos = 2
    segments: list[Segment] = []
    expect_name = True
    while pos < len(text):
        if text[pos] == "[":
            if text.startswith("[*]", pos):
                segments.append(None)
                pos += 3
            elif match := _INDEX.match(text, pos):
                segments.append(int(match.group(1)))
                pos = match.end()
            elif match := _QUOTED.match(text, pos):
                segments.append(re.sub(r"\\(.)", r"\1", match.group(1)))
                pos = match.end()
            else:
                raise PathSyntaxError(f'bad bracket at position {pos} in {text!r} (use [n], [*] or ["key"])')
            expect_name = False
            continue
        if not expect_name:
            if text[pos] != ".":
                raise PathSyntaxError(f"expected '.' or '[' at position {pos} in {text!r}")
            pos += 1
        match = _NAME.match(text, pos)
        if match is None:
            raise PathSyntaxError(f"expected a field name at position {pos} in {text!r}")
        segments.append(match.group(0))
        pos = match.end()
        expect_name = False
    return Path(text, from_root, tuple(segments))


def _where(segment: Segment, text: str) -> str:
    return "" if text == segment else f" in {text!r}"


def _step(value: Any, segment: Segment, text: str) -> Any:
    if type(segment) is str:
        if isinstance(value, Mapping):
            return value.get(segment)
        raise TransformFailed(f"cannot read {segment!r} of {type_name(value)}{_where(segment, text)}")
    if isinstance(value, list):
        try:
            return value[segment]  # type: ignore[index]
        except IndexError:
            return None
    raise TransformFailed(f"cannot index {type_name(value)} with [{segment}] in {text!r}")


def _walk(value: Any, segments: tuple[Segment, ...], text: str) -> Any:
    for i, segment in enumerate(segments):
        if value is None:
            return None
        if segment is None:
            if not isinstance(value, list):
                raise TransformFailed(f"cannot iterate over {type_name(value)} in {text!r}")
            rest = segments[i + 1 :]
            if not rest:
                return value
            out: list[Any] = []
            for item in value:
                got = _walk(item, rest, text)
                if None in rest and isinstance(got, list):
                    out.extend(got)
                else:
                    out.append(got)
            return out
        value = _step(value, segment, text)
    return value


def compile_getter(path: Path) -> Getter:
    """A closure reading `path` from ``(record, ctx)``; the one- and two-key cases are specialised for speed."""
    segments, text, root = path.segments, path.text, path.from_root
    if not segments:
        return (lambda _rec, ctx: ctx.root) if root else (lambda rec, _ctx: rec)
    if len(segments) == 1 and type(segments[0]) is str:
        key = segments[0]

        def get_one(rec: Any, ctx: Any) -> Any:
            source = ctx.root if root else rec
            if type(source) is dict:
                return source.get(key)
            return _step(source, key, text)

        return get_one
    if len(segments) == 2 and type(segments[0]) is str and type(segments[1]) is str:
        first, second = segments

        def get_two(rec: Any, ctx: Any) -> Any:
            source = ctx.root if root else rec
            inner = source.get(first) if type(source) is dict else _step(source, first, text)
            if inner is None:
                return None
            if type(inner) is dict:
                return inner.get(second)
            return _step(inner, second, text)

        return get_two

    def get_any(rec: Any, ctx: Any) -> Any:
        return _walk(ctx.root if root else rec, segments, text)

    return get_any
