"""The `mine --html` page: the directly-follows graph as an SVG laid out by grandalf,
a frequency and a performance view, a coverage filter, and the tables of the JSON.

Each drawn edge and node carries its figures and the variant coverage at which it first
appears (``data-*``), so the filter is a few lines of script and a test can compare the
picture with the JSON.
"""

from __future__ import annotations

import json
import math
from html import escape

from escalator.analytics.mining.layout import layout
from escalator.analytics.mining.mine import MineResult

__all__ = ["render_html"]


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    if s < 172800:
        return f"{s / 3600:.1f}h"
    return f"{s / 86400:.1f}d"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _edge_path(pts: list[tuple[float, float]], bend: float) -> tuple[str, float, float]:
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    if len(pts) > 2:
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        mx, my = pts[len(pts) // 2]
        return d, mx, my
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = x1 - x0, y1 - y0
    n = math.hypot(dx, dy) or 1.0
    cx, cy = mx - dy / n * bend, my + dx / n * bend
    return f"M{x0:.1f},{y0:.1f} Q{cx:.1f},{cy:.1f} {x1:.1f},{y1:.1f}", cx, cy


def _graph_svg(result: MineResult) -> str:
    dfg = result.data["dfg"]
    cover = result.coverage()
    names = [a["activity"] for a in dfg["activities"]]
    pairs = [(e["source"], e["target"]) for e in dfg["edges"]]
    placed = layout(names, pairs)
    max_count = max([e["count"] for e in dfg["edges"]] or [1])
    max_wait = max([e["median_wait_s"] or 0 for e in dfg["edges"]] or [1]) or 1
    out = [
        f'<svg id="dfg" xmlns="http://www.w3.org/2000/svg" width="{placed.width:.0f}" '
        f'height="{placed.height:.0f}" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/>'
        "</marker></defs>",
    ]
    pair_set = set(pairs)
    for e in dfg["edges"]:
        s, t = e["source"], e["target"]
        width = 1 + 5 * e["count"] / max_count
        heat = (e["median_wait_s"] or 0) / max_wait
        colour = f"rgb({int(80 + 175 * heat)},{int(90 - 60 * heat)},{int(160 - 120 * heat)})"
        attrs = (
            f'class="edge" data-source="{escape(s)}" data-target="{escape(t)}" '
            f'data-count="{e["count"]}" data-median-wait-s="{e["median_wait_s"]}" '
            f'data-coverage="{cover.get((s, t), 1.0):.6f}"'
        )
        if s == t:
            x, y, w, h = placed.nodes[s]
            d = f"M{x + w / 2:.1f},{y - 6:.1f} c 28,-18 28,30 0,12"
            lx, ly = x + w / 2 + 24, y
        else:
            bend = 18.0 if (t, s) in pair_set else 0.0
            d, lx, ly = _edge_path(placed.edges[(s, t)], bend)
        out.append(
            f'<g {attrs}><path d="{d}" fill="none" stroke-width="{width:.1f}" '
            f'class="freq" stroke="#475569" marker-end="url(#arrow)"/>'
            f'<path d="{d}" fill="none" stroke-width="{1 + 4 * heat:.1f}" class="perf" '
            f'stroke="{colour}" marker-end="url(#arrow)"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" class="freq">{e["count"]}</text>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" class="perf">{_dur(e["median_wait_s"])}</text></g>'
        )
    for a in dfg["activities"]:
        name = a["activity"]
        x, y, w, h = placed.nodes[name]
        out.append(
            f'<g class="node" data-activity="{escape(name)}" data-count="{a["count"]}" '
            f'data-coverage="{cover.get((name, ""), 1.0):.6f}">'
            f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{escape(name)} '
            f"({a['count']})</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _table(title: str, heads: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<h2>{escape(title)}</h2><table id="{table_id}"><tr>{head}</tr>{body}</table>'


_SCRIPT = """
const svg = document.getElementById('dfg');
function apply() {
  const view = document.querySelector('input[name=view]:checked').value;
  svg.setAttribute('class', view);
  const c = parseFloat(document.getElementById('coverage').value) / 100;
  document.getElementById('coverage-value').textContent = Math.round(c * 100) + '%';
  svg.querySelectorAll('.edge, .node').forEach(g => {
    g.style.display = parseFloat(g.dataset.coverage) <= c + 1e-9 ? '' : 'none';
  });
}
document.querySelectorAll('input').forEach(i => i.addEventListener('input', apply));
apply();
"""

_STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#0f172a}
table{border-collapse:collapse;margin-bottom:24px}td,th{border:1px solid #cbd5e1;padding:3px 8px;text-align:left}
.node rect{fill:#e0f2fe;stroke:#0369a1}.node text{font-size:12px}
.edge text{font-size:11px;fill:#334155}
svg.frequency .perf{display:none}svg.performance .freq{display:none}
#graph{overflow:auto;border:1px solid #e2e8f0}
"""


def render_html(result: MineResult) -> str:
    d = result.data
    variants = [
        [
            str(v["rank"]),
            str(v["count"]),
            _pct(v["share"]),
            _pct(v["coverage"]),
            _dur(v["median_duration_s"]),
            _dur(v["p90_duration_s"]),
            _pct(v["bad_rate"]),
            " → ".join(v["activities"]),
        ]
        for v in d["variants"]
    ]
    rework = [
        [
            r["activity"],
            str(r["cases"]),
            _pct(r["share_of_cases"]),
            str(r["extra_occurrences"]),
            _dur(r["median_loop_time_s"]),
            _pct(r["bad_rate"]),
        ]
        for r in d["rework"]["activities"]
    ]
    corr = [
        [
            p["kind"],
            p["pattern"],
            str(p["support"]),
            _pct(p["bad_rate"]),
            f"{p['lift']:.2f}" if p["lift"] is not None else "-",
            f"{p['lift_ci'][0]:.2f} to {p['lift_ci'][1]:.2f}" if p["lift_ci"] else "-",
            "yes" if p["rule_candidate"] else "no",
        ]
        for p in d["correlations"]["patterns"]
    ]
    bn = d["bottlenecks"]
    bottl = [
        [
            f"{b['source']} → {b['target']}",
            str(b["count"]),
            _dur(b["total_wait_s"]),
            _pct(b["share_of_wait"]),
            _dur(b["median_wait_s"]),
            _dur(b["p90_wait_s"]),
        ]
        for b in bn["edges"]
    ]
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>escalator mine: {escape(d['journey'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Process mining: {escape(d['journey'])}</h1>"
        f"<p>{d['events']} events, {d['cases']} cases, {d['variant_count']} variants; "
        f"bad outcome: {escape(str(d['outcome']))}, base rate {_pct(d['base_rate'])}.</p>"
        '<h2>Directly-follows graph</h2><p><label><input type="radio" name="view" '
        'value="frequency" checked> frequency</label> <label><input type="radio" name="view" '
        'value="performance"> performance (median wait)</label> · coverage of cases by the most '
        'frequent variants: <input type="range" id="coverage" min="1" max="100" value="100"> '
        '<span id="coverage-value"></span></p>'
        f'<div id="graph">{_graph_svg(result)}</div>'
        + _table(
            "Variants",
            ["#", "cases", "share", "coverage", "median", "p90", "bad", "path"],
            variants,
            "variants",
        )
        + _table(
            "Rework",
            ["activity", "cases", "share", "extra", "median loop time", "bad"],
            rework,
            "rework",
        )
        + _table(
            f"Correlations with: {d['correlations']['outcome']}",
            ["kind", "pattern", "support", "bad rate", "lift", "95% CI", "rule candidate"],
            corr,
            "correlations",
        )
        + _table(
            f"Bottlenecks ({bn['time_basis']})",
            ["edge", "count", "total wait", "share", "median", "p90"],
            bottl,
            "bottlenecks",
        )
        + f'<script type="application/json" id="mine-data">{escape(json.dumps({"variant_count": d["variant_count"]}))}</script>'
        + f"<script>{_SCRIPT}</script></body></html>"
    )
