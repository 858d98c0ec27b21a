"""The datamapper's two errors: one for a bad mapping file (found at compile time), one for a bad record (run time)."""

from __future__ import annotations


class MappingSpecError(ValueError):
    """The mapping itself is invalid. The message starts with the JSON path of the fault in the mapping document,
    e.g. ``fields.SalesOrderLines.items.fields.Item.transforms[1]: unknown transform 'uper'``.

    A `ValueError` so that config validation that already catches `ValueError` reports it too.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class MappingError(Exception):
    """A record could not be mapped: names the target field (``SalesOrderLines[2].Item``), the source path
    (``Rows[2].ArticleNumber``) and why. The only exception `CompiledMapping.map` raises.
    """

    def __init__(self, target_field: str, source_path: str | None, reason: str) -> None:
        where = f"{target_field} <- {source_path}" if source_path else target_field
        super().__init__(f"{where}: {reason}")
        self.target_field = target_field
        self.source_path = source_path
        self.reason = reason

    def to_dict(self) -> dict[str, str | None]:
        return {
            "type": "MappingError",
            "target_field": self.target_field,
            "source_path": self.source_path,
            "message": self.reason,
        }


class TransformFailed(ValueError):
    """Raised inside a transform; the field evaluator turns it into a `MappingError` with the field's names."""
