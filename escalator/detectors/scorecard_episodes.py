"""Scoring aggregate rules (quality, volume) by episode, not by the cases inside a window.

The bad cases' breaches, in time order, form *outcome episodes*: a breach more than one
rule window (the horizon ``h``) after the previous one starts a new episode, which runs
from its first breach to its last. One lucky window then counts once, however many
cases broke inside it.

A rule episode with onset ``t`` is

* late when an outcome episode was already under way: ``start < t <= end``;
* a hit when an outcome episode starts within the horizon: ``t <= start <= t + h``
  (lead time = start - t);
* censored when neither, and ``t + h`` lies after the log's end (not known yet);
* a false alarm otherwise.

An outcome episode is recalled when some rule onset lies in ``[start - h, start]``;
else caught late when one lies in ``(start, end]``; else missed.

Base rate: the precision a rule firing at a random moment of the log would have, i.e.
the share of the known time ``[first event, last event]`` (without the censored
stretch at its end) from which an outcome episode starts within the horizon.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

__all__ = ["Counts", "outcome_episodes", "score_episodes"]


@dataclass(frozen=True)
class Counts:
    unit: str
    judged: int
    hits: int
    late: int
    false_alarms: int
    censored: int
    known_cases: int
    bad_cases: int
    bad: int
    recalled: int
    late_bad: int
    base_rate: float | None
    lead_s: float | None


def outcome_episodes(
    breaches: list[datetime], horizon: timedelta
) -> list[tuple[datetime, datetime]]:
    """Sorted breaches grouped into (start, end) runs with gaps of at most ``horizon``."""
    runs: list[tuple[datetime, datetime]] = []
    for b in breaches:
        if runs and b - runs[-1][1] <= horizon:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((b, b))
    return runs


def _overlap(spans: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    """Seconds of the (disjoint) spans inside [lo, hi]."""
    total = 0.0
    for a, b in spans:
        total += max(0.0, (min(b, hi) - max(a, lo)).total_seconds())
    return total


def _base_rate(
    runs: list[tuple[datetime, datetime]], horizon: timedelta, first: datetime, last: datetime
) -> float | None:
    ahead = [(s - horizon, s) for s, _ in runs]  # a firing here would be a hit
    inside = [(s, e) for s, e in runs]  # ... here, late
    tail = max(first, last - horizon)  # after this, a firing with nothing ahead is unknown
    unknown = (
        (last - tail).total_seconds() - _overlap(ahead, tail, last) - _overlap(inside, tail, last)
    )
    known = (last - first).total_seconds() - unknown
    return _overlap(ahead, first, last) / known if known > 0 else None


def score_episodes(
    frame: pl.DataFrame,
    outcomes: pl.DataFrame,
    horizon: timedelta,
    first: datetime,
    last: datetime,
) -> Counts:
    known = outcomes.filter(~pl.col("censored"))
    breaches = known.filter(pl.col("breach").is_not_null())["breach"].sort().to_list()
    runs = outcome_episodes(breaches, horizon)
    starts = [s for s, _ in runs]
    onsets: list[datetime] = frame["onset"].sort().to_list()
    hits = late = alarms = censored = 0
    leads: list[float] = []
    for t in onsets:
        i = bisect_right(starts, t) - 1
        if i >= 0 and starts[i] < t <= runs[i][1]:
            late += 1
            continue
        j = bisect_left(starts, t)
        if j < len(starts) and starts[j] - t <= horizon:
            hits += 1
            leads.append((starts[j] - t).total_seconds())
        elif t + horizon > last:
            censored += 1
        else:
            alarms += 1
    recalled = late_bad = 0
    for s, e in runs:
        k = bisect_left(onsets, s - horizon)
        if k < len(onsets) and onsets[k] <= s:
            recalled += 1
        elif k < len(onsets) and onsets[k] <= e:
            late_bad += 1
    return Counts(
        unit="episode",
        judged=hits + late + alarms,
        hits=hits,
        late=late,
        false_alarms=alarms,
        censored=censored,
        known_cases=known.height,
        bad_cases=len(breaches),
        bad=len(runs),
        recalled=recalled,
        late_bad=late_bad,
        base_rate=_base_rate(runs, horizon, first, last),
        lead_s=statistics.median(leads) if leads else None,
    )
