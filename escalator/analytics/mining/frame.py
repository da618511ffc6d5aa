"""The case-ordered frame every mining table starts from, and the case outcome it is judged by.

Events are ordered by case (in order of first appearance), time and source line (a stable
order for ties, so two runs give the same variants; `case_order`). The case table and the
variants are made from that order's integer arrays; the ordered frame, where each row
carries the next event of its case (computed once with a shift instead of a window
function per case), is made only when a table that reads the events asks for it. Each
case gets its variant: cases are grouped by their sequence of activity codes (small
integers, as bytes), so no case's activities are ever joined into text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from escalator.analytics.mining.case_order import ACT_NO, CASE_NO, CaseOrder, case_order
from escalator.detectors.events import CASE, EVENT, TS
from escalator.detectors.scorecard import case_outcomes
from escalator.errors import InputError
from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import Outcome

__all__ = [
    "CODE_COLUMNS",
    "SEP",
    "CaseLog",
    "activity_lists",
    "bad_outcome",
    "case_log",
    "seconds",
]

NEXT_EVENT, NEXT_TS, WAIT_S = "next_event", "next_ts", "wait_s"
CODE_COLUMNS = (CASE_NO, ACT_NO)  # integer codes, not attributes of the log
SEP = "\x1f"  # joins a variant's activities: the unit separator cannot clash with a name


@dataclass
class CaseLog:
    order: CaseOrder  # the case order: integer codes and times as numpy arrays
    cases: pl.DataFrame  # case_id, first, last, duration_s, variant, bad (null = unknown)
    # variant (0 = most frequent; ties by the activities), acts (ACT_NO codes), count:
    # one row per variant, in variant order
    paths: pl.DataFrame
    activities: pl.Series  # sorted names; ACT_NO indexes it
    outcome: Outcome | None
    log_end: datetime | None

    @cached_property
    def events(self) -> pl.DataFrame:
        """Ordered; next_event / next_ts / wait_s (null on a case's last event). Made when
        a table first asks: variants and the directly-follows graph read the order's
        arrays, not this frame."""
        return _with_next(self.order.events)


def bad_outcome(policies: PolicySet, journey: Journey, rule: str | None = None) -> Outcome | None:
    """The outcome the journey's rules predict (the named rule's, else the first rule's);
    without rules, an availability SLI's bad events; else none (bad-outcome rates are null)."""
    if rule is not None:
        return policies.rule(rule).predicts
    for r in policies.rules:
        if r.journey == journey.name:
            return r.predicts
    for sli in journey.slis:
        if isinstance(sli, AvailabilitySLI) and sli.bad_events:
            return Outcome(description=f"{sli.name}: a bad event", events=sli.bad_events)
    return None


def seconds(micros: np.ndarray) -> np.ndarray:
    """Microseconds as seconds, the float polars makes of ``total_microseconds() / 1e6``
    (by polars itself: it multiplies by the reciprocal, which can differ from numpy's
    division in the last bit, and every figure has always been polars')."""
    return (pl.Series(micros) / 1e6).to_numpy()


def _with_next(ev: pl.DataFrame) -> pl.DataFrame:
    same_case = pl.col(CASE_NO).shift(-1) == pl.col(CASE_NO)
    return ev.with_columns(
        pl.when(same_case).then(pl.col(EVENT).shift(-1)).alias(NEXT_EVENT),
        pl.when(same_case).then(pl.col(TS).shift(-1)).alias(NEXT_TS),
    ).with_columns(((pl.col(NEXT_TS) - pl.col(TS)).dt.total_microseconds() / 1e6).alias(WAIT_S))


def activity_lists(acts: pl.Series, activities: pl.Series) -> list[list[str]]:
    """Each variant's activities by name, from its ACT_NO codes."""
    names = activities.to_list()
    return [[names[c] for c in codes] for codes in acts.to_list()]


def _lists(act: np.ndarray, begin: np.ndarray, length: np.ndarray) -> pl.Series:
    """``act[begin[i] : begin[i] + length[i]]`` for each i, as a list column."""
    offsets = np.zeros(length.size + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    at = np.repeat(begin - offsets[:-1], length) + np.arange(offsets[-1])
    return pl.Series("acts", pa.LargeListArray.from_arrays(offsets, act[at].astype(np.uint32)))


def _trace_bytes(act: np.ndarray, starts: np.ndarray, k: int) -> pa.LargeBinaryArray:
    """Each case's activity codes as one byte string, big-endian: comparing two of them
    byte by byte compares the code lists (a list that begins another sorts first)."""
    width = 1 if k <= 1 << 8 else 2 if k <= 1 << 16 else 4
    data = act.astype(np.uint8) if width == 1 else act.astype(f">u{width}")
    offsets = np.append(starts, act.size).astype(np.int64) * width
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), starts.size, buffers)


