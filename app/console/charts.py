"""The overview's 24-hour chart as server-side SVG (no chart library, no script): stacked bars per hour.

Colours come from CSS classes (`o-created`, ...), so the page's stylesheet decides them and no inline style is
needed under the console's Content-Security-Policy. The SVG carries a text summary for screen readers; the page
also has the numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 180
TOP = 10
BOTTOM = 22
LEFT = 34


class Bucket(Protocol):
    start: datetime
    counts: dict[str, int]


def _nice_max(value: int) -> int:
    for step in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return value


def outcome_chart(buckets: Sequence[Bucket], outcomes: Sequence[str], summary: str) -> Markup:
    """Stacked bars, one per bucket (oldest left), one segment per outcome, with a y axis and hour labels."""
    peak = max((sum(b.counts.get(o, 0) for o in outcomes) for b in buckets), default=0)
    top = _nice_max(max(peak, 1))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(buckets), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(summary)}" '
        'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{round(top * fraction)}</text>'
        )
    for i, bucket in enumerate(buckets):
        x = LEFT + i * slot + (slot - bar) / 2
        y = TOP + plot_h
        for outcome in outcomes:
            n = bucket.counts.get(outcome, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect class="o-{escape(outcome)}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{bucket.start:%H}:00 {escape(outcome)}: {n}</title></rect>"
            )
        if i % 3 == 0:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{bucket.start:%H}:00</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is a number or escaped
