"""`escalator suggest`: rules proposed from the log, each with its evidence and its backtest.

What is proposed (every rule predicts the journey's bad outcome, as `mine` judges it):

* latency, per state: the time a case stays after an activity before its next event;
  the threshold is the stays' p90 (rounded up to a whole minute, hour or day), for the
  ``max_latency`` states where the most waiting time goes (completing events excluded);
* conformance: the reference model of the frequent behaviour, the start activities and
  directly-follows pairs of the most frequent variants that together cover
  ``coverage`` of the cases (activities outside them are not modelled);
* volume: cases started per hour (the commonest first activity) against the same hour
  of the previous weeks, spike and drop by a factor of 3;
* the correlated patterns `mine` offers as rule candidates, where a rule kind can say
  them: an activity (a conformance rule in which nothing may lead to it) or a
  transition (one in which that pair is not allowed); attribute patterns are listed as
  comments only.

Each rule is backtested on the same log and its scorecard written above it, so a rule
that is no better than chance is visible before anyone adopts it. Names start with
``suggested_`` so the file can sit beside the user's policies (names must be unique).
"""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import polars as pl
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from escalator.analytics.mining.correlations import correlations
from escalator.analytics.mining.frame import WAIT_S, CaseLog, activity_lists, case_log
from escalator.analytics.mining.paths import variants
from escalator.detectors.evaluate import evaluate
from escalator.detectors.events import EVENT, TS
from escalator.detectors.scorecard import RuleScore, score_rules
from escalator.policies.duration import format_duration
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import ExceptionRule, Outcome

__all__ = ["Proposal", "suggest"]

_RULE: TypeAdapter[ExceptionRule] = TypeAdapter(ExceptionRule)
MIN_STAYS = 20


@dataclass
class Proposal:
    body: dict[str, Any]
    evidence: list[str]
    score: RuleScore | None = None


@dataclass
class Suggestion:
    journey: str
    proposals: list[Proposal]
    notes: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        out = [
            f"# Rules proposed by `escalator suggest` for journey {self.journey}.",
            "# Each is backtested on the log it was proposed from: read its scorecard",
            "# (precision, lift over the base rate, recall, lead time) before adopting it.",
        ]
        out += [f"# {n}" for n in self.notes]
        out.append("rules:")
        for p in self.proposals:
            out.append("")
            out += [f"  # {line}" for line in p.evidence]
            if p.score is not None:
                out += [f"  # {line}" for line in _scorecard_lines(p.score)]
            text = _dump([p.body])
            out += [f"  {line}" for line in text.rstrip().splitlines()]
        return "\n".join(out) + "\n"


def _dump(data: object) -> str:
    yaml = YAML()  # round-trip dumper: keys stay in the order written (name, kind first)
    yaml.default_flow_style = False
    yaml.width = 100
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _scorecard_lines(s: RuleScore) -> list[str]:
    ci = s.precision_ci
    lead = "-" if s.median_lead_time_s is None else f"{s.median_lead_time_s / 3600:.1f} h"
    lift = "-" if s.lift is None else f"{s.lift:.2f}"
    verdict = " (no better than chance)" if s.lift is not None and s.lift <= 1 else ""
    return [
        f"backtest: {s.firings} firings ({s.firings_per_day:.2f}/day); precision "
        f"{_pct(s.precision)}"
        + (f" [95 % CI {_pct(ci[0])}-{_pct(ci[1])}]" if ci else "")
        + f"; base rate {_pct(s.base_rate)}; lift {lift}{verdict}",
        f"  recall {_pct(s.recall)} of {s.bad} {s.unit}s; late {s.late}; censored "
        f"{s.censored}; median lead {lead}; attention cost "
        + ("-" if s.attention_cost is None else f"{s.attention_cost:.2f}"),
    ]


def _round_up(seconds: float) -> timedelta:
    """A threshold a person would write: whole minutes under 2 h, hours under 2 d, else days."""
    for unit in (86400, 3600, 60):
        if seconds >= 2 * unit or unit == 60:
            return timedelta(seconds=max(unit, math.ceil(seconds / unit) * unit))
    raise AssertionError("unreachable")  # pragma: no cover


