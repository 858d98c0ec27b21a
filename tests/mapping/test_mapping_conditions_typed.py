"""Typed comparisons: a number operand compares numbers, whatever JSON type the source used for the number.

The case that motivated it: an "only paid" filter `RemainingAmount eq 0` never matched an API that sends "0".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import mapping


def _kept(op: str, value: Any, field_value: Any) -> bool:
    spec = {
        "version": "1",
        "filters": [{"path": "Field", "op": op, "value": value}],
        "fields": {"Out": {"const": 1}},
    }
    return mapping.compile_mapping(spec).map({"Field": field_value}).payload is not None


@pytest.mark.parametrize("sent", [0, 0.0, "0", "0.00", " 0 ", Decimal("0.000")])
def test_eq_zero_matches_every_spelling_of_zero(sent: Any) -> None:
    assert _kept("eq", 0, sent)
    assert not _kept("ne", 0, sent)


@pytest.mark.parametrize("sent", [1, "0.01", "abc", "", None, True, False])
def test_eq_zero_does_not_match_other_values(sent: Any) -> None:
    assert not _kept("eq", 0, sent)
    assert _kept("ne", 0, sent)


def test_numeric_text_operand_meets_numbers_numerically_and_text_as_text() -> None:
    assert _kept("eq", "0", 0) and _kept("eq", "0", 0.0) and _kept("eq", "0", "0")
    assert not _kept("eq", "0", "0.0")  # text against text stays text
    assert not _kept("eq", "abc", 0)
    assert _kept("ne", "0", 1)


def test_in_and_not_in_are_typed_per_member() -> None:
    assert _kept("in", [2, 3], "2") and _kept("in", [2, 3], 3.0)
    assert not _kept("in", [2, 3], "4")
    assert _kept("in", ["2", "x"], 2)
    assert _kept("not_in", [2, 3], "4") and not _kept("not_in", [2, 3], "3")


def test_booleans_are_not_numbers() -> None:
    assert not _kept("eq", 1, True)
    assert _kept("eq", True, True) and not _kept("eq", True, 1)
