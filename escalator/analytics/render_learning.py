"""The report's "Rules: what owners said" section as rows, shared by the terminal and
the HTML renderers (the figures come from ``rule_learning.learning_by_rule``)."""

from __future__ import annotations

from typing import Any

from escalator.analytics.formatting import format_percent, format_seconds

__all__ = ["LEARNING_HEADERS", "TEXT_HEADERS", "learning_lines", "learning_rows"]

LEARNING_HEADERS = [
    "rule",
    "exceptions",
    "confirmed",
    "false alarms",
    "not said",
    "causes",
    "restore p50",
    "precision",
    "lift",
    "suggested change",
]


def _lift(card: dict[str, Any] | None) -> str:
    if card is None:
        return "no scorecard"
    if not card["has_lift"]:
        return "not in scorecard"
    return "-" if card["lift"] is None else f"{card['lift']:.2f}"


def learning_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in report.get("rule_learning", []):
        card = r["scorecard"]
        causes = ", ".join(f"{c['cause']} ({c['count']})" for c in r["causes"][:3]) or "-"
        flags = "; ".join(f"{f['suggestion']}: {f['reason']}" for f in r["flags"]) or "-"
        rows.append(
            [
                str(r["rule"]),
                str(r["exceptions"]),
                str(r["confirmed"]),
                str(r["false_alarms"])
                + (
                    f" ({format_percent(r['false_alarm_share'])})" if r["false_alarm_share"] else ""
                ),
                str(r["not_said"]),
                causes,
                format_seconds(r["median_time_to_restore_s"]),
                format_percent(card["precision"]) if card else "-",
                _lift(card),
                flags,
            ]
        )
    return rows


# The terminal has less room: the figures in the table, causes and changes as lines.
TEXT_HEADERS = [h for h in LEARNING_HEADERS if h not in ("causes", "suggested change")]


def learning_lines(report: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The terminal's table rows and, below it, one line per rule's causes and flags."""
    rows, lines = [], []
    drop = {LEARNING_HEADERS.index("causes"), LEARNING_HEADERS.index("suggested change")}
    for r, row in zip(report.get("rule_learning", []), learning_rows(report), strict=True):
        rows.append([c for i, c in enumerate(row) if i not in drop])
        if r["causes"]:
            causes = ", ".join(f"{c['cause']} ({c['count']})" for c in r["causes"])
            lines.append(f"{r['rule']}: causes {causes}")
        for f in r["flags"]:
            lines.append(f"{r['rule']}: {f['suggestion']}: {f['reason']}; {f['how']}")
    return rows, lines
