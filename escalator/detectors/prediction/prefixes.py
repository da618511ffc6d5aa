"""Prefix encodings: one feature row per event, describing the case up to that event.

Row *k* of a case is the prefix of its first *k* events. Every feature is computed
from that prefix and from events of other cases at or before its last event, never
later ones (tests/detectors/prediction/test_prefixes.py alters a log's future and
checks the rows before it do not move). Categorical values are coded against a
:class:`Vocabulary` fitted on the training cases and stored with the model, so a
later log cannot shift the codes either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from escalator.detectors.business_time import BusinessClock
from escalator.detectors.events import CASE, EVENT, LINE, OFFSET, TS
from escalator.policies.calendars import Calendar
from escalator.policies.journeys import Journey

__all__ = [
    "ENCODING_VERSION",
    "MAX_ACTIVITIES",
    "Vocabulary",
    "encode_prefixes",
    "feature_names",
    "fit_vocabulary",
]

ENCODING_VERSION = 2  # 2: cases_in_same_state
MAX_ACTIVITIES = 48  # activity-count columns: the most frequent activities, the rest pooled
MAX_LEVELS = 64  # per attribute: the most frequent values, the rest pooled as "other"
_DAY_S = 86400.0

PREFIX_LEN, ELAPSED, SINCE_LAST = "prefix_len", "elapsed_s", "since_last_s"
BUSINESS_ELAPSED = "business_elapsed_s"
HOUR, WEEKDAY = "hour", "weekday"
LAST, PREV, PREV2 = "last_activity", "prev_activity", "prev2_activity"
STARTED_7D, OPEN_CASES = "cases_started_7d", "open_cases"
SAME_STATE = "cases_in_same_state"
SAME_STATE_HORIZON_US = 86_400_000_000  # the queue of the last day: a day-old backlog is not news


@dataclass(frozen=True)
class Vocabulary:
    """Codes for activities and attribute values: 0 = unknown/other, 1.. = known."""

    activities: list[str]
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"activities": self.activities, "attributes": self.attributes}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Vocabulary:
        return cls(list(raw["activities"]), {k: list(v) for k, v in raw["attributes"].items()})


def declared_attributes(journey: Journey) -> list[str]:
    """Only attributes the journey declares: an undeclared column may carry the outcome."""
    return list(journey.columns.attributes)


def fit_vocabulary(events: pl.DataFrame, journey: Journey) -> Vocabulary:
    def top(col: str) -> list[str]:
        counts = (
            events.select(pl.col(col).cast(pl.String))
            .drop_nulls()
            .group_by(col)
            .len()
            .sort(["len", col], descending=[True, False])
        )
        return counts[col].head(MAX_LEVELS if col != EVENT else MAX_ACTIVITIES).to_list()

    attrs = {a: top(a) for a in declared_attributes(journey) if a in events.columns}
    return Vocabulary(top(EVENT), attrs)


def feature_names(vocab: Vocabulary, *, business_hours: bool) -> list[str]:
    names = [PREFIX_LEN, ELAPSED, SINCE_LAST, HOUR, WEEKDAY]
    if business_hours:
        names.append(BUSINESS_ELAPSED)
    names += [LAST, PREV, PREV2, STARTED_7D, OPEN_CASES, SAME_STATE]
    names += [f"count:{a}" for a in vocab.activities]
    names += [f"attr:{a}" for a in vocab.attributes]
    return names


def categorical_features(vocab: Vocabulary) -> list[str]:
    return [LAST, PREV, PREV2, *[f"attr:{a}" for a in vocab.attributes]]


def _code(col: pl.Expr, levels: list[str]) -> pl.Expr:
    mapping = {v: i for i, v in enumerate(levels, start=1)}
    return (
        col.cast(pl.String)
        .replace_strict(mapping, default=0, return_dtype=pl.Int32)
        .fill_null(0)
        .cast(pl.Int32)
    )


def _trailing_count(times: np.ndarray, at: np.ndarray, window_us: int) -> np.ndarray:
    """How many of sorted ``times`` lie in ``(at - window, at]``."""
    return np.searchsorted(times, at, side="right") - np.searchsorted(
        times, at - window_us, side="right"
    )


def encode_prefixes(
    events: pl.DataFrame,
    journey: Journey,
    vocab: Vocabulary,
    *,
    calendar: Calendar | None = None,
) -> pl.DataFrame:
    """Feature rows (one per event) plus ``case_id``, ``timestamp``, ``source_line``.

    Rows come grouped by case, in time order within each case.
    """
    frame = events.select(
        [c for c in (CASE, EVENT, TS, OFFSET, LINE) if c in events.columns]
        + [a for a in vocab.attributes if a in events.columns]
    ).sort([CASE, TS, LINE])
    first = pl.col(TS).first().over(CASE)
    elapsed = (pl.col(TS) - first).dt.total_seconds(fractional=True)
    since = (pl.col(TS) - pl.col(TS).shift(1).over(CASE)).dt.total_seconds(fractional=True)
    if calendar is not None:
        local = pl.col(TS).dt.convert_time_zone(ZoneInfo(calendar.timezone).key)
    elif OFFSET in frame.columns:
        local = pl.col(TS).dt.replace_time_zone(None) + pl.duration(
            seconds=pl.col(OFFSET).fill_null(0)
        )
    else:
        local = pl.col(TS)
    code = _code(pl.col(EVENT), vocab.activities)
    out = frame.with_columns(
        pl.int_range(1, pl.len() + 1).over(CASE).cast(pl.Float64).alias(PREFIX_LEN),
        elapsed.alias(ELAPSED),
        since.fill_null(0.0).alias(SINCE_LAST),
        (local.dt.hour().cast(pl.Float64) + local.dt.minute() / 60.0).alias(HOUR),
        local.dt.weekday().cast(pl.Float64).alias(WEEKDAY),
        code.alias(LAST),
        code.shift(1).over(CASE).fill_null(0).alias(PREV),
        code.shift(2).over(CASE).fill_null(0).alias(PREV2),
        *[
            (pl.col(EVENT) == a).cast(pl.Float64).cum_sum().over(CASE).alias(f"count:{a}")
            for a in vocab.activities
        ],
        *[
            _code(pl.col(a), levels).alias(f"attr:{a}")
            for a, levels in vocab.attributes.items()
            if a in frame.columns
        ],
    )
    for a in vocab.attributes:  # declared but absent in this log: unknown everywhere
        if f"attr:{a}" not in out.columns:
            out = out.with_columns(pl.lit(0, pl.Int32).alias(f"attr:{a}"))
    if calendar is not None:
        out = out.with_columns(_business_elapsed(out, calendar).alias(BUSINESS_ELAPSED))
    return out.with_columns(_work_in_flight(out, journey)).drop(
        [c for c in (EVENT, OFFSET, *vocab.attributes) if c in out.columns]
    )


def _business_elapsed(frame: pl.DataFrame, calendar: Calendar) -> pl.Series:
    if frame.height == 0:
        return pl.Series(BUSINESS_ELAPSED, [], dtype=pl.Float64)
    start = frame.select(pl.col(TS).first().over(CASE)).to_series()
    lo, hi = frame[TS].min(), frame[TS].max()
    clock = BusinessClock(calendar, lo, hi + timedelta(days=1))  # type: ignore[arg-type, operator]
    return clock.between(start, frame[TS]).dt.total_seconds(fractional=True)


def _work_in_flight(frame: pl.DataFrame, journey: Journey) -> list[pl.Series]:
    """Cases started in the last 7 days, and cases started but not yet completed.

    Both count only events at or before the row's moment: a case start or a
    completing event is known once it happened.
    """
    ts = frame[TS].dt.epoch("us").to_numpy()
    starts = np.sort(frame.filter(pl.col(PREFIX_LEN) == 1)[TS].dt.epoch("us").to_numpy())
    started_7d = _trailing_count(starts, ts, 7 * 86_400_000_000)
    started = np.searchsorted(starts, ts, side="right")
    if journey.completing_events:
        done = events_of(frame, journey.completing_events)
        open_cases = started - np.searchsorted(done, ts, side="right")
    else:
        open_cases = started - started  # no completion declared: unknown, constant 0
    return [
        pl.Series(STARTED_7D, started_7d, dtype=pl.Float64),
        pl.Series(OPEN_CASES, open_cases, dtype=pl.Float64),
        pl.Series(SAME_STATE, _same_state(frame, journey, ts), dtype=pl.Float64),
    ]


def _same_state(frame: pl.DataFrame, journey: Journey, ts: np.ndarray) -> np.ndarray:
    """Other cases whose latest event, at the row's moment, is the row's own activity.

    The queue the case joins: a warehouse out of stock shows as many orders in
    ``awaiting_inventory`` at once. Case *j* is in state *a* from its event *a* at
    t_j until its next event n_j (at most a day; a completed case is in no state).
    At moment t it counts when t_j <= t < n_j: whether n_j > t only says that case
    *j* had no event in (t_j, t], known at t, so no row sees past its own moment.
    """
    nxt = frame.select(pl.col(TS).shift(-1).over(CASE).dt.epoch("us")).to_series()
    ends = np.minimum(nxt.fill_null(np.iinfo(np.int64).max).to_numpy(), ts + SAME_STATE_HORIZON_US)
    codes = frame[LAST].to_numpy()
    done = (
        frame.select(
            pl.sum_horizontal(
                [
                    pl.col(f"count:{n}")
                    for n in journey.completing_events
                    if f"count:{n}" in frame.columns
                ]
                or [pl.lit(0)]
            )
            > 0
        )
        .to_series()
        .to_numpy()
    )
    counts = np.zeros(ts.size, dtype=np.int64)
    for code in np.unique(codes):
        rows = codes == code
        member = rows & ~done
        starts, stops = np.sort(ts[member]), np.sort(ends[member])
        at = ts[rows]
        inside = np.searchsorted(starts, at, side="right") - np.searchsorted(
            stops, at, side="right"
        )
        counts[rows] = inside
    own = (~done) & (ends > ts)  # the row's own case, when it is in that state
    return np.maximum(counts - own, 0)


def events_of(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """Sorted times (µs) of each case's first event among ``names`` (via the count columns)."""
    cols = [f"count:{n}" for n in names if f"count:{n}" in frame.columns]
    if not cols:
        return np.array([], dtype=np.int64)
    hit = pl.sum_horizontal(cols)
    first = frame.filter((hit == 1) & (hit.shift(1).over(CASE).fill_null(0) == 0))
    return np.sort(first[TS].dt.epoch("us").to_numpy())


def to_matrix(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    return frame.select([pl.col(n).cast(pl.Float64) for n in names]).to_numpy()


DAY_S = _DAY_S
