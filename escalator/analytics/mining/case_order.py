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

The order is a permutation of the rows and a few integer arrays (case, activity, time),
which is all the variants and the directly-follows graph read. The frame itself, text
columns and all, is gathered into that order only when a table asks for it (`events`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS

__all__ = ["ACT_NO", "CASE_NO", "CaseOrder", "case_order"]

CASE_NO = "__case_no"  # 0, 1, … in the order the frame is in
ACT_NO = "__act_no"  # index into CaseOrder.activities (names sorted)
HEAD = 1024  # rows checked first: if these are not grouped by case, the log is not


@dataclass
class CaseOrder:
    source: pl.DataFrame  # the events as given
    rows: np.ndarray | None  # the source row of each event in case order (None: as given)
    case: np.ndarray  # CASE_NO of each event in case order (uint32, 0, 1, …)
    act: np.ndarray  # ACT_NO of each event in case order (the smallest unsigned type)
    ts: np.ndarray  # each event's time in case order, microseconds since the epoch (int64)
    step: np.ndarray  # ts[i + 1] - ts[i], or 0 where event i is its case's last
    starts: np.ndarray  # the position of each case's first event (int64)
    activities: pl.Series  # the activity names, sorted; ACT_NO indexes it
    act_codes: pl.Series | None = None  # ACT_NO with nulls, where an event has no name

    @cached_property
    def events(self) -> pl.DataFrame:
        """The source in case order with CASE_NO and ACT_NO: CASE, EVENT, TS, the other
        columns, CASE_NO, ACT_NO."""
        ev = self.source.select(
            CASE, EVENT, TS, *[c for c in self.source.columns if c not in (CASE, EVENT, TS)]
        )
        ev = ev if self.rows is None else ev[pl.Series(self.rows)]
        codes = pl.Series(ACT_NO, self.act)
        if self.act_codes is not None:
            codes = self.act_codes if self.rows is None else self.act_codes.gather(self.rows)
        return ev.with_columns(
            pl.Series(CASE_NO, self.case).set_sorted(), codes.alias(ACT_NO).cast(pl.UInt32)
        )

    def case_ids(self) -> pl.Series:
        """Each case's id, in case order."""
        first = self.starts if self.rows is None else self.rows[self.starts]
        return self.source[CASE].gather(first)


def _stable_order(key: np.ndarray) -> np.ndarray:
    """The permutation a stable sort by ``key`` (unsigned, < 2**32) makes: two radix passes
    over 16-bit halves (numpy sorts 16-bit keys by radix), about 10x a comparison sort."""
    if key.size == 0 or key.max() <= 0xFFFF:
        return np.argsort(key.astype(np.uint16), kind="stable")
    low = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    high = (key[low] >> 16).astype(np.uint16)
    return low[np.argsort(high, kind="stable")]


def _run_starts(values: np.ndarray) -> np.ndarray:
    """True on the first row of each run of equal values."""
    new = np.ones(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=new[1:])
    return new


def _grouped(case: pl.Series) -> np.ndarray | None:
    """Where each case's run starts, if each case's events are together already (else
    None). A head not grouped answers for the whole log without comparing every id."""
    seen: set[object] = set()
    previous: object = seen  # equal to no id
    for c in case.head(HEAD).to_list():
        if c != previous:
            if c in seen:
                return None
            seen.add(c)
            previous = c
    starts = (case != case.shift(1)).fill_null(True)
    firsts = case.filter(starts)
    return starts.to_numpy() if firsts.n_unique() == firsts.len() else None


def _activity_codes(events: pl.Series) -> tuple[pl.Series, np.ndarray, pl.Series | None]:
    """The names sorted, each event's index into them, and (where some event has no name)
    the codes with nulls. One pass of hashing (a categorical cast), in the frame's own
    order, where the names lie in memory as the reader wrote them; the few distinct
    codes are then renumbered in name order through a lookup table."""
    if events.null_count():  # no reader hands over an event without a name; still, exact
        names = events.unique().drop_nulls().sort()
        codes = events.cast(pl.Enum(names)).to_physical().cast(pl.UInt32)
        return names, codes.fill_null(names.len()).to_numpy(), codes
    ids = events.cast(pl.Categorical).to_physical().to_numpy()
    used = np.flatnonzero(np.bincount(ids))  # the categorical ids the names have
    where = np.zeros(int(ids.max()) + 1 if ids.size else 0, dtype=np.int64)
    where[ids] = np.arange(ids.size)  # an event with each id
    distinct = events.gather(where[used])
    by_name = distinct.arg_sort().to_numpy()
    small = np.uint8 if used.size <= 1 << 8 else np.uint16 if used.size <= 1 << 16 else None
    lookup = np.zeros(where.size, dtype=small or np.uint32)
    lookup[used[by_name]] = np.arange(used.size)
    return distinct.gather(by_name).alias(EVENT), lookup[ids], None


def _micros(ts: pl.Series) -> np.ndarray:
    """Microseconds since the epoch (the readers' unit already)."""
    if isinstance(ts.dtype, pl.Datetime) and ts.dtype.time_unit != "us":
        ts = ts.dt.cast_time_unit("us")
    return ts.to_physical().to_numpy()


def _steps(ts: np.ndarray, new_case: np.ndarray) -> np.ndarray:
    """Microseconds from each event to the next, 0 from a case's last to the next case."""
    step = np.diff(ts)
    step[np.flatnonzero(new_case[1:])] = 0
    return step


def _in_time_order(
    step: np.ndarray, new_case: np.ndarray, line: np.ndarray | None, rows: np.ndarray | None
) -> bool:
    """Whether (time, line) never goes back within a case (``line`` in the source's
    order, ``rows`` the events' rows in it; looked up only where two times tie)."""
    if (step < 0).any():
        return False
    if line is None:
        return True
    tie = np.flatnonzero(step == 0)
    tie = tie[~new_case[tie + 1]]
    if rows is not None:
        return not (line[rows[tie + 1]] < line[rows[tie]]).any()
    return not (line[tie + 1] < line[tie]).any()


def case_order(events: pl.DataFrame) -> CaseOrder:
    source = events
    rows: np.ndarray | None = None
    new_case = _grouped(source[CASE])
    if new_case is None:
        # A stable sort by the case's first appearance keeps each case's events in the
        # frame's order, which is (time, line) already when the log is in time order.
        key = source[CASE].cast(pl.Categorical).to_physical().to_numpy()
        rows = _stable_order(key)
        new_case = _run_starts(key[rows])
    case = np.cumsum(new_case, dtype=np.uint32) - np.uint32(1)
    ts = _micros(source[TS])
    line = source[LINE].to_numpy() if LINE in source.columns else None
    if rows is not None:
        ts = ts[rows]
    step = _steps(ts, new_case)
    if not _in_time_order(step, new_case, line, rows):
        if line is not None and rows is not None:
            line = line[rows]
        keys = (ts, case) if line is None else (line, ts, case)
        again = np.lexsort(keys)  # stable: ties keep the frame's order, as before
        rows = again if rows is None else rows[again]
        ts = ts[again]
        step = _steps(ts, new_case)
    names, act, with_nulls = _activity_codes(source[EVENT])
    if rows is not None:
        act = act[rows]
    starts = np.flatnonzero(new_case)
    return CaseOrder(source, rows, case, act, ts, step, starts, names, with_nulls)
