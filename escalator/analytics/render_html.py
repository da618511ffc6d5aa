"""The report as one self-contained HTML file: inline CSS, inline SVG, the report JSON
embedded, and a few lines of script that check each chart against that JSON.

No network: nothing is loaded from a CDN, so the file opens on an air-gapped laptop.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from escalator.analytics.formatting import format_percent, format_seconds
from escalator.analytics.oncall_load import CAUSES
from escalator.analytics.render_learning import LEARNING_HEADERS, learning_rows
from escalator.analytics.svg import bar_chart, grouped_bar_chart, line_chart

__all__ = ["render_html", "rule_week_series"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f3f4f6}td:first-child,th:first-child{text-align:left}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{background:#eff6ff;border-radius:8px;padding:10px 16px}
.tile b{display:block;font-size:22px;color:#1d4ed8}figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}
.legend{font-size:12px;display:flex;flex-wrap:wrap;gap:4px 14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.bad{color:#b91c1c}.good{color:#15803d}.empty{color:#666;font-style:italic}.note{color:#444;font-size:13px}
"""

# Recomputes each chart's numbers from the embedded JSON and marks the figure,
# so a reader (or a browser test) sees at once if a chart disagrees with the data.
CHECK_SCRIPT = """
(function(){
  const data = JSON.parse(document.getElementById('report-data').textContent);
  function pick(obj, path){
    let cur = [obj];
    for (const part of path.split('.')){
      const m = part.match(/^(\\w+)(\\[(\\d*)\\])?$/);
      cur = cur.map(o => o[m[1]]);
      if (m[2] !== undefined){ cur = m[3] === '' ? cur.flat() : cur.map(a => a[Number(m[3])]); }
    }
    return cur.length === 1 && !/\\[\\]/.test(path) ? cur[0] : cur;
  }
  function ruleWeek(rows){
    const weeks = [...new Set(rows.map(r => r.week))].sort();
    const out = {};
    for (const r of rows){ (out[r.rule] ||= weeks.map(() => 0))[weeks.indexOf(r.week)] = r.count; }
    return out;
  }
  let checked = 0, bad = 0;
  for (const fig of document.querySelectorAll('figure.chart')){
    const src = fig.dataset.source;
    const expected = src === 'exceptions_per_rule_week' ? ruleWeek(data[src]) : pick(data, src);
    const shown = JSON.parse(fig.dataset.values);
    const ok = JSON.stringify(expected) === JSON.stringify(shown);
    fig.dataset.check = ok ? 'ok' : 'mismatch';
    fig.dataset.drawn = [...fig.querySelectorAll('rect.bar')].filter(r => Number(r.getAttribute('height')) > 0).length
      + fig.querySelectorAll('polyline.series').length;
    checked += 1; if (!ok) bad += 1;
  }
  document.body.dataset.checked = String(checked);
  document.body.dataset.mismatches = String(bad);
})();
"""


def rule_week_series(rows: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[float]]]:
    weeks = sorted({r["week"] for r in rows})
    series: dict[str, list[float]] = {}
    for r in rows:
        series.setdefault(r["rule"], [0] * len(weeks))[weeks.index(r["week"])] = r["count"]
    return weeks, series


def _on_call_section(report: dict[str, Any]) -> str:
    load = report.get("on_call_load") or {"people": [], "per_person_week": [], "night": ""}
    people = load["people"]
    totals = [
        [
            escape(p["member"]),
            escape(", ".join(p["roles"])),
            str(p["pages"]),
            str(p["night_pages"]),
            str(p["weeks"]),
            str(p["max_week_pages"]),
            *(str(p["causes"][c]) for c in CAUSES),
            escape(", ".join(f"{who} ({n})" for who, n in p["overrides_by"].items())),
        ]
        for p in people
    ]
    weeks = [
        [escape(w["member"]), escape(w["week"]), str(w["pages"]), str(w["night_pages"])]
        for w in load["per_person_week"]
    ]
    headers = ["member", "roles", "pages", "night pages", "weeks paged", "most in a week"]
    headers += ["layer", "override", "vacation cover", "gap", "overrides made by"]
    return (
        f'<p class="note">{escape(load["night"])} Causes: the schedule layer\'s rotation; an '
        "override; covering a colleague away (vacation); a gap (nobody scheduled: the first "
        "member).</p>"
        + _table(headers, totals, "on-call-load")
        + _table(["member", "ISO week", "pages", "night pages"], weeks, "on-call-weeks")
    )


def _fmt_seconds(value: float | None) -> str:
    return format_seconds(value, gap=" ", minutes="min")


def _pct(value: float | None) -> str:
    return format_percent(value, gap=" ")


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="empty">none</td></tr>'
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _slo_section(report: dict[str, Any]) -> str:
    if not report["slos"]:
        return '<p class="empty">No journey event log was given (use --log JOURNEY=FILE).</p>'
    rows, charts = [], []
    for i, s in enumerate(report["slos"]):
        fired = [t["action"] for t in s["burn_rates"] if t["fires"]]
        remaining = s["error_budget_remaining"]
        rows.append(
            [
                escape(s["journey"]),
                escape(s["sli"]),
                f"{s['objective']:g} %",
                str(s["valid"]),
                str(s["bad"]),
                _pct(s["compliance"]),
                f'<span class="{"good" if remaining >= 0 else "bad"}">{_pct(remaining)}</span>',
                escape(", ".join(fired) or "-"),
            ]
        )
        charts.append(
            line_chart(
                f"burn-down-{i}",
                f"Error budget remaining: {s['journey']} / {s['sli']}",
                f"slos[{i}].burn_down[].remaining",
                [p["remaining"] for p in s["burn_down"]],
            )
        )
    headers = [
        "journey",
        "SLI",
        "objective",
        "valid",
        "bad",
        "compliance",
        "budget left",
        "firing tiers",
    ]
    return _table(headers, rows, "slo-table") + "".join(charts)


