"""The per-call context every compiled closure receives: the root record and the flow's lookup tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Ctx:
    """One `map()` call. Created once per record; list items share it (``root`` stays the whole record)."""

    __slots__ = ("lookups", "root")

    def __init__(self, root: Any, lookups: Mapping[str, Mapping[str, Any]] | None) -> None:
        self.root = root
        self.lookups = lookups
