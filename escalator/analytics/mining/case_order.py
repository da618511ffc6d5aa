"""Events ordered by case (in order of first appearance), time and source line, with
integer codes for the case and the activity.

Every mining table groups by case and by activity; doing that on integers instead of
text is what makes mining a 10 M-event log take seconds. Sorting is avoided where the
log already has the order: an XES log holds each case's events together, and a CSV or
Parquet export is usually in time order. Both are checked, never assumed; a log in
neither order is sorted as before. The order is always exactly the one a stable sort
by (case, time, line) gives, so two runs give the same variants and the same sums. Cases
come in order of first appearance; in a frame not grouped by case, in the order of
polars' categorical codes of their ids, which is the same unless this process coded
some of those ids before (that order changes no count, median or quantile; at most the
last bit of a sum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS

__all__ = ["ACT_NO", "CASE_NO", "CaseOrder", "case_order"]

CASE_NO = "__case_no"  # 0, 1, … in the order the frame is in
ACT_NO = "__act_no"  # index into CaseOrder.activities (names sorted)


@dataclass
class CaseOrder:
    events: pl.DataFrame  # CASE, EVENT, TS, the other columns, CASE_NO, ACT_NO
    activities: pl.Series  # the activity names, sorted; ACT_NO indexes it


def _starts(case: pl.Expr) -> pl.Expr:
    """True on the first row of each run of equal values."""
    return (case != case.shift(1)).fill_null(True)


def _runs(starts: pl.Series) -> pl.Series:
    """0, 1, … : the number of the run each row is in (the frame is in runs, so sorted)."""
    return (starts.cum_sum() - 1).cast(pl.UInt32).set_sorted().alias(CASE_NO)


def _stable_order(key: np.ndarray) -> np.ndarray:
    """The permutation a stable sort by ``key`` (unsigned, < 2**32) makes: two radix passes
    over 16-bit halves (numpy sorts 16-bit keys by radix), about 10x a comparison sort."""
    low = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    if key.size == 0 or key.max() <= 0xFFFF:
        return low
    high = (key[low] >> 16).astype(np.uint16)
    return low[np.argsort(high, kind="stable")]


def _activity_codes(events: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The names sorted, and each event's index into them. One pass of hashing over the
    names (a categorical cast; the names of a log in time order lie scattered in memory,
    so a second pass, as a unique then an enum cast, costs as much again); the few
    distinct codes are then renumbered in name order through a lookup table."""
    cat = events.cast(pl.Categorical)
    if cat.null_count():  # no reader hands over an event without a name; still, exact
        names = events.unique().drop_nulls().sort()
        return names, events.cast(pl.Enum(names)).to_physical().cast(pl.UInt32)
    distinct = cat.unique()
    by_name = distinct.cast(pl.String).arg_sort().to_numpy()
    ids = distinct.to_physical().to_numpy()
    lookup = np.zeros(int(ids.max()) + 1 if ids.size else 0, dtype=np.uint32)
    lookup[ids[by_name]] = np.arange(by_name.size, dtype=np.uint32)
    names = distinct.cast(pl.String).gather(by_name).alias(EVENT)
    return names, pl.Series(lookup[cat.to_physical().to_numpy()])


def _in_time_order_per_case(ev: pl.DataFrame) -> bool:
    """Whether (time, line) never goes back within a case."""
    ts, prev = pl.col(TS), pl.col(TS).shift(1)
    back = ts < prev
    if LINE in ev.columns:
        back = back | ((ts == prev) & (pl.col(LINE) < pl.col(LINE).shift(1)))
    back = back & ~_starts(pl.col(CASE_NO))
    return not ev.select(back.fill_null(False).any()).item()


def case_order(events: pl.DataFrame) -> CaseOrder:
    ev = events.select(CASE, EVENT, TS, *[c for c in events.columns if c not in (CASE, EVENT, TS)])
    starts = ev.select(_starts(pl.col(CASE))).to_series()
    firsts = ev[CASE].filter(starts)
    if firsts.n_unique() == firsts.len():  # each case's events are together already
        ev = ev.with_columns(_runs(starts))
    else:
        # A stable sort by the case's first appearance keeps each case's events in the
        # frame's order, which is (time, line) already when the log is in time order.
        key = ev[CASE].cast(pl.Categorical).to_physical()
        ev = ev.with_columns(key.alias(CASE_NO))[pl.Series(_stable_order(key.to_numpy()))]
        ev = ev.with_columns(_runs(ev.select(_starts(pl.col(CASE_NO))).to_series()))
    if not _in_time_order_per_case(ev):
        order = [CASE_NO, TS, LINE] if LINE in ev.columns else [CASE_NO, TS]
        ev = ev.sort(order, maintain_order=True).with_columns(pl.col(CASE_NO).set_sorted())
    names, codes = _activity_codes(ev[EVENT])
    return CaseOrder(ev.with_columns(codes.alias(ACT_NO)), names)
