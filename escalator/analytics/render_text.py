"""The report as terminal tables (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from escalator.analytics.formatting import format_percent, format_seconds
from escalator.analytics.render_learning import TEXT_HEADERS, learning_lines

__all__ = ["print_report"]


def _table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    out = console or Console()
    t = report["totals"]
    out.print(
        f"[bold]escalator report[/] as of {report['as_of']}"
        + (f" since {report['since']}" if report["since"] else "")
    )
    out.print(_table("Totals", list(t), [[str(v) for v in t.values()]]))
    slo_rows = [
        [
            s["journey"], s["sli"], f"{s['objective']:g}%", str(s["valid"]), str(s["bad"]),
            format_percent(s["compliance"]), format_percent(s["error_budget_remaining"]),
            ", ".join(f"{b['action']}:{'-' if b['long']['burn_rate'] is None else round(b['long']['burn_rate'], 2)}{'!' if b['fires'] else ''}" for b in s["burn_rates"]),
        ]
        for s in report["slos"]
    ]  # fmt: skip
    headers = [
        "journey",
        "SLI",
        "objective",
        "valid",
        "bad",
        "compliance",
        "budget left",
        "burn (long)",
    ]
    out.print(_table("SLOs and error budgets", headers, slo_rows))
    for measure in ("time_to_detect", "time_to_acknowledge", "time_to_restore"):
        rep = report[measure]
        rows = [
            [
                "(all)",
                str(rep["overall"]["count"]),
                *(format_seconds(rep["overall"][p]) for p in ("p50", "p90", "p99")),
            ]
        ]
        rows += [
            [
                str(r["journey"]),
                str(r["count"]),
                *(format_seconds(r[p]) for p in ("p50", "p90", "p99")),
            ]
            for r in rep["by_journey"]
        ]
        out.print(
            _table(
                measure.replace("_", " ").capitalize(),
                ["journey", "count", "p50", "p90", "p99"],
                rows,
            )
        )
    out.print(
        _table(
            "Open exceptions by age",
            ["age", "count"],
            [[b["bucket"], str(b["count"])] for b in report["open_by_age"]],
        )
    )
    roles = report["load_by_owner_role"]
    out.print(
        _table(
            "Load per owner role",
            ["owner role", "exceptions", "open", "escalated"],
            [
                [str(r["owner_role"]), str(r["exceptions"]), str(r["open"]), str(r["escalated"])]
                for r in roles
            ],
        )
    )
    load = report.get("on_call_load") or {"people": []}
    out.print(
        _table(
            "On-call load per person (night: 22:00-07:00 in the layer's zone)",
            [
                "member",
                "pages",
                "night",
                "weeks",
                "most/week",
                "layer",
                "override",
                "vacation",
                "gap",
            ],
            [
                [p["member"], str(p["pages"]), str(p["night_pages"]), str(p["weeks"])]
                + [str(p["max_week_pages"])]
                + [str(p["causes"][c]) for c in ("layer", "override", "vacation_cover", "gap")]
                for p in load["people"]
            ],
        )
    )
    rw = report["rework"]["overall"]
    dora = report["dora_operations"]
    out.print(
        f"[bold]Operations outcomes (DORA measures, operations form)[/]: change failure rate {format_percent(rw['rate'])} ({rw['rework']}/{rw['exceptions']})"
    )
    lead = [
        [
            r["journey"],
            str(r["cases"]),
            str(r["completed"]),
            *(format_seconds(r[p]) for p in ("p50", "p90", "p99")),
        ]
        for r in dora["lead_time"]
    ]
    out.print(
        _table(
            "Lead time (first event -> completing event)",
            ["journey", "cases", "completed", "p50", "p90", "p99"],
            lead,
        )
    )
    opened = report["open_exceptions"]
    rows = [
        [
            r["exception_id"],
            str(r["rule"]),
            r["state"],
            str(r["level"]),
            format_seconds(r["age_seconds"]),
            r["url"],
        ]
        for r in opened["oldest_first"][:20]
    ]
    out.print(
        _table(
            f"Open exceptions ({opened['count']}; oldest first)",
            ["exception", "rule", "state", "level", "age", "Temporal UI"],
            rows,
        )
    )
    learning_rows, learning_notes = learning_lines(report)
    out.print(
        _table(
            "Rules: what owners said, and what to change "
            f"(flagged: lift <= 1 or false alarms >= {report['false_alarm_threshold']:.0%})",
            TEXT_HEADERS,
            learning_rows,
        )
    )
    for line in learning_notes:
        out.print(line, markup=False, soft_wrap=True)
    unmatched = report.get("unmatched_alerts") or {}
    if unmatched:  # alerts the receiver answered 422: a route or labels to fix
        counts = ", ".join(f"{name} {n}" for name, n in sorted(unmatched.items()))
        out.print(
            f"[bold]Alerts that mapped to no rule[/] (repeats included): {counts}; "
            "see `escalator alerts unmatched`",
            soft_wrap=True,
        )
