"""What a delivery changes on an eAccounting order: delivered quantities per row, the delivery note (a text row),
the carrier, the shipped status. Pure functions over wire dicts (`Order.to_payload()`), no I/O.

Rows are matched to the Exact sales order's lines by article number = item code, the k-th row of an article to the
k-th line of that item (the orders flow creates one line per non-text row, in row order). A row's delivered
quantity is the line's `QuantityDelivered`: Exact's running total over every delivery of the order, so recording a
delivery twice, or two deliveries out of order, gives the same result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from connectors.eaccounting.wire import to_wire

if TYPE_CHECKING:
    from connectors.exact import SalesOrderLine

NOTE_FIELDS = frozenset({"delivery_number", "date", "carrier", "tracking_number", "tracking_url", "items"})
_ROW_DEFAULTS = {"IsTextRow": True, "IsWorkCost": False, "EligibleForReverseChargeOnVat": False}
_CENT = Decimal("0.01")
TEXT_LIMIT = 2000  # OrderRowApi.Text


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the Exact sales order is delivered (lines whose item never needs delivering left out)."""

    delivered_lines: int
    lines: int

    @property
    def complete(self) -> bool:
        return self.delivered_lines == self.lines


def progress(lines: Sequence[SalesOrderLine], not_delivered: Iterable[str]) -> Progress:
    skip = {code.strip().upper() for code in not_delivered}
    counted = [line for line in lines if (line.item_code or "").strip().upper() not in skip]
    done = sum(1 for line in counted if (line.quantity_delivered or 0) >= (line.quantity or 0))
    return Progress(done, len(counted))


def delivered_per_row(rows: Sequence[dict[str, Any]], lines: Sequence[SalesOrderLine]) -> dict[int, Decimal]:
    """Row index -> delivered quantity, for every article row that has a line on the Exact order."""
    by_code: dict[str, list[Decimal]] = {}
    for line in sorted(lines, key=lambda item: item.line_number or 0):
        by_code.setdefault((line.item_code or "").strip().upper(), []).append(line.quantity_delivered or Decimal(0))
    seen: Counter[str] = Counter()
    out: dict[int, Decimal] = {}
    for index, row in enumerate(rows):
        if row.get("IsTextRow"):
            continue
        code = str(row.get("ArticleNumber") or "").strip().upper()
        occurrence = seen[code]
        seen[code] += 1
        quantities = by_code.get(code, [])
        if occurrence < len(quantities):
            out[index] = quantities[occurrence].quantize(_CENT, rounding=ROUND_HALF_UP)
    return out


def apply_quantities(rows: list[dict[str, Any]], delivered: dict[int, Decimal], *, shipped: bool) -> None:
    """Set `DeliveredQuantity` on matched rows; when the order ships, rows Exact never had (freight, discounts
    the orders flow sent otherwise) count as delivered in full."""
    for index, row in enumerate(rows):
        if row.get("IsTextRow"):
            continue
        if index in delivered:
            if delivered[index] or row.get("DeliveredQuantity") is not None:  # nothing delivered yet: leave unset
                row["DeliveredQuantity"] = to_wire(delivered[index])
        elif shipped and row.get("Quantity") is not None:
            row["DeliveredQuantity"] = row["Quantity"]


def items_text(mapped_rows: Sequence[dict[str, Any]]) -> str:
    parts = []
    for row in mapped_rows:
        quantity = row.get("DeliveredQuantity")
        text = f"{quantity.normalize():f}" if isinstance(quantity, Decimal) else str(quantity)
        parts.append(f"{text} x {row.get('ArticleNumber')}")
    return ", ".join(parts)


def note_text(template: str | None, fields: dict[str, str]) -> str:
    """The delivery note: `template` filled with `fields` (`NOTE_FIELDS`), or the built-in wording, which leaves
    out what the delivery does not have."""
    if template is not None:
        return template.format_map(fields)[:TEXT_LIMIT]
    head = f"Delivery {fields['delivery_number']} shipped {fields['date']}"
    if fields["carrier"]:
        head += f" via {fields['carrier']}"
    parts = [head]
    if fields["tracking_number"]:
        parts.append(
            f"tracking {fields['tracking_number']}" + (f" {fields['tracking_url']}" if fields["tracking_url"] else "")
        )
    text = ", ".join(parts)
    if fields["items"]:
        text += f": {fields['items']}"
    return text[:TEXT_LIMIT]


def upsert_note(rows: list[dict[str, Any]], text: str, previous: str | None) -> None:
    """Replace the note this delivery wrote before (found by its text), or append one after the last row."""
    for row in rows:
        if row.get("IsTextRow") and previous is not None and row.get("Text") == previous:
            row["Text"] = text
            return
        if row.get("IsTextRow") and row.get("Text") == text:
            return
    numbers = [int(r["LineNumber"]) for r in rows if isinstance(r.get("LineNumber"), int)]
    rows.append({"LineNumber": max(numbers, default=-1) + 1, "Text": text, **_ROW_DEFAULTS})
