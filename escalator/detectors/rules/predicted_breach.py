"""Predicted breach: a case in flight the model says will miss a latency SLI.

For each prefix (each event of an in-flight case, from ``min_prefix``): the case has
started the SLI (its ``start_event`` seen), not yet reached its ``end_event`` nor
completed, and the deadline (start + threshold) is still ahead. The firing's onset
is the first such event where the rule's conditions hold, one firing per case; it
clears at the first later event where the risk drops below the rule's hysteresis
level, or when the case reaches the end event or completes. Scores use only the
prefix (see escalator/detectors/prediction/prefixes.py), so an onset never depends on a
later event.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.detectors.firing import empty_firings
from escalator.detectors.prediction.model import Predictor
from escalator.detectors.prediction.prefixes import DAY_S, PREFIX_LEN, encode_prefixes, to_matrix
from escalator.detectors.rules.common import detail, finish
from escalator.policies.calendars import Calendar
from escalator.policies.journeys import Journey, LatencySLI
from escalator.policies.rules import PredictedBreachRule

__all__ = ["predicted_breach_firings", "protected_sli"]

_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"


def protected_sli(journey: Journey, rule: PredictedBreachRule) -> LatencySLI:
    for sli in journey.slis:
        if isinstance(sli, LatencySLI) and sli.name == rule.sli:
            return sli
    raise ValueError(f"rule {rule.name}: {rule.sli!r} is not a latency SLI of {journey.name}")


def predicted_breach_firings(
    events: pl.DataFrame,
    rule: PredictedBreachRule,
    journey: Journey,
    predictor: Predictor,
    *,
    as_of: datetime,
    calendar: Calendar | None = None,
    judged_from: datetime | None = None,
) -> pl.DataFrame:
    """``events`` already cut at ``as_of``; only onsets after ``judged_from`` (backtest)."""
    sli = protected_sli(journey, rule)
    if rule.sli not in predictor.breach or events.height == 0:
        return empty_firings()
    source = events.select(
        CASE, EVENT, TS, LINE, *[c for c in events.columns if c not in (CASE, EVENT, TS, LINE)]
    )
    rows = encode_prefixes(source, journey, predictor.vocab, calendar=calendar)
    names = source.sort([CASE, TS, LINE]).select(pl.col(EVENT).cast(pl.String))[EVENT]
    x = to_matrix(rows, predictor.features)
    risk = predictor.breach[rule.sli].risk(x)
    remaining = predictor.remaining_days(rows)
    is_start = names == sli.start_event
    is_end = names == sli.end_event
    is_done = names.is_in(journey.completing_events) if journey.completing_events else is_end
    frame = rows.select(CASE, TS, LINE, PREFIX_LEN).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"),
        pl.Series("__risk", risk),
        (
            pl.col(TS)
            + pl.duration(milliseconds=pl.lit(pl.Series(np.round(remaining * DAY_S * 1000))))
        ).alias("__predicted"),
        pl.Series("__start", is_start),
        pl.Series("__stop", is_end | is_done),
        pl.Series("__event", names),
    )
    frame = frame.with_columns(
        pl.when(pl.col("__start"))
        .then(pl.col(TS))
        .otherwise(None)
        .forward_fill()
        .over(CASE)
        .alias("__started"),
        pl.col("__stop").cast(pl.Int32).cum_sum().over(CASE).alias("__stops"),
    ).with_columns(
        (pl.col("__started") + pl.duration(seconds=sli.threshold.total_seconds())).alias(
            "__deadline"
        )
    )
    condition = pl.lit(True)
    if rule.risk_threshold is not None:
        condition = condition & (pl.col("__risk") >= rule.risk_threshold)
    if rule.completion_margin is not None:
        condition = condition & (
            pl.col("__predicted") > pl.col("__deadline") - rule.completion_margin
        )
    eligible = (
        (pl.col(PREFIX_LEN) >= rule.min_prefix)
        & pl.col("__started").is_not_null()
        & (pl.col("__stops") == 0)
        & (pl.col(TS) < pl.col("__deadline"))
        & (pl.col(TS) <= as_of)
    )
    if judged_from is not None:
        eligible = eligible & (pl.col(TS) > judged_from)
    frame = frame.with_columns((eligible & condition).alias("__fire"))
    fired = frame.filter(pl.col("__fire")).group_by(CASE).agg(pl.col(TS).min().alias("onset"))
    if fired.height == 0:
        return empty_firings()
    after = frame.join(fired, on=CASE).filter(pl.col(TS) > pl.col("onset"))
    clear_level = rule.clear_level
    clears = pl.col("__stop")
    if clear_level is not None:
        clears = clears | (pl.col("__risk") < clear_level)
    cleared = after.filter(clears).group_by(CASE).agg(pl.col(TS).min().alias("cleared_at"))
    onset_rows = (
        frame.join(fired, on=CASE)
        .filter(pl.col(TS) == pl.col("onset"))
        .unique(CASE, keep="first", maintain_order=True)
    )
    top = predictor.top_features(rule.sli, rows[onset_rows["__row"].to_list()])
    result = onset_rows.join(cleared, on=CASE, how="left").with_columns(
        pl.Series("__top", [_top_text(t) for t in top]),
    )
    return finish(
        result.with_columns(
            pl.col(CASE).alias("subject"),
            pl.concat_list(pl.col(LINE)).alias("evidence"),
            detail(
                sli=pl.lit(rule.sli),
                prediction=pl.struct(
                    pl.col("__risk").round(3).alias("risk"),
                    pl.col("__predicted").dt.to_string(_ISO).alias("predicted_completion"),
                    pl.col("__deadline").dt.to_string(_ISO).alias("deadline"),
                    pl.col(PREFIX_LEN).cast(pl.Int32).alias("prefix_length"),
                    pl.col("__event").alias("last_event"),
                    pl.col("__top").alias("top_features"),
                    pl.lit(predictor.version).alias("model_version"),
                ),
            ).alias("detail"),
        )
    )


def _top_text(features: list[dict[str, object]]) -> str:
    """``last_activity=Wait (+0.41), elapsed_s=...``: what pushed the risk up."""
    return ", ".join(
        f"{f['feature']}={f['value']} ({float(f['contribution']):+.2f})"  # type: ignore[arg-type]
        for f in features
    )
