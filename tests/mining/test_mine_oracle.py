"""Variants and the directly-follows graph checked against a plain-Python oracle."""

from __future__ import annotations

import random
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detectors"))
import itertools

import polars as pl
from detector_helpers import events

from escalator.analytics.mining import paths
from escalator.analytics.mining.case_order import ACT_NO, case_order
from escalator.analytics.mining.mine import mine
from escalator.analytics.mining.render_html import render_html
from escalator.detectors.events import EVENT
from escalator.errors import InputError
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


def _random_rows(seed: int, names: list[str]) -> list[tuple[str, str, str]]:
    """Cases of 1-6 events, some at the same second (then the line decides), over
    names where one begins another, so ties between variants are ordered by text."""
    rng = random.Random(seed)
    rows = []
    for case in range(80):
        t = datetime(2024, 5, 6, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 20_000))
        for _ in range(rng.randint(1, 6)):
            rows.append((f"c{case:02d}", rng.choice(names), t.isoformat()))
            t += timedelta(seconds=rng.choice([0, 60, 3600, rng.randint(1, 9_999)]))
    return rows


def _oracle(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Variants in order (count, then the names joined by the unit separator), activity and
    start/end counts, and each edge's waits, from the rows in (time, line) order per case."""
    traces: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for line, (c, e, t) in enumerate(rows):
        traces[c].append((datetime.fromisoformat(t), line, e))
    seqs = {c: [e for _, _, e in sorted(v)] for c, v in traces.items()}
    counted = Counter(tuple(s) for s in seqs.values())
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for v in traces.values():
        v.sort()
        for (t0, _, a), (t1, _, b) in itertools.pairwise(v):
            waits[(a, b)].append((t1 - t0).total_seconds())
    occurrences = Counter(e for _, e, _ in rows)
    cases_with = Counter(e for s in seqs.values() for e in set(s))
    return {
        "variants": sorted(counted.items(), key=lambda kv: (-kv[1], "\x1f".join(kv[0]))),
        "activities": sorted(
            ((a, n, cases_with[a]) for a, n in occurrences.items()), key=lambda r: (-r[1], r[0])
        ),
        "start": dict(sorted(Counter(s[0] for s in seqs.values()).items())),
        "end": dict(sorted(Counter(s[-1] for s in seqs.values()).items())),
        "waits": waits,
    }


@pytest.mark.parametrize(
    "names",
    [["a", "ab", "a b", "b", "Z", "é"], ["x", "x\ty", "xy", "y"]],
    ids=["plain", "control-character"],
)
@pytest.mark.parametrize("order", ["as read", "shuffled", "by case"])
def test_random_log_in_any_row_order_matches_oracle(names: list[str], order: str) -> None:
    """The frame's row order (a reader's time order, none, grouped by case) and how the
    mining finds each case's events must not change a single figure."""
    rows = _random_rows(len(names), names)
    frame = events(rows)
    if order == "shuffled":
        frame = frame.sample(fraction=1.0, shuffle=True, seed=3)
    elif order == "by case":
        frame = frame.sort("case_id", descending=True)
    data = mine(frame, "orders", None, top_variants=1_000).data
    want = _oracle(rows)
    got = [(tuple(v["activities"]), v["count"]) for v in data["variants"]]
    assert got == want["variants"]
    assert [v["rank"] for v in data["variants"]] == list(range(1, len(got) + 1))
    dfg = data["dfg"]
    assert [(a["activity"], a["count"], a["cases"]) for a in dfg["activities"]] == want[
        "activities"
    ]
    assert (dfg["start"], dfg["end"]) == (want["start"], want["end"])
    edges = {(e["source"], e["target"]): e for e in dfg["edges"]}
    assert set(edges) == set(want["waits"])
    for k, ws in want["waits"].items():
        assert edges[k]["count"] == len(ws)
        assert edges[k]["median_wait_s"] == _q(ws, 0.5)
        assert edges[k]["p90_wait_s"] == _q(ws, 0.9)
        assert edges[k]["total_wait_s"] == pytest.approx(sum(ws), rel=1e-12, abs=1e-9)
        assert edges[k]["mean_wait_s"] == pytest.approx(sum(ws) / len(ws), rel=1e-12)


def test_cases_per_activity_counted_alike_above_the_bitmap_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A log with many cases and activities counts cases per activity by hash instead of
    a bitmap; both ways give the oracle's counts."""
    rows = _random_rows(7, ["a", "ab", "b", "c"])
    want = _oracle(rows)["activities"]
    monkeypatch.setattr(paths, "BITMAP_LIMIT", 0)
    dfg = mine(events(rows), "orders", None).data["dfg"]
    assert [(a["activity"], a["count"], a["cases"]) for a in dfg["activities"]] == want


def test_activity_codes_index_the_sorted_names() -> None:
    """Codes number the names in sorted order, whatever order the events come in; an
    event without a name (no reader hands one over) gets no code rather than a wrong one."""
    frame = events(ROWS).sample(fraction=1.0, shuffle=True, seed=5)
    order = case_order(frame)
    names = order.activities.to_list()
    assert names == sorted({e for _, e, _ in ROWS})
    coded = order.events.select(EVENT, ACT_NO).iter_rows()
    assert all(names[code] == name for name, code in coded)
    unnamed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col(EVENT)).alias(EVENT)
    )
    order = case_order(unnamed)
    assert order.activities.null_count() == 0
    assert order.events.filter(pl.col(EVENT).is_null())[ACT_NO].to_list() == [None]


@pytest.mark.parametrize("outcome", [None, Outcome(description="x", events=["cancelled"])])
def test_a_log_with_no_events_is_an_input_error(outcome: Outcome | None) -> None:
    """Nothing to mine is the caller's input to fix (InputError: the CLI exits 2 with the
    line), not an IndexError from deep inside the case order."""
    with pytest.raises(InputError, match=r"^no events to mine: .*; fix the log"):
        mine(events(ROWS).clear(), "orders", outcome)
