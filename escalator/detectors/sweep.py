"""`scorecard --sweep RULE`: one rule scored over a range of thresholds, and a pick for a goal.

The swept parameter is the one that sets how eagerly each kind fires: a latency rule's
``threshold`` (a duration), a quality rule's ``threshold`` (a fraction), a volume rule's
``factor``, a predicted_breach rule's ``risk_threshold``. Completeness and conformance
rules have nothing to sweep. By default the values are the rule's own times
``DEFAULT_MULTIPLES`` (kept inside the parameter's valid range).

A goal is one or more constraints on the scorecard's figures (``precision>=0.6``,
``precision>=0.6,attention_cost<=2``); the recommendation is the value meeting all of
them with the best ``prefer`` figure (the longest median lead time by default), ties
going to the lower attention cost.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from escalator.detectors.evaluate import ModelUse, evaluate
from escalator.detectors.scorecard import RuleScore, score_rules
from escalator.policies.duration import format_duration, parse_duration
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import (
    ExceptionRule,
    LatencyRule,
    PredictedBreachRule,
    QualityRule,
    VolumeRule,
)

__all__ = [
    "DEFAULT_MULTIPLES",
    "METRICS",
    "Constraint",
    "SweepResult",
    "parse_goal",
    "parse_values",
    "recommend",
    "sweep",
    "swept_parameter",
]

DEFAULT_MULTIPLES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)

# figure name -> (RuleScore attribute, larger is better)
METRICS: dict[str, tuple[str, bool]] = {
    "precision": ("precision", True),
    "recall": ("recall", True),
    "lift": ("lift", True),
    "lead_time_h": ("median_lead_time_s", True),
    "lead_time": ("median_lead_time_s", True),
    "attention_cost": ("attention_cost", False),
    "false_alarm_cost": ("false_alarm_cost", False),
    "late_share": ("late_share", False),
}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_CONSTRAINT = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*([0-9.eE+-]+)\s*$")

Value = timedelta | float


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    bound: float

    def holds(self, score: RuleScore) -> bool:
        got = _figure(score, self.metric)
        return got is not None and _OPS[self.op](got, self.bound)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


@dataclass
class SweepResult:
    rule: str
    parameter: str
    current: Value
    rows: list[tuple[Value, RuleScore]]
    goal: list[Constraint]
    prefer: str
    recommended: tuple[Value, RuleScore] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "parameter": self.parameter,
            "current": show_value(self.current),
            "goal": [str(c) for c in self.goal],
            "prefer": self.prefer,
            "rows": [{"value": show_value(v), **s.to_json()} for v, s in self.rows],
            "recommended": show_value(self.recommended[0]) if self.recommended else None,
        }


def _figure(score: RuleScore, metric: str) -> float | None:
    attr, _ = METRICS[metric]
    got = getattr(score, attr)
    if got is not None and metric.startswith("lead_time"):  # goals speak in hours
        return float(got) / 3600
    return None if got is None else float(got)


def show_value(value: Value) -> str | float:
    return format_duration(value) if isinstance(value, timedelta) else value


def swept_parameter(rule: ExceptionRule) -> tuple[str, Value]:
    if isinstance(rule, LatencyRule | QualityRule):
        return "threshold", rule.threshold
    if isinstance(rule, VolumeRule):
        return "factor", rule.factor
    if isinstance(rule, PredictedBreachRule) and rule.risk_threshold is not None:
        return "risk_threshold", rule.risk_threshold
    raise ValueError(
        f"rule {rule.name} ({rule.kind}) has no threshold to sweep; "
        "sweep a latency, quality, volume or predicted_breach rule"
    )


def _valid(rule: ExceptionRule, value: Value) -> bool:
    if isinstance(value, timedelta):
        return value > timedelta(0)
    if isinstance(rule, VolumeRule):
        return value > 1
    return 0 < value < 1


def default_values(rule: ExceptionRule) -> list[Value]:
    _, current = swept_parameter(rule)
    values: list[Value] = []
    for m in DEFAULT_MULTIPLES:
        if isinstance(current, timedelta):
            v: Value = timedelta(seconds=round(current.total_seconds() * m))
        elif isinstance(rule, VolumeRule):  # the factor's excess over 1 scales
            v = round(1 + (current - 1) * m, 4)
        else:
            v = round(current * m, 4)
        if _valid(rule, v) and v not in values:
            values.append(v)
    return values


def parse_values(rule: ExceptionRule, text: str) -> list[Value]:
    """``--values``: comma-separated durations (latency) or numbers (the others)."""
    _, current = swept_parameter(rule)
    values: list[Value] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            v: Value = parse_duration(part) if isinstance(current, timedelta) else float(part)
        except ValueError:
            kind = "a duration like 2h" if isinstance(current, timedelta) else "a number"
            raise ValueError(f"--values: {part!r} is not {kind}") from None
        if not _valid(rule, v):
            raise ValueError(
                f"--values: {part} is outside the valid range of {rule.name}'s parameter"
            )
        values.append(v)
    if not values:
        raise ValueError("--values: give at least one value")
    return values


def parse_goal(text: str | None) -> list[Constraint]:
    """``precision>=0.6`` or several joined by commas; lead_time is in hours."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        m = _CONSTRAINT.match(part)
        if m is None or m.group(1) not in METRICS:
            raise ValueError(
                f"--goal: cannot read {part.strip()!r}; write e.g. precision>=0.6 "
                f"(figures: {', '.join(METRICS)})"
            )
        out.append(Constraint(m.group(1), m.group(2), float(m.group(3))))
    return out


def recommend(
    rows: list[tuple[Value, RuleScore]], goal: list[Constraint], prefer: str
) -> tuple[Value, RuleScore] | None:
    if prefer not in METRICS:
        raise ValueError(f"--prefer: {prefer!r} is not one of {', '.join(METRICS)}")
    fit = [(v, s) for v, s in rows if all(c.holds(s) for c in goal)]
    _, larger_better = METRICS[prefer]

    def key(row: tuple[Value, RuleScore]) -> tuple[float, float]:
        got = _figure(row[1], prefer)
        cost = row[1].attention_cost
        if got is None:
            return (float("inf"), float("inf"))
        return (-got if larger_better else got, cost if cost is not None else float("inf"))

    fit = [r for r in fit if _figure(r[1], prefer) is not None]
    return min(fit, key=key) if fit else None


def sweep(
    events: pl.DataFrame,
    policies: PolicySet,
    journey: Journey,
    rule: ExceptionRule,
    values: Sequence[Value] | None = None,
    *,
    goal: list[Constraint] | None = None,
    prefer: str = "lead_time",
    models: dict[str, ModelUse] | None = None,
) -> SweepResult:
    parameter, current = swept_parameter(rule)
    chosen = list(values) if values is not None else default_values(rule)
    rows: list[tuple[Value, RuleScore]] = []
    for value in chosen:
        update: dict[str, Any] = {parameter: value}
        if (
            isinstance(rule, PredictedBreachRule)
            and rule.clear_below is not None
            and isinstance(value, float)
            and rule.clear_below >= value
        ):
            update["clear_below"] = None  # keep the hysteresis band under the threshold
        variant = rule.model_copy(update=update)
        [result] = evaluate(events, policies, journey, rules=[variant], models=models)
        [score] = score_rules(events, journey, [result])
        rows.append((value, score))
    rows.sort(key=lambda r: r[0].total_seconds() if isinstance(r[0], timedelta) else r[0])
    wanted = goal or []
    return SweepResult(
        rule.name, parameter, current, rows, wanted, prefer, recommend(rows, wanted, prefer)
    )
