"""Inline SVG charts, generated in Python: the HTML report needs no script or CDN to draw.

Every chart is a ``<figure>`` carrying its data (``data-values``) and where in
the report JSON the data came from (``data-source``), so a browser test can
compare what is drawn with what the report says.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

__all__ = ["PALETTE", "bar_chart", "grouped_bar_chart", "line_chart"]

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
W, H, PAD_L, PAD_B, PAD_T = 640, 260, 56, 48, 16


def _attr(value: object) -> str:
    return escape(json.dumps(value, separators=(",", ":")), quote=True)


def _figure(
    chart_id: str, title: str, source: str, values: object, svg: str, empty: bool, extra: str = ""
) -> str:
    note = '<p class="empty">No data in this period.</p>' if empty else ""
    return (
        f'<figure class="chart" id="{escape(chart_id)}" data-source="{escape(source)}" '
        f'data-values="{_attr(values)}"><figcaption>{escape(title)}</figcaption>{svg}{extra}{note}'
        "</figure>"
    )


def _count_format(values: Sequence[float]) -> str:
    return "{:,.0f}" if all(float(v).is_integer() for v in values) else "{:g}"


def _category_label(x: float, text: str, many: bool) -> str:
    """Labels under the x axis; tilted when there are many, so they do not overlap."""
    y = H - PAD_B + 14
    tilt = f' transform="rotate(-35 {x:.1f} {y})"' if many else ""
    anchor = "end" if many else "middle"
    return f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}" font-size="10"{tilt}>{escape(text)}</text>'


def _axis(top: float, bottom: float, fmt: str = "{:g}") -> str:
    parts = [
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - 8}" y2="{H - PAD_B}" stroke="#888"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" stroke="#888"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        value = bottom + (top - bottom) * frac
        y = H - PAD_B - (H - PAD_B - PAD_T) * frac
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(fmt.format(value))}</text>"
        )
    return "".join(parts)


def bar_chart(
    chart_id: str, title: str, source: str, labels: Sequence[str], values: Sequence[float]
) -> str:
    """Vertical bars, one per label, value printed above each bar."""
    top = max([*values, 0]) or 1
    n = max(len(values), 1)
    slot = (W - PAD_L - 8) / n
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (H - PAD_B - PAD_T) * value / top
        x = PAD_L + i * slot + slot * 0.15
        y = H - PAD_B - h
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{PALETTE[0]}" data-label="{escape(label)}" data-value="{value:g}"/>'
            f'<text class="value" x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
            f'font-size="11">{value:g}</text>'
            + _category_label(x + slot * 0.35, label, len(values) > 8)
        )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">{_axis(top, 0, _count_format(values))}{"".join(bars)}</svg>'
    return _figure(chart_id, title, source, list(values), svg, not any(values))


def grouped_bar_chart(
    chart_id: str,
    title: str,
    source: str,
    categories: Sequence[str],
    series: dict[str, list[float]],
) -> str:
    """Bars per category (e.g. week), one colour per series (e.g. rule), with a legend."""
    top = max([v for vals in series.values() for v in vals] + [0]) or 1
    n_cat, n_ser = max(len(categories), 1), max(len(series), 1)
    slot = (W - PAD_L - 8) / n_cat
    width = slot * 0.8 / n_ser
    parts: list[str] = []
    legend: list[str] = []
    for s, (name, vals) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for c, value in enumerate(vals):
            h = (H - PAD_B - PAD_T) * value / top
            x = PAD_L + c * slot + slot * 0.1 + s * width
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{H - PAD_B - h:.1f}" width="{width:.1f}" '
                f'height="{h:.1f}" fill="{colour}" data-series="{escape(name)}" '
                f'data-label="{escape(categories[c])}" data-value="{value:g}"><title>'
                f"{escape(name)} {escape(categories[c])}: {value:g}</title></rect>"
            )
        legend.append(f'<span><i style="background:{colour}"></i>{escape(name)}</span>')
    for c, cat in enumerate(categories):
        parts.append(_category_label(PAD_L + (c + 0.5) * slot, cat, len(categories) > 6))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">{_axis(top, 0, _count_format([v for vals in series.values() for v in vals]))}{"".join(parts)}</svg>'
    values = {name: vals for name, vals in series.items()}
    key = f'<div class="legend">{"".join(legend)}</div>'
    empty = not any(any(v) for v in series.values())
    return _figure(chart_id, title, source, values, svg, empty, key)


def line_chart(chart_id: str, title: str, source: str, values: Sequence[float]) -> str:
    """One line over equally spaced points (e.g. budget remaining through the window);
    the zero line is drawn when the values cross it."""
    top = max([*values, 1.0])
    bottom = min([*values, 0.0])
    span = (top - bottom) or 1
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> str:
        x = PAD_L + (W - PAD_L - 8) * i / n
        y = H - PAD_B - (H - PAD_B - PAD_T) * (v - bottom) / span
        return f"{x:.1f},{y:.1f}"

    points = " ".join(xy(i, v) for i, v in enumerate(values))
    zero_y = H - PAD_B - (H - PAD_B - PAD_T) * (0 - bottom) / span
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">'
        f"{_axis(top, bottom, '{:.0%}')}"
        f'<line x1="{PAD_L}" y1="{zero_y:.1f}" x2="{W - 8}" y2="{zero_y:.1f}" stroke="#dc2626" stroke-dasharray="4 3"/>'
        f'<polyline class="series" fill="none" stroke="{PALETTE[0]}" stroke-width="2.5" points="{points}" '
        f'data-count="{len(values)}"/></svg>'
    )
    return _figure(chart_id, title, source, list(values), svg, not values)
