"""How much earlier a predicted_breach rule speaks than the plain latency rule on its SLI.

The plain latency rule on an SLI fires at the SLI's deadline (first ``start_event``
+ threshold) for a case that has not reached ``end_event`` by then. For each case
the prediction fired for and that did breach the SLI, the gain is deadline - onset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from escalator.detectors.events import CASE, EVENT, TS
from escalator.detectors.rules.predicted_breach import protected_sli
from escalator.policies.journeys import Journey
from escalator.policies.rules import PredictedBreachRule

__all__ = ["lead_time_gain"]


def lead_time_gain(
    events: pl.DataFrame, journey: Journey, rule: PredictedBreachRule, frame: pl.DataFrame
) -> dict[str, Any]:
    sli = protected_sli(journey, rule)
    last = events[TS].max()
    assert isinstance(last, datetime)
    start = (
        events.filter(pl.col(EVENT) == sli.start_event)
        .group_by(CASE)
        .agg(pl.col(TS).min().alias("__s"))
    )
    end = (
        events.filter(pl.col(EVENT) == sli.end_event)
        .join(start, on=CASE)
        .filter(pl.col(TS) >= pl.col("__s"))
        .group_by(CASE)
        .agg(pl.col(TS).min().alias("__e"))
    )
    deadline = pl.col("__s") + sli.threshold
    breached = (
        start.join(end, on=CASE, how="left")
        .with_columns(deadline.alias("__deadline"))
        .filter(
            (pl.col("__deadline") <= last)
            & (pl.col("__e").is_null() | (pl.col("__e") > pl.col("__deadline")))
        )
    )
    fired = frame.group_by("subject").agg(pl.col("onset").min()).rename({"subject": CASE})
    caught = fired.join(breached, on=CASE).filter(pl.col("onset") < pl.col("__deadline"))
    gain = (caught["__deadline"] - caught["onset"]).dt.total_seconds()
    return {
        "sli": sli.name,
        "sli_breaches": breached.height,
        "caught_before_latency_rule": caught.height,
        "median_lead_time_gain_s": float(gain.median()) if caught.height else None,  # type: ignore[arg-type]
    }