def _durations(report: dict[str, Any]) -> str:
    rows = []
    for measure, label in (
        ("time_to_detect", "onset → detected"),
        ("time_to_acknowledge", "detected → acknowledged"),
        ("time_to_restore", "detected → resolved"),
    ):
        o = report[measure]["overall"]
        rows.append([label, str(o["count"]), *(_fmt_seconds(o[p]) for p in ("p50", "p90", "p99"))])
    table = _table(["measure", "count", "p50", "p90", "p99"], rows, "duration-table")
    by = [
        [
            escape(str(r["journey"])),
            str(r["count"]),
            *(_fmt_seconds(r[p]) for p in ("p50", "p90", "p99")),
        ]
        for r in report["time_to_restore"]["by_journey"]
    ]
    return (
        table
        + "<h3>Time to restore by journey</h3>"
        + _table(["journey", "count", "p50", "p90", "p99"], by, "restore-by-journey")
    )


def _open_list(report: dict[str, Any]) -> str:
    o = report["open_exceptions"]
    rows = [
        [
            f'<a href="{escape(r["url"])}">{escape(r["exception_id"])}</a>',
            escape(str(r["journey"])),
            escape(str(r["rule"])),
            escape(str(r["severity"])),
            escape(str(r["owner_role"])),
            escape(r["state"]),
            str(r["level"]),
            _fmt_seconds(r["age_seconds"]),
        ]
        for r in o["oldest_first"]
    ]
    note = f'<p class="note">{o["count"]} open; showing the {o["shown"]} oldest.</p>'
    headers = ["exception", "journey", "rule", "severity", "owner role", "state", "level", "age"]
    return note + _table(headers, rows, "open-exceptions")


def render_html(report: dict[str, Any], title: str = "escalator report") -> str:
    t = report["totals"]
    tiles = "".join(
        f'<div class="tile" data-total="{k}"><b>{v}</b>{escape(k)}</div>' for k, v in t.items()
    )
    dist = report["restore_distribution"]
    age = report["open_by_age"]
    roles = report["load_by_owner_role"]
    weeks, series = rule_week_series(report["exceptions_per_rule_week"])
    rework = report["rework"]["overall"]
    dora = report["dora_operations"]
    lead_rows = [
        [
            escape(r["journey"]),
            str(r["cases"]),
            str(r["completed"]),
            *(_fmt_seconds(r[p]) for p in ("p50", "p90", "p99")),
        ]
        for r in dora["lead_time"]
    ]
    # "<" only occurs inside JSON strings; as \u003c no "</script>" or "<!--" in the
    # data can end the script element early.
    payload = json.dumps(report, default=str).replace("<", "\\u003c")
    body = f"""
<h1>{escape(title)}</h1>
<p class="note">As of {escape(report["as_of"])}{" · since " + escape(report["since"]) if report["since"] else ""}</p>
<div class="tiles">{tiles}</div>
<h2>SLOs and error budgets</h2>{_slo_section(report)}
<h2>Time to restore</h2>{_durations(report)}
{bar_chart("restore-distribution", "Time to restore (resolved exceptions)", "restore_distribution[].count", [b["bucket"] for b in dist], [b["count"] for b in dist])}
<h2>Exceptions per rule per week</h2>
{grouped_bar_chart("rule-week", "Exceptions per rule per ISO week", "exceptions_per_rule_week", weeks, series)}
<h2>Load per owner role</h2>
{bar_chart("load-by-role", "Exceptions per owner role", "load_by_owner_role[].exceptions", [str(r["owner_role"]) for r in roles], [r["exceptions"] for r in roles])}
<h2>On-call load per person</h2>
{_on_call_section(report)}
<h2>Open exceptions</h2>
{bar_chart("open-by-age", "Open exceptions by age", "open_by_age[].count", [b["bucket"] for b in age], [b["count"] for b in age])}
{_open_list(report)}
<h2>Rules: what owners said, and what to change</h2>
<p class="note">Flagged: lift at most 1, or false alarms at least {_pct(report["false_alarm_threshold"])} of the exceptions owners judged.</p>
{_table(LEARNING_HEADERS, [[escape(c) for c in row] for row in learning_rows(report)], "rule-learning")}
<h2>Operations outcomes (DORA measures, operations form)</h2>
<p class="note">{escape(dora["label"])}</p>
<p>Change failure rate (rework): <b id="rework-rate">{_pct(rework["rate"])}</b>
 ({rework["rework"]} of {rework["exceptions"]} exceptions; {rework["escalated"]} escalated beyond level 1, {rework["reopened"]} reopened)</p>
{_table(["journey", "cases", "completed", "lead time p50", "p90", "p99"], lead_rows, "lead-time")}
"""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}"
        f'<script type="application/json" id="report-data">{payload}</script>'
        f"<script>{CHECK_SCRIPT}</script></body></html>"
    )
