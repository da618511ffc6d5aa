"""Training and the published evaluation protocol.

Evaluation (as in the remaining-time literature, e.g. PGTNet 2024): traces with
fewer than 3 events dropped; cases ordered by their first event and split 64/16/20
into train / validation / test; MAE in days over every test prefix of length
2..n-1. The baseline predicts, per prefix length, the median remaining time of the
training prefixes of that length. Fewer than 3 such traces leave no test case: that is
an InputError (nothing to evaluate), not an empty result or LightGBM's own error.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from escalator.detectors.events import CASE, EVENT, TS
from escalator.detectors.prediction.calibration import auc, brier, reliability
from escalator.detectors.prediction.model import SEED, Predictor, fit_predictor, in_flight
from escalator.detectors.prediction.prefixes import (
    DAY_S,
    PREFIX_LEN,
    encode_prefixes,
    fit_vocabulary,
    to_matrix,
)
from escalator.detectors.prediction.targets import (
    REMAINING,
    breach_column,
    case_outcomes,
    latency_slis,
    with_targets,
)
from escalator.errors import InputError
from escalator.policies.calendars import Calendar
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet

__all__ = ["Split", "evaluate_protocol", "journey_calendar", "split_cases", "train_predictor"]

MIN_EVENTS = 3
# Fewer kept cases leave the test set (the last 20 %) empty: 1 or 2 all go to train/validation.
MIN_EVALUATED_CASES = 3
MIN_SETTLED_CASES = 100  # fewer cases than this give a model of constant risk


def journey_calendar(policies: PolicySet, journey: Journey) -> Calendar | None:
    return policies.calendar(journey.calendar) if journey.calendar else None


@dataclass
class Split:
    train: list[str]
    valid: list[str]
    test: list[str]


def split_cases(outcomes: pl.DataFrame, fractions: tuple[float, ...]) -> list[list[str]]:
    """Case ids in order of their first event (ties by id), cut at the given fractions."""
    ordered = outcomes.sort(["case_start", CASE])[CASE].to_list()
    cuts, acc = [], 0.0
    for f in fractions[:-1]:
        acc += f
        cuts.append(round(acc * len(ordered)))
    bounds = [0, *cuts, len(ordered)]
    return [ordered[a:b] for a, b in itertools.pairwise(bounds)]


def completed_cases(events: pl.DataFrame, journey: Journey) -> pl.DataFrame:
    """Events of completed cases: those with a completing event, if the journey names any."""
    if not journey.completing_events:
        return events
    done = events.filter(pl.col(EVENT).is_in(journey.completing_events))[CASE].unique()
    return events.filter(pl.col(CASE).is_in(done.implode()))


def _encoded(
    events: pl.DataFrame, journey: Journey, calendar: Calendar | None, train_ids: list[str]
) -> tuple[pl.DataFrame, Any]:
    vocab = fit_vocabulary(events.filter(pl.col(CASE).is_in(train_ids)), journey)
    rows = encode_prefixes(events, journey, vocab, calendar=calendar)
    return with_targets(rows, case_outcomes(events, journey), journey), vocab


def train_predictor(
    events: pl.DataFrame,
    policies: PolicySet,
    journey: Journey,
    *,
    until: datetime | None = None,
    seed: int = SEED,
) -> Predictor:
    """A model from the cases completed by ``until`` (default: all), 80/20 train/validation.

    Features of every prefix still see the other cases in flight at that moment; only
    the cases the model learns from are restricted to completed ones.
    """
    cases_from = None
    if until is not None:
        events = events.filter(pl.col(TS) <= until)
        # Cases that started just before the cutoff and completed by it are the fast
        # ones: learning from them would teach the model that cases are never late.
        # Only cases started two SLI thresholds before the cutoff are learnt from.
        limits = [s.threshold for s in latency_slis(journey)]
        if limits:
            cases_from = until - 2 * max(limits)
    cases = completed_cases(events, journey)
    outcomes = case_outcomes(cases, journey).filter(pl.col("n_events") >= 2)
    if cases_from is not None:
        settled = outcomes.filter(pl.col("case_start") <= cases_from)
        # A log with few cases that long before the cutoff (an extract) teaches
        # nothing from them: then every case completed by the cutoff is learnt from,
        # fast ones over-represented, and the model's metadata says so.
        if settled.height >= MIN_SETTLED_CASES:
            outcomes = settled
        else:
            cases_from = None
    if outcomes.height < 10:
        raise ValueError(
            f"journey {journey.name}: only {outcomes.height} completed cases to learn from "
            "(need at least 10); give a longer log or a later --until"
        )
    train_ids, valid_ids = split_cases(outcomes, (0.8, 0.2))
    calendar = journey_calendar(policies, journey)
    rows, vocab = _encoded(events, journey, calendar, train_ids)
    rows = rows.filter(pl.col(PREFIX_LEN) < pl.col("n_events"))  # the last event has nothing left
    predictor = fit_predictor(
        rows.filter(pl.col(CASE).is_in(train_ids)),
        rows.filter(pl.col(CASE).is_in(valid_ids)),
        journey,
        vocab,
        business_hours=calendar is not None,
        policy_version=policies.version,
        seed=seed,
    )
    window = predictor.meta["training_window"]
    window["cases_started_by"] = cases_from.isoformat() if cases_from is not None else None
    return predictor


def evaluate_protocol(
    events: pl.DataFrame, policies: PolicySet, journey: Journey, *, seed: int = SEED
) -> dict[str, Any]:
    """Train on 64 %, calibrate/early-stop on 16 %, report on the last 20 % of cases.

    Fewer than ``MIN_EVALUATED_CASES`` cases of ``MIN_EVENTS`` or more events (none at
    all when every row of the log was quarantined) is an :class:`InputError`.
    """
    outcomes = case_outcomes(events, journey)
    kept = outcomes.filter(pl.col("n_events") >= MIN_EVENTS)
    if kept.height < MIN_EVALUATED_CASES:
        raise InputError(
            f"journey {journey.name}: nothing to evaluate: only {kept.height} cases of "
            f"{MIN_EVENTS} or more events (need at least {MIN_EVALUATED_CASES}, the last 20 % "
            "to test on); give a longer log, or fix its quarantined rows or the journey's "
            "'columns:'/'events:'"
        )
    train_ids, valid_ids, test_ids = split_cases(kept, (0.64, 0.16, 0.20))
    calendar = journey_calendar(policies, journey)
    started = time.perf_counter()
    rows, vocab = _encoded(events, journey, calendar, train_ids)
    rows = rows.filter(
        pl.col(CASE).is_in(kept[CASE].implode())
        & (pl.col(PREFIX_LEN) >= 2)
        & (pl.col(PREFIX_LEN) < pl.col("n_events"))
    )
    train = rows.filter(pl.col(CASE).is_in(train_ids))
    predictor = fit_predictor(
        train,
        rows.filter(pl.col(CASE).is_in(valid_ids)),
        journey,
        vocab,
        business_hours=calendar is not None,
        policy_version=policies.version,
        seed=seed,
    )
    train_s = time.perf_counter() - started
    test = rows.filter(pl.col(CASE).is_in(test_ids))
    t0 = time.perf_counter()
    pred = predictor.remaining_days(test)
    score_s = time.perf_counter() - t0
    actual = test[REMAINING].to_numpy() / DAY_S
    err = np.abs(pred - actual)
    baseline = _baseline(train, test)
    lengths = test[PREFIX_LEN].to_numpy().astype(int)
    by_len = {
        str(n): round(float(err[lengths == n].mean()), 4) for n in sorted(set(lengths.tolist()))
    }
    base_by_len = {
        str(n): round(float(baseline[lengths == n].mean()), 4)
        for n in sorted(set(lengths.tolist()))
    }
    result: dict[str, Any] = {
        "journey": journey.name,
        "protocol": "chronological 64/16/20 split by case start; traces < 3 events dropped; "
        "prefixes 2..n-1; MAE in days over all test prefixes",
        "cases": {"train": len(train_ids), "validation": len(valid_ids), "test": len(test_ids)},
        "dropped_short_cases": outcomes.height - kept.height,
        "test_prefixes": int(test.height),
        "mae_days": round(float(err.mean()), 4) if err.size else None,
        "mae_days_by_prefix_length": by_len,
        "baseline_mae_days": round(float(baseline.mean()), 4) if baseline.size else None,
        "baseline_mae_days_by_prefix_length": base_by_len,
        "train_seconds": round(train_s, 2),
        "scoring_prefixes_per_second": round(test.height / score_s) if score_s > 0 else None,
        "model_version": predictor.version,
        "seed": seed,
        "breach": {},
    }
    for sli_name, model in predictor.breach.items():
        sli = next(s for s in latency_slis(journey) if s.name == sli_name)
        col = breach_column(sli)
        labelled = test.filter(in_flight(sli, test.columns))
        prob = model.risk(to_matrix(labelled, predictor.features))
        label = labelled[col].to_numpy()
        result["breach"][sli_name] = {
            "prefixes": labelled.height,  # in flight: SLI started, not ended, deadline ahead
            "base_rate": round(float(label.mean()), 4) if label.size else None,
            "brier": _r(brier(prob, label)),
            "auc": _r(auc(prob, label)),
            "reliability": reliability(prob, label),
        }
    return result


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _baseline(train: pl.DataFrame, test: pl.DataFrame) -> np.ndarray:
    """|median remaining time of training prefixes of the same length - actual|, in days."""
    medians = train.group_by(PREFIX_LEN).agg(pl.col(REMAINING).median().alias("__m"))
    overall = train[REMAINING].median()
    joined = test.select(PREFIX_LEN, REMAINING).join(medians, on=PREFIX_LEN, how="left")
    # Test prefixes longer than any training prefix: the longest length's median.
    longest = medians.sort(PREFIX_LEN)["__m"].to_list()
    fill = longest[-1] if longest else overall if isinstance(overall, float) else 0.0
    m = joined["__m"].fill_null(fill).to_numpy()
    return np.abs(m - joined[REMAINING].to_numpy()) / DAY_S
