"""Variants and the directly-follows graph checked against a plain-Python oracle."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detectors"))
import itertools

from detector_helpers import events

from escalator.analytics.mining.mine import mine
from escalator.analytics.mining.render_html import render_html
from escalator.policies.rules import Outcome

ROWS = [
    ("A", "a", "2024-05-06T10:00:00Z"),
    ("A", "b", "2024-05-06T11:00:00Z"),
    ("A", "b", "2024-05-06T12:30:00Z"),
    ("A", "cancelled", "2024-05-06T13:00:00Z"),
    ("B", "a", "2024-05-06T10:00:00Z"),
    ("B", "c", "2024-05-06T10:30:00Z"),
    ("C", "a", "2024-05-06T09:00:00Z"),
    ("C", "c", "2024-05-06T09:10:00Z"),
    ("D", "a", "2024-05-06T08:00:00Z"),
    ("D", "b", "2024-05-06T08:20:00Z"),
    ("D", "cancelled", "2024-05-06T09:00:00Z"),
]


def _q(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def test_variants_and_dfg_match_oracle() -> None:
    result = mine(events(ROWS), "orders", Outcome(description="x", events=["cancelled"]))
    traces: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for c, e, t in ROWS:
        traces[c].append((datetime.fromisoformat(t), e))
    variants = Counter(tuple(e for _, e in sorted(v)) for v in traces.values())
    got = {tuple(v["activities"]): v["count"] for v in result.data["variants"]}
    assert got == dict(variants)
    assert result.data["variant_count"] == len(variants)
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for v in traces.values():
        v.sort()
        for (t0, a), (t1, b) in itertools.pairwise(v):
            waits[(a, b)].append((t1 - t0).total_seconds())
    edges = {(e["source"], e["target"]): e for e in result.data["dfg"]["edges"]}
    assert set(edges) == set(waits)
    for k, ws in waits.items():
        assert edges[k]["count"] == len(ws)
        assert edges[k]["median_wait_s"] == _q(ws, 0.5)
        assert edges[k]["p90_wait_s"] == _q(ws, 0.9)
    assert result.data["base_rate"] == 0.5
    assert result.data["rework"]["cases_with_rework"] == 1
    html = render_html(result)
    assert html.count('class="edge"') == len(waits)


def test_open_cases_are_censored_as_in_the_scorecard() -> None:
    rows = [*ROWS, ("E", "a", "2024-05-06T12:00:00Z")]  # E is still open at the log's end
    outcome = Outcome(description="x", events=["cancelled"])
    plain = mine(events(rows), "orders", outcome).data
    judged = mine(events(rows), "orders", outcome, completing_events=["c", "cancelled"]).data
    assert (plain["base_rate"], plain["censored_cases"]) == (2 / 5, 0)
    assert (judged["base_rate"], judged["censored_cases"]) == (2 / 4, 1)
