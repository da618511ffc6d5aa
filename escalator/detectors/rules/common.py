"""Helpers shared by the rule kinds: sorting, subjects, detail JSON, evidence slices."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.detectors.firing import FIRING_SCHEMA, MAX_EVIDENCE

__all__ = [
    "CID",
    "by_case",
    "detail",
    "evidence_slices",
    "finish",
    "flapping_subjects",
    "next_in_case",
    "seen_in_case",
    "us",
    "window_subject",
]

# An integer code per case (first-appearance order): grouping and "same case as the
# previous row" on it are several times faster than on the case-id strings.
CID = "__cid"


def us(td: timedelta) -> int:
    return int(td / timedelta(microseconds=1))


def by_case(events: pl.DataFrame, *, time_sorted: bool = False) -> pl.DataFrame:
    """Events grouped by case (column ``CID``), in time then source-line order within each.

    Sorting by time first and then *stably* by an integer case code is much cheaper
    than sorting by the case-id strings; the cases' relative order does not matter.
    """
    by_time = events if time_sorted else events.sort([TS, LINE])
    # Case ids and event names become categoricals (integer codes): the sort then moves
    # integers instead of strings, and event-name tests compare codes.
    # Case ids get categories of their own per call (a long-running watch would
    # otherwise grow the process-wide pool with every case it ever saw); event names,
    # a small vocabulary, use the global pool.
    cases = pl.Categorical(pl.Categories.random())
    coded = by_time.with_columns(pl.col(CASE).cast(cases), pl.col(EVENT).cast(pl.Categorical))
    return coded.with_columns(pl.col(CASE).to_physical().alias(CID)).sort(CID, maintain_order=True)


# Row numbers and case boundaries on a frame grouped by CID: per-case "seen so far" and
# "next such row" become global forward/backward fills compared with the boundaries,
# which is much cheaper than window expressions over a million cases.
_ROW = pl.int_range(pl.len(), dtype=pl.Int64)
_CASE_START = (
    pl.when((pl.col(CID) != pl.col(CID).shift(1)).fill_null(True)).then(_ROW).forward_fill()
)
_CASE_END = (
    pl.when((pl.col(CID) != pl.col(CID).shift(-1)).fill_null(True)).then(_ROW).backward_fill()
)


def seen_in_case(flag: pl.Expr, *, strictly_before: bool = False) -> pl.Expr:
    """Whether ``flag`` held on this row (or only: an earlier row) of the same case."""
    last = pl.when(flag).then(_ROW).forward_fill()
    if strictly_before:
        last = last.shift(1)
    return (last >= _CASE_START).fill_null(False)


def next_in_case(flag: pl.Expr, value: pl.Expr) -> pl.Expr:
    """``value`` at the next later row of the same case where ``flag`` holds (else null)."""
    nxt = pl.when(flag).then(_ROW).shift(-1).backward_fill()
    return pl.when(nxt <= _CASE_END).then(value.gather(nxt.fill_null(0)))


def detail(**fields: pl.Expr) -> pl.Expr:
    """A JSON object column built from expressions (timestamps as ISO strings)."""
    cols = []
    for name, expr in fields.items():
        cols.append(expr.alias(name))
    return pl.struct(cols).struct.json_encode()


def window_subject(onset: pl.Expr) -> pl.Expr:
    """Aggregate rules' subject: the episode's first moment, stable across polls."""
    return pl.lit("window@") + onset.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def flapping_subjects(frame: pl.DataFrame, reopen_window: timedelta) -> pl.DataFrame:
    """Window rules: an episode that starts within ``reopen_window`` of the previous one
    clearing takes that one's subject, so a flapping condition reopens one exception.

    Hysteresis: a new dedupe key needs the condition to stay clear for longer than the
    reopen window (the workflow reopens within ``<=`` of the resolution, so a gap of
    exactly the window still reopens). Chains follow each other: the subject is the first
    episode's of the chain. Only earlier episodes decide, so there is no look-ahead.
    """
    if frame.height < 2:
        return frame
    ordered = frame.sort("onset")
    gap = pl.col("onset") - pl.col("cleared_at").shift(1)
    # A previous episode still holding cannot be followed by another; first row: a chain.
    starts = gap.is_null() | (gap > pl.duration(microseconds=us(reopen_window)))
    return (
        ordered.with_columns(starts.cum_sum().alias("__chain"))
        .with_columns(pl.col("subject").first().over("__chain"))
        .drop("__chain")
    )


def evidence_slices(
    frame: pl.DataFrame, lo: pl.Series, hi: pl.Series, lines: pl.Series
) -> pl.Series:
    """For each row, ``lines[lo:hi]`` (capped at MAX_EVIDENCE) as a list column."""
    hi_capped = pl.select(pl.min_horizontal(hi, lo + MAX_EVIDENCE)).to_series()
    idx = pl.DataFrame(
        {"__row": pl.int_range(0, frame.height, eager=True), "__lo": lo, "__hi": hi_capped}
    )
    exploded = idx.select(
        "__row", pl.int_ranges("__lo", pl.max_horizontal("__lo", "__hi")).alias("__i")
    ).explode("__i")
    picked = lines.gather(exploded["__i"].fill_null(0)) if lines.len() else None
    got = exploded.with_columns(
        pl.when(pl.col("__i").is_not_null()).then(picked).otherwise(None).alias("__line")
        if picked is not None
        else pl.lit(None, pl.Int64).alias("__line")
    )
    grouped = got.group_by("__row").agg(pl.col("__line").drop_nulls())
    # Rows with an empty slice vanish in the explode: join back onto every row.
    full = idx.select("__row").join(grouped, on="__row", how="left").sort("__row")
    return full["__line"].fill_null(pl.lit([], pl.List(pl.Int64))).alias("evidence")


def finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Select and type the firing columns."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in FIRING_SCHEMA.items()]).sort(
        "onset", "subject"
    )
