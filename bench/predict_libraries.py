"""Remaining-time boosters side by side on the same features and split (bench only).

LightGBM (escalator's runtime choice, categorical activity/attribute codes), XGBoost,
CatBoost and scikit-learn's HistGradientBoosting, each learning log(1 + remaining
days) with an absolute-error objective (as escalator's model does), learning rate
0.05, 15 leaves (or depth 4 for CatBoost's symmetric trees), up to 600 rounds, the
round count chosen on the 16 % validation cases, 2 threads, seed 7. XGBoost and
CatBoost see the codes as numbers (their categorical modes need pandas/strings);
HistGradientBoosting gets them as categorical. Also LightGBM on plain days (the
target before the log one).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from escalator.detectors.events import CASE
from escalator.detectors.prediction.model import _boost
from escalator.detectors.prediction.prefixes import (
    DAY_S,
    PREFIX_LEN,
    categorical_features,
    feature_names,
    to_matrix,
)
from escalator.detectors.prediction.protocol import (
    MIN_EVENTS,
    _encoded,
    journey_calendar,
    split_cases,
)
from escalator.detectors.prediction.targets import REMAINING, case_outcomes
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet

__all__ = ["compare_libraries"]

ROUNDS, SEED, THREADS = 600, 7, 2


def _parts(events: pl.DataFrame, policies: PolicySet, journey: Journey) -> dict[str, Any]:
    kept = case_outcomes(events, journey).filter(pl.col("n_events") >= MIN_EVENTS)
    train_ids, valid_ids, test_ids = split_cases(kept, (0.64, 0.16, 0.20))
    calendar = journey_calendar(policies, journey)
    rows, vocab = _encoded(events, journey, calendar, train_ids)
    rows = rows.filter(
        pl.col(CASE).is_in(kept[CASE].implode())
        & (pl.col(PREFIX_LEN) >= 2)
        & (pl.col(PREFIX_LEN) < pl.col("n_events"))
    )
    names = feature_names(vocab, business_hours=calendar is not None)
    parts: dict[str, Any] = {"names": names, "cats": categorical_features(vocab)}
    for part, ids in (("train", train_ids), ("valid", valid_ids), ("test", test_ids)):
        frame = rows.filter(pl.col(CASE).is_in(ids))
        parts[part] = frame
        parts[f"x_{part}"] = to_matrix(frame, names)
        parts[f"y_{part}"] = frame[REMAINING].to_numpy() / DAY_S
        parts[f"ly_{part}"] = np.log1p(np.maximum(parts[f"y_{part}"], 0.0))
    return parts


def _lightgbm(p: dict[str, Any], log_target: bool = True) -> Any:
    f = np.log1p if log_target else (lambda y: y)
    booster = _boost(
        "l1", p["train"], p["valid"], p["names"], p["cats"],
        f(p["y_train"]), f(p["y_valid"]), SEED, ROUNDS,
    )  # fmt: skip
    return lambda x: np.asarray(booster.predict(x, num_threads=THREADS))


def _xgboost(p: dict[str, Any]) -> Any:
    import xgboost as xgb

    model = xgb.XGBRegressor(
        objective="reg:absoluteerror", n_estimators=ROUNDS, learning_rate=0.05,
        tree_method="hist", grow_policy="lossguide", max_leaves=15, max_depth=0,
        min_child_weight=1.0, reg_lambda=1.0, n_jobs=THREADS, random_state=SEED,
        early_stopping_rounds=40,
    )  # fmt: skip
    model.fit(p["x_train"], p["ly_train"], eval_set=[(p["x_valid"], p["ly_valid"])], verbose=False)
    return model.predict


def _catboost(p: dict[str, Any]) -> Any:
    from catboost import CatBoostRegressor

    model = CatBoostRegressor(
        loss_function="MAE", iterations=ROUNDS, learning_rate=0.05, depth=4,
        thread_count=THREADS, random_seed=SEED, od_type="Iter", od_wait=40,
        use_best_model=True, verbose=False, allow_writing_files=False,
    )  # fmt: skip
    model.fit(p["x_train"], p["ly_train"], eval_set=(p["x_valid"], p["ly_valid"]))
    return model.predict


def _histgb(p: dict[str, Any]) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    mask = [n in p["cats"] for n in p["names"]]
    model = HistGradientBoostingRegressor(
        loss="absolute_error", learning_rate=0.05, max_iter=ROUNDS, max_leaf_nodes=15,
        min_samples_leaf=50, l2_regularization=1.0, categorical_features=mask,
        early_stopping=False, random_state=SEED,
    )  # fmt: skip
    model.fit(p["x_train"], p["ly_train"])
    # The round count chosen on the validation cases, as for the others.
    errors = [np.abs(v - p["ly_valid"]).mean() for v in model.staged_predict(p["x_valid"])]
    best = int(np.argmin(errors))

    def predict(x: np.ndarray) -> np.ndarray:
        for i, v in enumerate(model.staged_predict(x)):
            if i == best:
                return np.asarray(v)
        raise AssertionError("unreachable")

    return predict


# name -> (fit, whether it predicts log(1 + days))
LIBRARIES = {
    "lightgbm": (_lightgbm, True),
    "lightgbm_days_target": (lambda p: _lightgbm(p, log_target=False), False),
    "xgboost": (_xgboost, True),
    "catboost": (_catboost, True),
    "histgradientboosting": (_histgb, True),
}


def compare_libraries(
    events: pl.DataFrame, policies: PolicySet, journey: Journey, only: list[str] | None = None
) -> dict[str, dict[str, float]]:
    """Per library: test MAE (days), training seconds, prefixes scored per second."""
    p = _parts(events, policies, journey)
    out: dict[str, dict[str, float]] = {}
    for name, (fit, logged) in LIBRARIES.items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        predict = fit(p)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        raw = np.asarray(predict(p["x_test"]), dtype=np.float64)
        pred = np.maximum(np.expm1(raw) if logged else raw, 0.0)
        score_s = time.perf_counter() - t0
        out[name] = {
            "mae_days": round(float(np.abs(pred - p["y_test"]).mean()), 4),
            "train_seconds": round(train_s, 2),
            "prefixes_per_second": round(p["x_test"].shape[0] / score_s) if score_s else 0,
        }
    return out