def _paths(order: CaseOrder) -> tuple[pl.DataFrame, np.ndarray]:
    """The variants in order (count, then trace), and each case's variant number.

    Cases are grouped by their codes as bytes (one hashing pass over a string a case).
    Codes number the names in sorted order, so ordering code lists orders the traces as
    their text (names joined by SEP) would order: a shorter name that begins a longer
    one sorts first either way, because SEP sorts before every character but the control
    characters. A name holding one of those could break that; then the text decides.
    """
    act, starts, activities = order.act, order.starts, order.activities
    length = np.diff(np.append(starts, act.size))
    codes = int(act.max()) + 1 if act.size else 0
    encoded = pc.dictionary_encode(_trace_bytes(act, starts, codes))
    of_case = encoded.indices.to_numpy()  # numbered by first appearance
    count = np.bincount(of_case, minlength=len(encoded.dictionary))
    seen = np.maximum.accumulate(of_case) if of_case.size else of_case
    first = np.flatnonzero(np.diff(seen, prepend=-1) > 0)  # each variant's first case
    acts = _lists(act, starts[first], length[first])
    if activities.str.contains(r"[\x00-\x1f]").any():
        key = _traces(acts, activities)
    else:
        key = pl.Series("trace", encoded.dictionary)
    ranked = (
        pl.DataFrame({"count": count, "trace": key})
        .select(pl.arg_sort_by(["count", "trace"], descending=[True, False]))
        .to_series()
        .to_numpy()
    )
    number = np.empty(ranked.size, dtype=np.uint32)
    number[ranked] = np.arange(ranked.size, dtype=np.uint32)
    paths = pl.DataFrame(
        {
            "variant": np.arange(ranked.size, dtype=np.uint32),
            "acts": acts.gather(ranked),
            "count": pl.Series(count[ranked]).cast(pl.get_index_type()),
        }
    )
    return paths, number[of_case]


def _traces(acts: pl.Series, activities: pl.Series) -> pl.Series:
    return pl.Series("trace", [SEP.join(a) for a in activity_lists(acts, activities)])


def case_log(
    events: pl.DataFrame, outcome: Outcome | None, completing_events: list[str] | None = None
) -> CaseLog:
    """``completing_events`` (the journey's): judged as the scorecard judges, so a case
    still open at the log's end has an unknown outcome when the outcome is a bad event.

    A log with no events is an :class:`InputError` (nothing to mine), not an empty result.
    """
    if events.height == 0:
        raise InputError(
            "no events to mine: the log is empty or every row was quarantined; "
            "fix the log or its journey's 'columns:'/'events:'"
        )
    order = case_order(events)
    paths, of_case = _paths(order)
    ends = np.append(order.starts[1:], order.ts.size) - 1
    first, last = order.ts[order.starts], order.ts[ends]
    stamp = pl.Datetime("us", getattr(order.source[TS].dtype, "time_zone", None))
    cases = pl.DataFrame(
        {
            CASE: order.case_ids(),
            "first": pl.Series(first).cast(stamp),
            "last": pl.Series(last).cast(stamp),
            "duration_s": seconds(last - first),
            "variant": of_case,
        }
    )
    end = order.source[TS].max() if order.ts.size else None
    log_end = end if isinstance(end, datetime) else None
    if outcome is not None and log_end is not None:
        judged = case_outcomes(events, outcome, log_end, completing_events)
        judged = judged.select(
            CASE,
            "breach",
            pl.when(pl.col("censored"))
            .then(None)
            .otherwise(pl.col("breach").is_not_null())
            .alias("bad"),
        )
        cases = cases.join(judged, on=CASE, how="left", maintain_order="left")
    else:
        cases = cases.with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("breach"),
            pl.lit(None, pl.Boolean).alias("bad"),
        )
    return CaseLog(order, cases, paths, order.activities, outcome, log_end)
