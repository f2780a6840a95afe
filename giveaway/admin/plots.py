"""Plots drawn on the server as SVG: readable without JavaScript, with a text
alternative (a <title>, a <desc> and the data as a table beside the plot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup, escape

PALETTE = ("#1f5fbf", "#1d7a46", "#b35c00", "#7a3fb3", "#b3261e")


@dataclass
class Series:
    label: str
    points: Sequence[tuple[date | datetime, float]]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _tick(value: float) -> str:
    """An axis label: whole numbers plain, quarters with their decimals (2.5, not 2)."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _ordinal(x: date | datetime) -> float:
    if isinstance(x, datetime):
        return x.timestamp() / 86400.0
    return float(x.toordinal())


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    description: str = "",
    width: int = 640,
    height: int = 260,
    y_label: str = "",
) -> Markup:
    """A time-series line chart; every point is a <circle> with a <title>.

    With more than one series, a legend above the plot names each colour.
    """
    legend = len(series) > 1
    left, right, top, bottom = 56, 16, 40 if legend else 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [_ordinal(x) for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    parts = _svg_open(title, description, width, height)
    if legend:
        x = left
        for index, s in enumerate(series):
            color = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<g class="legend"><rect x="{x}" y="10" width="14" height="4" fill="{color}"/>'
                f'<text class="axis" x="{x + 19}" y="16">{escape(s.label)}</text></g>'
            )
            x += 34 + 7 * len(s.label)
    y_max = _nice_max(max(ys) if ys else 0)
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(value)}</text>'
        )
    if y_label:
        parts.append(
            f'<text class="axis" x="12" y="{top + plot_h / 2:.0f}" '
            f'transform="rotate(-90 12 {top + plot_h / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>'
        )
    if xs:
        x_min, x_max = min(xs), max(xs)
        span = (x_max - x_min) or 1.0

        def sx(x: float) -> float:
            return left + (x - x_min) / span * plot_w if x_max > x_min else left + plot_w / 2

        def sy(y: float) -> float:
            return top + plot_h - (y / y_max) * plot_h

        firsts = [s.points[0][0] for s in series if s.points]
        lasts = [s.points[-1][0] for s in series if s.points]
        for label_x, anchor in (
            (min(firsts, key=_ordinal), "start"),
            (max(lasts, key=_ordinal), "end"),
        ):
            parts.append(
                f'<text class="axis" x="{sx(_ordinal(label_x)):.1f}" y="{height - 14}" '
                f'text-anchor="{anchor}">{label_x:%Y-%m-%d}</text>'
            )
        for index, s in enumerate(series):
            color = PALETTE[index % len(PALETTE)]
            coords = [(sx(_ordinal(x)), sy(y)) for x, y in s.points]
            if len(coords) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
                parts.append(
                    f'<polyline class="series" fill="none" stroke="{color}" points="{path}"/>'
                )
            for (day, y), (px, py) in zip(s.points, coords, strict=True):
                parts.append(
                    f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}">'
                    f"<title>{escape(s.label)}: {y:,.0f} on {day:%Y-%m-%d}</title></circle>"
                )
    else:
        parts.append(
            f'<text class="axis" x="{width / 2}" y="{height / 2}" text-anchor="middle">No data yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    description: str = "",
    width: int = 640,
    bar_height: int = 28,
) -> Markup:
    """Horizontal bars (a funnel or a breakdown); each bar is a <rect> with a <title>."""
    label_w, right, gap = 200, 70, 10
    height = max(1, len(bars)) * (bar_height + gap) + gap
    top_value = _nice_max(max((v for _, v in bars), default=0))
    parts = _svg_open(title, description, width, height)
    for index, (label, value) in enumerate(bars):
        y = gap + index * (bar_height + gap)
        w = (width - label_w - right) * (value / top_value if top_value else 0)
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + bar_height * 0.68:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{bar_height}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {value:,.0f}</title></rect>'
            f'<text class="value" x="{label_w + max(w, 1) + 6:.1f}" y="{y + bar_height * 0.68:.1f}">{value:,.0f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


def _svg_open(title: str, description: str | None, width: int, height: int) -> list[str]:
    """The <svg> element's opening, named for screen readers by its title and description."""
    slug = "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
    return [
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{slug}-title {slug}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{slug}-title">{escape(title)}</title>',
        f'<desc id="{slug}-desc">{escape(description or title)}</desc>',
    ]
