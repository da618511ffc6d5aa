"""The learning loop per rule: what owners said of its exceptions, and what to change.

From the records: confirmed exceptions against false alarms (owners say so when they
resolve: Slack's False alarm button, the resolve modal, ``escalator resolve
--false-alarm``), the cause codes, time to acknowledge and to restore. From the rule's
latest scorecard (``escalator scorecard`` keeps one in the records): precision and,
when the scorecard has them, ``base_rate`` and ``lift``.

A rule is flagged when its lift is at most 1 (firing predicts the outcome no better
than chance) or when false alarms are at least ``threshold`` of the exceptions owners
judged (at least ``MIN_JUDGED`` of them). The suggested change follows the lift:

* lift <= 1: **retire** the rule (no signal to tune);
* 1 < lift < ``TICKET_LIFT`` with many false alarms: **route as ticket** (a weak signal
  is worth a look in the daily digest, not a page);
* otherwise (a strong or unknown lift) with many false alarms: **retune** it with the
  threshold sweep (``escalator scorecard --sweep RULE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = [
    "FALSE_ALARM_SHARE",
    "MIN_JUDGED",
    "TICKET_LIFT",
    "ScorecardView",
    "learning_by_rule",
    "rule_flags",
    "scorecard_view",
]

FALSE_ALARM_SHARE = 0.5
MIN_JUDGED = 3  # fewer owner verdicts than this say little about a rule
TICKET_LIFT = 2.0


@dataclass(frozen=True)
class ScorecardView:
    """The figures the learning loop reads from one scorecard (RuleScore.to_json())."""

    precision: float | None
    recall: float | None
    lift: float | None  # None: not scored, or a scorecard without lift
    base_rate: float | None
    firings: int | None
    median_lead_time_s: float | None
    has_lift: bool  # the scorecard carries lift/base_rate at all

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "lift": self.lift,
            "base_rate": self.base_rate,
            "firings": self.firings,
            "median_lead_time_s": self.median_lead_time_s,
            "has_lift": self.has_lift,
        }


def _num(figures: dict[str, Any], key: str) -> float | None:
    value = figures.get(key)
    return float(value) if isinstance(value, int | float) else None


def scorecard_view(figures: dict[str, Any]) -> ScorecardView:
    """The one place the scorecard's figures are read; ``lift`` and ``base_rate`` are
    optional (scorecards before they were added have neither)."""
    firings = figures.get("firings")
    return ScorecardView(
        precision=_num(figures, "precision"),
        recall=_num(figures, "recall"),
        lift=_num(figures, "lift"),
        base_rate=_num(figures, "base_rate"),
        firings=int(firings) if isinstance(firings, int) else None,
        median_lead_time_s=_num(figures, "median_lead_time_s"),
        has_lift="lift" in figures,
    )


def rule_flags(
    rule: str,
    *,
    confirmed: int,
    false_alarms: int,
    scorecard: ScorecardView | None,
    threshold: float = FALSE_ALARM_SHARE,
) -> list[dict[str, str]]:
    """Why the rule needs a change and which one (empty: none)."""
    flags: list[dict[str, str]] = []
    lift = scorecard.lift if scorecard else None
    sweep = f"escalator scorecard --sweep {rule}"
    if lift is not None and lift <= 1:
        flags.append(
            {
                "reason": f"lift {lift:.2f} <= 1: a firing predicts the outcome no better "
                "than chance",
                "suggestion": "retire",
                "how": f"remove the rule, or retune it first if you doubt the log ({sweep})",
            }
        )
    judged = confirmed + false_alarms
    share = false_alarms / judged if judged else None
    if share is not None and judged >= MIN_JUDGED and share >= threshold:
        reason = f"{false_alarms} of {judged} judged exceptions were false alarms ({share:.0%})"
        if lift is not None and lift <= 1:
            flags.append({"reason": reason, "suggestion": "retire", "how": "as above"})
        elif lift is not None and lift < TICKET_LIFT:
            flags.append(
                {
                    "reason": reason + f"; lift {lift:.2f} is a weak signal",
                    "suggestion": "route as ticket",
                    "how": "lower its severity so routing tickets it into the owner's digest",
                }
            )
        else:
            flags.append(
                {
                    "reason": reason,
                    "suggestion": "retune",
                    "how": f"pick a threshold with the sweep ({sweep}) for fewer false alarms",
                }
            )
    return flags


def _seconds(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_seconds()


def learning_by_rule(
    exceptions: pl.DataFrame,
    scorecards: dict[str, dict[str, Any]] | None = None,
    *,
    threshold: float = FALSE_ALARM_SHARE,
) -> list[dict[str, Any]]:
    """Per rule: exceptions, confirmed, false alarms, not said, causes, median time to
    acknowledge and restore, the latest scorecard's figures and the flags."""
    if exceptions.height == 0:
        return []
    real = pl.col("resolution_real")
    resolved = pl.col("resolved_at").is_not_null()
    per_rule = (
        exceptions.filter(pl.col("rule").is_not_null())
        .group_by("rule")
        .agg(
            pl.len().alias("exceptions"),
            resolved.sum().alias("resolved"),
            (real == True).sum().alias("confirmed"),  # noqa: E712 (a polars expression)
            (real == False).sum().alias("false_alarms"),  # noqa: E712
            (resolved & real.is_null()).sum().alias("not_said"),
            _seconds("acknowledged_at", "detected_at").median().alias("median_ack_s"),
            _seconds("resolved_at", "detected_at").median().alias("median_restore_s"),
            pl.col("resolution_cause").drop_nulls().alias("causes"),
        )
        .sort("rule")
    )
    rows = []
    for r in per_rule.iter_rows(named=True):
        figures = (scorecards or {}).get(r["rule"])
        view = scorecard_view(figures) if figures is not None else None
        counts: dict[str, int] = {}
        for cause in r["causes"]:
            counts[cause] = counts.get(cause, 0) + 1
        judged = r["confirmed"] + r["false_alarms"]
        rows.append(
            {
                "rule": r["rule"],
                "exceptions": int(r["exceptions"]),
                "resolved": int(r["resolved"]),
                "confirmed": int(r["confirmed"]),
                "false_alarms": int(r["false_alarms"]),
                "not_said": int(r["not_said"]),
                "false_alarm_share": r["false_alarms"] / judged if judged else None,
                "causes": [
                    {"cause": c, "count": n}
                    for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                "median_time_to_acknowledge_s": r["median_ack_s"],
                "median_time_to_restore_s": r["median_restore_s"],
                "scorecard": view.as_dict() if view else None,
                "flags": rule_flags(
                    r["rule"],
                    confirmed=int(r["confirmed"]),
                    false_alarms=int(r["false_alarms"]),
                    scorecard=view,
                    threshold=threshold,
                ),
            }
        )
    return rows
