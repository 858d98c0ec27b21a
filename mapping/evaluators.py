"""The hot path: the closure computing one plain value field (source or constant, default, transforms).

It is specialised by shape (one key of the current object, zero to two transforms, the common cases) so that
mapping a record costs a function call per field and per transform and nothing else; see bench/bench_mapping.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mapping.errors import MappingError, TransformFailed
from mapping.paths import Getter
from mapping.registry import TransformFn

Evaluator = Callable[[Any, Any], Any]
REQUIRED = "no value (the field is required)"


class _Omit:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()


def as_mapping_error(exc: Exception, name: str, source: str | None) -> MappingError:
    """Any failure inside a field as the `MappingError` naming that field (a transform bug included)."""
    if isinstance(exc, MappingError):
        return exc
    if isinstance(exc, TransformFailed):
        return MappingError(name, source, str(exc))
    return MappingError(name, source, f"{type(exc).__name__}: {exc}")


def value_evaluator(
    name: str,
    source: str | None,
    get: Getter,
    key: str | None,
    fns: tuple[TransformFn, ...],
    default: tuple[Any] | None,
    if_missing: str,
    *,
    keeps_null: bool = False,
) -> Evaluator:
    """``ev(record, ctx) -> value | OMIT``.

    :param key: set when the source is one key of the current object (read with ``dict.get``, no getter call).
    :param default: ``(value,)`` when the rule has a default.
    :param keeps_null: every transform maps null to null, so a null source is missing without running them.
    """
    missing = None if if_missing == "null" else OMIT
    required = if_missing == "error"

    if key is not None and default is None and len(fns) <= 3:
        if not fns:

            def ev0(rec: Any, ctx: Any) -> Any:
                try:
                    v = rec.get(key) if type(rec) is dict else get(rec, ctx)
                except Exception as exc:
                    raise as_mapping_error(exc, name, source) from None
                if v is None:
                    if required:
                        raise MappingError(name, source, REQUIRED)
                    return missing
                return v

            return ev0
        # A null source runs the chain only when some transform turns null into something (e.g. a default).
        run_on_null = not keeps_null
        if len(fns) == 1:
            (f1,) = fns

            def ev1(rec: Any, ctx: Any) -> Any:
                try:
                    v = rec.get(key) if type(rec) is dict else get(rec, ctx)
                    if v is not None or run_on_null:
                        v = f1(v, rec, ctx)
                except Exception as exc:
                    raise as_mapping_error(exc, name, source) from None
                if v is None:
                    if required:
                        raise MappingError(name, source, REQUIRED)
                    return missing
                return v

            return ev1
        if len(fns) == 2:
            f1, f2 = fns

            def ev2(rec: Any, ctx: Any) -> Any:
                try:
                    v = rec.get(key) if type(rec) is dict else get(rec, ctx)
                    if v is not None or run_on_null:
                        v = f2(f1(v, rec, ctx), rec, ctx)
                except Exception as exc:
                    raise as_mapping_error(exc, name, source) from None
                if v is None:
                    if required:
                        raise MappingError(name, source, REQUIRED)
                    return missing
                return v

            return ev2
        f1, f2, f3 = fns

        def ev3(rec: Any, ctx: Any) -> Any:
            try:
                v = rec.get(key) if type(rec) is dict else get(rec, ctx)
                if v is not None or run_on_null:
                    v = f3(f2(f1(v, rec, ctx), rec, ctx), rec, ctx)
            except Exception as exc:
                raise as_mapping_error(exc, name, source) from None
            if v is None:
                if required:
                    raise MappingError(name, source, REQUIRED)
                return missing
            return v

        return ev3

    has_default = default is not None
    fallback = default[0] if default is not None else None

    def ev(rec: Any, ctx: Any) -> Any:
        try:
            v = get(rec, ctx)
            if v is None and has_default:
                v = fallback
            for fn in fns:
                v = fn(v, rec, ctx)
        except Exception as exc:
            raise as_mapping_error(exc, name, source) from None
        if v is None:
            if required:
                raise MappingError(name, source, REQUIRED)
            return missing
        return v

    return ev
