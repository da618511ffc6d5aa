"""The predictor: LightGBM boosters for remaining time and per-SLI breach risk.

The artefact is one JSON file: metadata (journey, policy version, training window,
feature list, vocabulary, metrics, library versions) and each booster in LightGBM's
own text format, plus the isotonic breakpoints. No pickle: loading it runs no code.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# OpenMP threads that spin while waiting made a 2-thread booster 10x slower on a busy
# 2-core machine (receipt's backtest model: 17 s instead of 1.5 s at load 16); passive
# waiting only delays a thread's wake-up when the cores are free. Read when libgomp loads,
# so it is set before lightgbm is imported; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
import polars as pl

from escalator.detectors.events import TS
from escalator.detectors.prediction.calibration import Isotonic, fit_isotonic
from escalator.detectors.prediction.prefixes import (
    DAY_S,
    ENCODING_VERSION,
    Vocabulary,
    categorical_features,
    declared_attributes,
    feature_names,
    to_matrix,
)
from escalator.detectors.prediction.targets import REMAINING, breach_column
from escalator.errors import InputError
from escalator.policies.journeys import Journey, LatencySLI

__all__ = ["ARTEFACT_FORMAT", "ModelMismatch", "Predictor", "fit_predictor", "load_predictor"]

ARTEFACT_FORMAT = "escalator-predictor/1"
# The remaining-time booster learns log(1 + days) with an L1 loss: the median is kept
# under a monotone transform, and the long tails of slow cases stop dominating the
# splits (MAE helpdesk 4.89 -> 4.68, receipt 1.52 -> 1.40 days; docs/benchmarks.md).
LOG_DAYS = "log1p_days"
SEED = 7


class ModelMismatch(InputError, ValueError):
    """The saved model was trained for another journey, feature set or format."""


def _params(objective: str, seed: int) -> dict[str, Any]:
    # deterministic + force_col_wise + fixed threads: the same seed gives the same
    # trees on every run, so the figures in docs/ can be reproduced.
    return {
        "objective": objective,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.9,
        "lambda_l2": 1.0,
        "max_bin": 255,
        "max_cat_to_onehot": 8,
        "cat_smooth": 10.0,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": 2,
        "seed": seed,
        "verbose": -1,
    }


@dataclass
class BreachModel:
    sli: str
    booster: lgb.Booster
    calibration: Isotonic

    def risk(self, x: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.booster.predict(x, num_threads=2))
        return np.clip(self.calibration(raw), 0.0, 1.0)


@dataclass
class Predictor:
    meta: dict[str, Any]
    vocab: Vocabulary
    remaining: lgb.Booster
    breach: dict[str, BreachModel] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(self.meta["features"])

    @property
    def version(self) -> str:
        return str(self.meta["model_version"])

    def remaining_days(self, rows: pl.DataFrame) -> np.ndarray:
        x = to_matrix(rows, self.features)
        raw = np.asarray(self.remaining.predict(x, num_threads=2))
        if self.meta.get("remaining_target") == LOG_DAYS:
            raw = np.expm1(raw)
        return np.maximum(raw, 0.0)

    def top_features(self, sli: str, rows: pl.DataFrame, k: int = 3) -> list[list[dict[str, Any]]]:
        """Per row, the ``k`` features pushing the breach risk up most (SHAP values)."""
        model = self.breach[sli]
        x = to_matrix(rows, self.features)
        contrib = np.asarray(model.booster.predict(x, pred_contrib=True, num_threads=2))
        out = []
        for r in range(x.shape[0]):
            order = np.argsort(-contrib[r, :-1], kind="stable")[:k]
            out.append(
                [
                    {
                        "feature": self.features[i],
                        "value": _display(self, i, x[r, i]),
                        "contribution": round(float(contrib[r, i]), 3),
                    }
                    for i in order
                ]
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ARTEFACT_FORMAT,
            "meta": self.meta,
            "vocabulary": self.vocab.to_json(),
            "remaining": self.remaining.model_to_string(),
            "breach": {
                name: {"booster": b.booster.model_to_string(), "isotonic": b.calibration.to_json()}
                for name, b in self.breach.items()
            },
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json()), encoding="utf-8")
        tmp.replace(path)  # a watcher never sees half a file


def _display(p: Predictor, i: int, value: float) -> object:
    name = p.features[i]
    if name.endswith("_activity"):
        code = int(value)
        return p.vocab.activities[code - 1] if 0 < code <= len(p.vocab.activities) else "other"
    if name.startswith("attr:"):
        levels = p.vocab.attributes.get(name[5:], [])
        code = int(value)
        return levels[code - 1] if 0 < code <= len(levels) else "other"
    return round(float(value), 1)


def _dataset(
    rows: pl.DataFrame,
    names: list[str],
    cats: list[str],
    y: np.ndarray,
    reference: lgb.Dataset | None = None,
) -> lgb.Dataset:
    return lgb.Dataset(
        to_matrix(rows, names),
        label=y,
        feature_name=[n.replace(":", "__").replace(" ", "_") for n in names],
        categorical_feature=[names.index(c) for c in cats],
        free_raw_data=True,
        reference=reference,
        params={"verbose": -1, "max_bin": 255},
    )


def _boost(
    objective: str,
    train: pl.DataFrame,
    valid: pl.DataFrame,
    names: list[str],
    cats: list[str],
    y_train: np.ndarray,
    y_valid: np.ndarray,
    seed: int,
    rounds: int,
) -> lgb.Booster:
    dtrain = _dataset(train, names, cats, y_train)
    callbacks: list[Any] = []
    valid_sets = []
    if valid.height:
        valid_sets = [_dataset(valid, names, cats, y_valid, dtrain)]
        callbacks.append(lgb.early_stopping(40, verbose=False))
    return lgb.train(
        _params(objective, seed),
        dtrain,
        num_boost_round=rounds,
        valid_sets=valid_sets,
        callbacks=callbacks,
    )


def fit_predictor(
    train: pl.DataFrame,
    valid: pl.DataFrame,
    journey: Journey,
    vocab: Vocabulary,
    *,
    business_hours: bool,
    policy_version: str,
    seed: int = SEED,
    rounds: int = 600,
) -> Predictor:
    """Boosters on ``train`` prefix rows (with targets), early-stopped and calibrated on ``valid``."""
    names = feature_names(vocab, business_hours=business_hours)
    cats = categorical_features(vocab)
    remaining = _boost(
        "l1",
        train,
        valid,
        names,
        cats,
        np.log1p(np.maximum(train[REMAINING].to_numpy() / DAY_S, 0.0)),
        np.log1p(np.maximum(valid[REMAINING].to_numpy() / DAY_S, 0.0)),
        seed,
        rounds,
    )
    breach: dict[str, BreachModel] = {}
    for sli in journey.slis:
        if not isinstance(sli, LatencySLI):
            continue
        col = breach_column(sli)
        flying = in_flight(sli, train.columns)
        tr, va = train.filter(flying), valid.filter(flying)
        y_tr, y_va = tr[col].to_numpy(), va[col].to_numpy()
        if tr.height == 0 or y_tr.min() == y_tr.max():
            continue  # nothing to learn: every case breaches, or none does
        booster = _boost("binary", tr, va, names, cats, y_tr, y_va, seed, rounds)
        raw = np.asarray(booster.predict(to_matrix(va, names), num_threads=2))
        breach[sli.name] = BreachModel(sli.name, booster, fit_isotonic(raw, y_va))
    lo, hi = train["case_start"].min(), train["case_end"].max()
    meta: dict[str, Any] = {
        "journey": journey.name,
        "policy_version": policy_version,
        "encoding_version": ENCODING_VERSION,
        "features": names,
        "attributes": declared_attributes(journey),
        "business_hours": business_hours,
        "remaining_target": LOG_DAYS,
        "slis": sorted(breach),
        "training_window": {
            "first_case_start": lo.isoformat() if isinstance(lo, datetime) else None,
            "last_case_end": hi.isoformat() if isinstance(hi, datetime) else None,
            "cases": train["case_id"].n_unique(),
            "prefixes": train.height,
        },
        "seed": seed,
        "libraries": {
            "lightgbm": lgb.__version__,
            "numpy": np.__version__,
            "polars": pl.__version__,
            "python": platform.python_version(),
        },
        "metrics": {},
    }
    predictor = Predictor(meta, vocab, remaining, breach)
    digest = hashlib.sha256(json.dumps(predictor.to_json(), sort_keys=True).encode())
    meta["model_version"] = digest.hexdigest()[:12]
    return predictor


def in_flight(sli: LatencySLI, columns: list[str]) -> pl.Expr:
    """Prefixes a breach prediction is for: SLI started, end not reached, deadline ahead.

    Prefixes after the deadline or the end event already know the answer; learning
    from them would teach the model to recognise breaches, not to foresee them.
    """
    deadline = f"deadline:{sli.name}"
    keep = pl.col(breach_column(sli)).is_not_null() & (pl.col(TS) < pl.col(deadline))
    end = f"count:{sli.end_event}"
    return keep & (pl.col(end) == 0) if end in columns else keep


def expected_features(journey: Journey, vocab: Vocabulary, *, business_hours: bool) -> list[str]:
    return feature_names(vocab, business_hours=business_hours)


def load_predictor(path: Path, journey: Journey, *, business_hours: bool) -> Predictor:
    """Load a saved model, refusing one made for another journey or feature set."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelMismatch(
            f"{path}: no such model; train one with `escalator predict train --journey "
            f"{journey.name} --log FILE --out {path}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelMismatch(f"{path}: not a readable model file ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != ARTEFACT_FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ModelMismatch(
            f"{path}: format {got!r}, expected {ARTEFACT_FORMAT!r}; retrain with `escalator predict train`"
        )
    meta = raw["meta"]
    retrain = f"retrain with `escalator predict train --journey {journey.name}`"
    if meta.get("journey") != journey.name:
        raise ModelMismatch(
            f"{path}: model trained for journey {meta.get('journey')!r}, not {journey.name!r}; {retrain}"
        )
    if meta.get("encoding_version") != ENCODING_VERSION:
        raise ModelMismatch(
            f"{path}: feature encoding v{meta.get('encoding_version')}, this escalator uses "
            f"v{ENCODING_VERSION}; {retrain}"
        )
    vocab = Vocabulary.from_json(raw["vocabulary"])
    declared = declared_attributes(journey)
    if meta.get("attributes") != declared or bool(meta.get("business_hours")) != business_hours:
        raise ModelMismatch(
            f"{path}: model's feature set (attributes {meta.get('attributes')}, business hours "
            f"{meta.get('business_hours')}) differs from journey {journey.name!r} (attributes "
            f"{declared}, business hours {business_hours}); {retrain}"
        )
    if meta.get("features") != feature_names(vocab, business_hours=business_hours):
        raise ModelMismatch(f"{path}: the feature list does not match its vocabulary; {retrain}")
    breach = {
        name: BreachModel(
            name, lgb.Booster(model_str=b["booster"]), Isotonic.from_json(b["isotonic"])
        )
        for name, b in raw["breach"].items()
    }
    return Predictor(meta, vocab, lgb.Booster(model_str=raw["remaining"]), breach)
