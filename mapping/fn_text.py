"""Text transforms and the general ones (default, coalesce, choose). Null in gives null out unless stated."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mapping.errors import TransformFailed
from mapping.registry import LIST, SAME, TEXT, Builder, Params, TransformFn, transform
from mapping.spec import Condition
from mapping.values import to_text, type_name

_TEXT_ONLY = frozenset({TEXT})


def _need_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TransformFailed(f"expected text, got {type_name(value)} (add 'to_str' first)")


def _text_op(op: Any) -> TransformFn:
    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if type(v) is str:
            return op(v)
        if v is None:
            return None
        return op(_need_text(v))

    return fn


@transform("strip", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _strip(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Remove leading and trailing white space (Exact pads account codes with spaces)."""
    return _text_op(str.strip)


@transform("upper", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _upper(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Upper case."""
    return _text_op(str.upper)


@transform("lower", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _lower(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Lower case."""
    return _text_op(str.lower)


@transform("title", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _title(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Title Case."""
    return _text_op(str.title)


@transform("empty_to_null", returns=SAME, keeps_null=True)
def _empty_to_null(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Empty or blank text becomes null (Exact returns "" for unset fields), so `default`/`if_missing` apply."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    return fn


class TruncateParams(Params):
    length: int = Field(..., ge=0, description="Maximum number of characters")


@transform("truncate", params=TruncateParams, primary="length", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _truncate(p: TruncateParams, _b: Builder, _where: str) -> TransformFn:
    """Cut text to at most `length` characters (a target field's maximum length)."""
    n = p.length

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if type(v) is str:
            return v[:n]
        if v is None:
            return None
        return _need_text(v)[:n]

    return fn


class AffixParams(Params):
    text: str


@transform("prefix", params=AffixParams, primary="text", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _prefix(p: AffixParams, _b: Builder, _where: str) -> TransformFn:
    """Put `text` before the value (null stays null)."""
    text = p.text
    return _text_op(lambda s: text + s)


@transform("suffix", params=AffixParams, primary="text", accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _suffix(p: AffixParams, _b: Builder, _where: str) -> TransformFn:
    """Put `text` after the value (null stays null)."""
    text = p.text
    return _text_op(lambda s: s + text)


class ReplaceParams(Params):
    old: str = Field(..., min_length=1)
    new: str = ""


@transform("replace", params=ReplaceParams, accepts=_TEXT_ONLY, returns=TEXT, keeps_null=True)
def _replace(p: ReplaceParams, _b: Builder, _where: str) -> TransformFn:
    """Replace every occurrence of `old` by `new` (plain text, no patterns)."""
    old, new = p.old, p.new
    return _text_op(lambda s: s.replace(old, new))


class SplitParams(Params):
    sep: str | None = Field(None, description="Separator; null splits on white space")
    index: int | None = Field(None, description="Pick this part (negative counts from the end); null: the list")
    maxsplit: int = -1
    strip: bool = True


@transform("split", params=SplitParams, primary="sep", accepts=_TEXT_ONLY, keeps_null=True)
def _split(p: SplitParams, _b: Builder, _where: str) -> TransformFn:
    """Split text into parts; with `index`, the one part (null when there are fewer parts)."""
    sep, index, maxsplit, strip = p.sep, p.index, p.maxsplit, p.strip

    def op(s: str) -> Any:
        parts = s.split(sep, maxsplit)
        if strip:
            parts = [x.strip() for x in parts]
        if index is None:
            return parts
        try:
            return parts[index]
        except IndexError:
            return None

    return _text_op(op)


class ConcatParams(Params):
    paths: list[str] = Field(default_factory=list, description="Source paths whose values follow the field's value")
    sep: str = " "
    skip_empty: bool = Field(True, description="Leave out null and empty parts (no doubled separators)")


@transform("concat", params=ConcatParams, primary="paths", returns=TEXT)
def _concat(p: ConcatParams, b: Builder, where: str) -> TransformFn:
    """Join the value and the values at `paths` with `sep`; numbers and dates are written as text."""
    getters = tuple(b.getter(path, f"{where}.concat.paths[{i}]") for i, path in enumerate(p.paths))
    sep, skip = p.sep, p.skip_empty

    def fn(v: Any, rec: Any, ctx: Any) -> Any:
        parts = [v, *(g(rec, ctx) for g in getters)]
        texts = [to_text(x) if x is not None else "" for x in parts if not (skip and (x is None or x == ""))]
        if not texts:
            return None
        return sep.join(texts)

    return fn


@transform("to_str", returns=TEXT, keeps_null=True)
def _to_str(_p: None, _b: Builder, _where: str) -> TransformFn:
    """Text of a number, boolean ("true"/"false") or date (ISO 8601)."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return None if v is None else to_text(v)

    return fn


class DefaultParams(Params):
    value: Any = Field(..., description="Used when the value is null")


@transform("default", params=DefaultParams, primary="value")
def _default(p: DefaultParams, _b: Builder, _where: str) -> TransformFn:
    """Replace null by `value` (anywhere in the chain, unlike the field's `default`)."""
    value = p.value

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        return value if v is None else v

    return fn


class CoalesceParams(Params):
    paths: list[str] = Field(..., min_length=1, description="Tried in order while the value is null")


@transform("coalesce", params=CoalesceParams, primary="paths", returns=None)
def _coalesce(p: CoalesceParams, b: Builder, where: str) -> TransformFn:
    """While the value is null, take the first non-null value at `paths` (e.g. e-mail, else contact e-mail)."""
    getters = tuple(b.getter(path, f"{where}.coalesce.paths[{i}]") for i, path in enumerate(p.paths))

    def fn(v: Any, rec: Any, ctx: Any) -> Any:
        if v is not None:
            return v
        for g in getters:
            got = g(rec, ctx)
            if got is not None:
                return got
        return None

    return fn


class ChooseParams(Params):
    when: Condition = Field(..., description="Without 'path', tests the value being transformed")
    then: Any = Field(None, description="Result when `when` holds")
    else_: Any = Field(None, alias="else", description="Result otherwise")
    keep: bool = Field(False, description="Keep the value instead of `else` when `when` does not hold")


@transform("choose", params=ChooseParams)
def _choose(p: ChooseParams, b: Builder, where: str) -> TransformFn:
    """A conditional: `then` when `when` holds, else `else` (or the value itself with `keep`)."""
    test = b.condition(p.when, f"{where}.choose.when").test
    then, other, keep = p.then, p.else_, p.keep

    def fn(v: Any, rec: Any, ctx: Any) -> Any:
        if test(v, rec, ctx):
            return then
        return v if keep else other

    return fn


@transform("first", accepts=frozenset({LIST}), keeps_null=True)
def _first(_p: None, _b: Builder, _where: str) -> TransformFn:
    """The first element of a list (null for an empty list)."""

    def fn(v: Any, _rec: Any, _ctx: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, list):
            raise TransformFailed(f"expected a list, got {type_name(v)}")
        return v[0] if v else None

    return fn