def _common(journey: Journey, outcome: Outcome, owner: str, escalation: str) -> dict[str, Any]:
    return {
        "journey": journey.name,
        "owner": owner,
        "escalation": escalation,
        "predicts": outcome.model_dump(mode="json", exclude_defaults=True),
        "runbook": "TODO: link the runbook",
    }


def _latency(log: CaseLog, journey: Journey, base: dict[str, Any], top: int) -> list[Proposal]:
    stays = (
        log.events.filter(
            pl.col(WAIT_S).is_not_null() & ~pl.col(EVENT).is_in(journey.completing_events)
        )
        .group_by(EVENT)
        .agg(
            pl.len().alias("n"),
            pl.col(WAIT_S).sum().alias("total"),
            pl.col(WAIT_S).median().alias("p50"),
            pl.col(WAIT_S).quantile(0.9, "linear").alias("p90"),
        )
        .filter((pl.col("n") >= MIN_STAYS) & (pl.col("p90") > 0))
        .sort(["total", EVENT], descending=[True, False])
        .head(top)
    )
    out = []
    for state, n, total, p50, p90 in stays.iter_rows():
        threshold = _round_up(p90)
        out.append(
            Proposal(
                {
                    "name": _name("suggested_stuck_after", state),
                    "kind": "latency",
                    **base,
                    "hypothesis": f"A case waiting after {state} longer than 9 in 10 cases do "
                    "ends badly.",
                    "state": state,
                    "threshold": format_duration(threshold),
                },
                [
                    f"latency after {state}: {n} stays, median {_hours(p50)}, p90 {_hours(p90)}; "
                    f"{_hours(total)} of waiting in all (threshold = p90, rounded up)",
                ],
            )
        )
    return out


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def _name(prefix: str, text: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    return f"{prefix}_{slug}"[:60]


def _conformance(
    table: pl.DataFrame, activities: pl.Series, base: dict[str, Any], coverage: float, cases: int
) -> Proposal | None:
    kept = table.filter((pl.col("coverage") - pl.col("share")) < coverage)
    if kept.height == 0:
        return None
    starts: set[str] = set()
    allowed: dict[str, set[str]] = {}
    for acts in activity_lists(kept["acts"], activities):
        if not acts:
            continue
        starts.add(acts[0])
        for a in acts:
            allowed.setdefault(a, set())
        for a, b in itertools.pairwise(acts):
            allowed[a].add(b)
    covered = float(kept["coverage"].max())  # type: ignore[arg-type]
    return Proposal(
        {
            "name": "suggested_path_deviation",
            "kind": "conformance",
            **base,
            "hypothesis": "A case that leaves the frequent paths ends badly.",
            "start_events": sorted(starts),
            "allowed_transitions": {a: sorted(bs) for a, bs in sorted(allowed.items())},
        },
        [
            f"conformance: the {kept.height} most frequent variants cover "
            f"{_pct(covered)} of {cases} cases (asked: {_pct(coverage)}); "
            f"{len(allowed)} activities, "
            f"{sum(len(b) for b in allowed.values())} allowed pairs",
        ],
    )


def _volume(log: CaseLog, base: dict[str, Any]) -> Proposal | None:
    firsts = log.events.group_by("case_id").agg(pl.col(EVENT).first(), pl.col(TS).min())
    if firsts.height == 0:
        return None
    start = firsts[EVENT].mode().sort()[0]
    hourly = (
        firsts.filter(pl.col(EVENT) == start)
        .group_by(pl.col(TS).dt.truncate("1h"))
        .agg(pl.len().alias("n"))["n"]
    )
    first, last = log.events[TS].min(), log.events[TS].max()
    weeks = int((last - first) / timedelta(days=7))  # type: ignore[operator]
    if weeks < 2 or hourly.len() == 0:
        return None
    p50 = float(hourly.median())  # type: ignore[arg-type]
    p90 = float(hourly.quantile(0.9, "linear"))  # type: ignore[arg-type]
    min_count = max(10, math.ceil(p50))
    return Proposal(
        {
            "name": _name("suggested_volume", start),
            "kind": "volume",
            **base,
            "hypothesis": f"Three times the usual {start} in an hour swamps the team; a third "
            "of the usual means the source is down.",
            "events": [start],
            "window": "1h",
            "factor": 3,
            "direction": "both",
            "baseline": "same_hour_of_week",
            "baseline_periods": min(4, weeks - 1),
            "min_count": min_count,
        },
        [
            f"volume of {start} (the commonest first activity): per active hour median "
            f"{p50:g}, p90 {p90:g}, max {int(hourly.max())}; {weeks} weeks of log, so "  # type: ignore[arg-type]
            f"{min(4, weeks - 1)} past weeks for the baseline; min_count = max(10, median)",
        ],
    )


def _patterns(
    mined: dict[str, Any], model: Proposal | None, base: dict[str, Any], top: int
) -> tuple[list[Proposal], list[str]]:
    proposals: list[Proposal] = []
    notes: list[str] = []
    if model is None:
        return proposals, notes
    starts = model.body["start_events"]
    allowed: dict[str, list[str]] = model.body["allowed_transitions"]
    for p in mined.get("rule_candidates", []):
        if len(proposals) >= top:
            break
        evidence = (
            f"{p['kind']} {p['pattern']}: {p['support']} cases, bad {_pct(p['bad_rate'])} "
            f"[95 % CI {_pct(p['bad_rate_ci'][0])}-{_pct(p['bad_rate_ci'][1])}] against a "
            f"base rate of {_pct(mined['base_rate'])}: lift {p['lift']:.2f}; seen before the "
            f"outcome in {_pct(p['seen_before_outcome'])} of its bad cases"
        )
        if p["kind"] == "activity" and p["pattern"] in allowed:
            act = p["pattern"]
            trans = {a: [b for b in bs if b != act] for a, bs in allowed.items()}
            body_starts = [s for s in starts if s != act]
            what = f"A case that reaches {act} ends badly."
        elif p["kind"] == "transition":
            a, _, b = p["pattern"].partition(" -> ")
            if b not in allowed.get(a, []):
                continue  # already a deviation of the frequent-path model
            trans = {k: [x for x in v if not (k == a and x == b)] for k, v in allowed.items()}
            body_starts = list(starts)
            what = f"A case that goes from {a} straight to {b} ends badly."
        else:
            notes.append(f"not expressible as a rule, route or watch by hand: {evidence}")
            continue
        proposals.append(
            Proposal(
                {
                    "name": _name("suggested_pattern", p["pattern"]),
                    "kind": "conformance",
                    **base,
                    "hypothesis": what,
                    "start_events": body_starts,
                    "allowed_transitions": trans,
                },
                [f"correlated pattern: {evidence}"],
            )
        )
    return proposals, notes


def suggest(
    events: pl.DataFrame,
    policies: PolicySet,
    journey: Journey,
    outcome: Outcome,
    *,
    owner: str,
    escalation: str,
    coverage: float = 0.8,
    max_latency: int = 5,
    max_patterns: int = 3,
) -> Suggestion:
    log = case_log(events, outcome, journey.completing_events)
    table, _ = variants(log)
    base = _common(journey, outcome, owner, escalation)
    proposals = _latency(log, journey, base, max_latency)
    model = _conformance(table, log.activities, base, coverage, log.cases.height)
    if model is not None:
        proposals.append(model)
    volume = _volume(log, base)
    if volume is not None:
        proposals.append(volume)
    found, notes = _patterns(correlations(log), model, base, max_patterns)
    proposals += found
    taken = {r.name for r in policies.rules}
    proposals = [p for p in proposals if p.body["name"] not in taken]
    rules = [_RULE.validate_python(p.body) for p in proposals]
    if rules:
        results = evaluate(events, policies, journey, rules=rules)
        for p, s in zip(proposals, score_rules(events, journey, results), strict=True):
            p.score = s
    return Suggestion(journey.name, proposals, notes)
