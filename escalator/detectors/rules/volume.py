"""Volume: events per window above baseline * factor (spike) or below baseline / factor (drop).

Windows are fixed, aligned to the Unix epoch (so ``1h`` windows start on the hour
UTC, ``1d`` at midnight UTC). The baseline is the mean count of comparable past
windows: the ``baseline_periods`` previous windows, or the same window of the week in
the previous ``baseline_periods`` weeks. Windows before the log's first window are
unobserved, so a window whose baseline reaches back there is not judged.

* spike: count > baseline * factor and count >= min_count. Onset = the event that
  crossed the line (the m-th event of the window, m = max(floor(baseline*factor)+1,
  min_count)), so a spike is known as soon as it happens, even mid-window.
* drop: a complete window with count < baseline / factor and baseline >= min_count.
  Onset = the window's end (only then is the count final).

Consecutive windows in either condition form one episode: subject =
``window@<first window start>``, onset = the first window's onset, cleared at the end
of the first later complete window that is in neither condition. An episode starting
within the rule's ``reopen_window`` of the previous one clearing keeps that one's
subject (``flapping_subjects``): a flapping volume reopens one exception.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from escalator.detectors.events import EVENT, LINE, TS
from escalator.detectors.firing import empty_firings
from escalator.detectors.rules.common import (
    detail,
    evidence_slices,
    finish,
    flapping_subjects,
    us,
)
from escalator.policies.duration import format_duration
from escalator.policies.rules import VolumeRule

__all__ = ["volume_firings"]

_WEEK = timedelta(days=7)
_UTC_US = pl.Datetime("us", "UTC")


def _baseline(counts: pl.Expr, rule: VolumeRule) -> pl.Expr:
    if rule.baseline == "previous_windows":
        step = 1
    else:
        if _WEEK % rule.window != timedelta(0):
            raise ValueError(
                f"rule {rule.name}: baseline same_hour_of_week needs a window that divides "
                f"a week evenly, got {format_duration(rule.window)}"
            )
        step = _WEEK // rule.window
    shifted = [counts.shift(step * i) for i in range(1, rule.baseline_periods + 1)]
    # Plain "+" (not sum_horizontal, which skips nulls): a baseline reaching back before
    # the first observed window must stay unknown, not count the unobserved as zero.
    total = shifted[0]
    for more in shifted[1:]:
        total = total + more
    return total / rule.baseline_periods


def volume_firings(events: pl.DataFrame, rule: VolumeRule, *, as_of: datetime) -> pl.DataFrame:
    """``events`` sorted by time and cut at ``as_of``."""
    matching = events.filter(pl.col(EVENT).is_in(rule.events)) if rule.events else events
    if matching.height == 0:
        return empty_firings()
    w_us = us(rule.window)
    ts_us = matching[TS].dt.epoch("us")
    win = (ts_us // w_us).alias("win")
    first, last = int(win.min()), int(as_of.timestamp() * 1_000_000) // w_us  # type: ignore[arg-type]
    grid = pl.DataFrame({"win": pl.int_range(first, last + 1, eager=True).cast(pl.Int64)})
    counted = pl.DataFrame({"win": win}).group_by("win").len("count")
    grid = grid.join(counted, on="win", how="left").with_columns(pl.col("count").fill_null(0))
    as_of_us = int(as_of.timestamp() * 1_000_000)
    grid = grid.with_columns(
        _baseline(pl.col("count").cast(pl.Float64), rule).alias("baseline"),
        ((pl.col("win") + 1) * w_us <= as_of_us).alias("complete"),
        (pl.col("win") * w_us).alias("start_us"),
    )
    crossing = pl.max_horizontal(
        (pl.col("baseline") * rule.factor).floor().cast(pl.Int64) + 1, pl.lit(rule.min_count)
    )
    spike = (
        (rule.direction != "drop")
        & pl.col("baseline").is_not_null()
        & (pl.col("count") >= crossing)
    )
    drop = (
        (rule.direction != "spike")
        & pl.col("complete")
        & pl.col("baseline").is_not_null()
        & (pl.col("baseline") >= rule.min_count)
        & (pl.col("count") < pl.col("baseline") / rule.factor)
    )
    grid = grid.with_columns(
        spike.alias("spike"), drop.alias("drop"), crossing.alias("crossing")
    ).with_columns((pl.col("spike") | pl.col("drop")).alias("cond"))
    # Index of each window's first matching event, to find the m-th one (the onset).
    firsts = (
        pl.DataFrame({"win": win, "i": pl.int_range(0, win.len(), eager=True)})
        .group_by("win")
        .agg(pl.col("i").min().alias("first_i"))
    )
    grid = grid.join(firsts, on="win", how="left").sort("win")
    spike_i = (pl.col("first_i") + pl.col("crossing") - 1).clip(0, max(matching.height - 1, 0))
    onset_us = (
        pl.when(pl.col("spike"))
        .then(pl.lit(ts_us).gather(spike_i))
        .otherwise((pl.col("win") + 1) * w_us)
    )
    grid = grid.with_columns(onset_us.alias("onset_us"))
    # Episodes: runs of windows in condition; an incomplete window that is not (yet)
    # in condition keeps the episode open rather than clearing it.
    grid = grid.with_columns(
        (pl.col("cond") != pl.col("cond").shift(1)).fill_null(True).cum_sum().alias("run")
    )
    starts = grid.filter(pl.col("run") != pl.col("run").shift(1).fill_null(-1))
    starts = starts.with_columns(
        pl.col("complete").shift(-1).alias("__next_complete"),
        pl.col("win").shift(-1).alias("__next_win"),
    ).filter(pl.col("cond"))
    if starts.height == 0:
        return empty_firings()
    clear_us = pl.when(pl.col("__next_complete").fill_null(False)).then(
        (pl.col("__next_win") + 1) * w_us
    )
    episodes = starts.with_columns(
        pl.from_epoch(pl.col("onset_us"), "us").dt.replace_time_zone("UTC").alias("onset"),
        pl.from_epoch(clear_us, "us").dt.replace_time_zone("UTC").alias("cleared_at"),
        pl.from_epoch(pl.col("start_us"), "us").dt.replace_time_zone("UTC").alias("window_start"),
    )
    lo = episodes["first_i"].fill_null(0).cast(pl.Int64)
    hi = pl.select(
        pl.when(episodes["spike"]).then(lo + episodes["crossing"]).otherwise(lo)
    ).to_series()
    evidence = evidence_slices(episodes, lo, hi, matching[LINE])
    fired = finish(
        episodes.with_columns(
            (pl.lit("window@") + pl.col("window_start").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).alias(
                "subject"
            ),
            evidence,
            detail(
                direction=pl.when(pl.col("spike")).then(pl.lit("spike")).otherwise(pl.lit("drop")),
                count=pl.when(pl.col("spike")).then(pl.col("crossing")).otherwise(pl.col("count")),
                baseline=pl.col("baseline"),
                factor=pl.lit(rule.factor),
                window=pl.lit(format_duration(rule.window)),
                window_start=pl.col("window_start").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ).alias("detail"),
        )
    )
    return flapping_subjects(fired, rule.reopen_window)
