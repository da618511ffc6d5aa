"""Training, the saved artefact (JSON + booster text, no pickle), refusals, the protocol."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from escalator.detectors.events import CASE
from escalator.detectors.prediction.model import ModelMismatch, load_predictor
from escalator.detectors.prediction.prefixes import encode_prefixes
from escalator.detectors.prediction.protocol import evaluate_protocol, split_cases, train_predictor
from escalator.detectors.prediction.targets import case_outcomes
from escalator.detectors.readers import read_log
from escalator.errors import InputError
from escalator.policies.loader import load_policies
from escalator.policies.policy_set import PolicySet

from .synthetic import order_rows, write_log, write_policy


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[PolicySet, pl.DataFrame]:
    tmp = tmp_path_factory.mktemp("predict")
    policies = load_policies([write_policy(tmp / "policy.yaml")])
    events = read_log(write_log(tmp / "orders.csv", order_rows(600)), policies.journey("orders"))
    return policies, events.events


def test_saved_model_is_json_and_scores_like_the_trained_one(
    synthetic: tuple[PolicySet, pl.DataFrame], tmp_path: Path
) -> None:
    policies, events = synthetic
    journey = policies.journey("orders")
    model = train_predictor(events, policies, journey)
    path = tmp_path / "orders.json"
    model.save(path)
    raw = json.loads(path.read_text())  # plain JSON: nothing to unpickle
    assert raw["format"] == "escalator-predictor/1"
    assert raw["remaining"].startswith("tree\n")  # LightGBM's own text format
    assert raw["meta"]["journey"] == "orders" and raw["meta"]["policy_version"] == policies.version
    assert raw["meta"]["slis"] == ["shipped_within_24h"]
    assert "lightgbm" in raw["meta"]["libraries"]
    loaded = load_predictor(path, journey, business_hours=False)
    rows = encode_prefixes(events, journey, loaded.vocab)
    assert np.allclose(model.remaining_days(rows), loaded.remaining_days(rows))
    risk = loaded.breach["shipped_within_24h"].risk(
        rows.select(loaded.features).to_numpy().astype(float)
    )
    assert ((risk >= 0) & (risk <= 1)).all()


def test_same_seed_same_model(synthetic: tuple[PolicySet, pl.DataFrame]) -> None:
    policies, events = synthetic
    journey = policies.journey("orders")
    a = train_predictor(events, policies, journey, seed=11)
    b = train_predictor(events, policies, journey, seed=11)
    assert a.version == b.version


def test_a_model_for_another_journey_or_feature_set_is_refused(
    synthetic: tuple[PolicySet, pl.DataFrame], tmp_path: Path
) -> None:
    policies, events = synthetic
    journey = policies.journey("orders")
    path = tmp_path / "m.json"
    train_predictor(events, policies, journey).save(path)
    other = journey.model_copy(update={"name": "tickets"})
    with pytest.raises(ModelMismatch, match="trained for journey 'orders', not 'tickets'"):
        load_predictor(path, other, business_hours=False)
    fewer = journey.model_copy(
        update={"columns": journey.columns.model_copy(update={"attributes": []})}
    )
    with pytest.raises(ModelMismatch, match="feature set"):
        load_predictor(path, fewer, business_hours=False)
    with pytest.raises(ModelMismatch, match="feature set"):
        load_predictor(path, journey, business_hours=True)
    (tmp_path / "bad.json").write_text('{"format": "pickle"}')
    with pytest.raises(ModelMismatch, match="expected 'escalator-predictor/1'"):
        load_predictor(tmp_path / "bad.json", journey, business_hours=False)
    with pytest.raises(ModelMismatch, match="no such model"):
        load_predictor(tmp_path / "none.json", journey, business_hours=False)


def test_protocol_split_is_chronological_and_beats_the_baseline(
    synthetic: tuple[PolicySet, pl.DataFrame],
) -> None:
    policies, events = synthetic
    journey = policies.journey("orders")
    outcomes = case_outcomes(events, journey)
    train, valid, test = split_cases(outcomes, (0.64, 0.16, 0.20))
    assert (len(train), len(valid), len(test)) == (384, 96, 120)
    start = dict(zip(outcomes[CASE], outcomes["case_start"], strict=True))
    assert max(start[c] for c in train) <= min(start[c] for c in valid)
    assert max(start[c] for c in valid) <= min(start[c] for c in test)
    result = evaluate_protocol(events, policies, journey)
    for key in ("mae_days", "mae_days_by_prefix_length", "baseline_mae_days", "breach"):
        assert key in result
    # Prefixes 2..n-1 only: orders have 4 or 5 events, so lengths 2, 3 and 4.
    assert set(result["mae_days_by_prefix_length"]) == {"2", "3", "4"}
    # The prefix shows priority and backorders: the model must beat per-length medians.
    assert result["mae_days"] < 0.7 * result["baseline_mae_days"]
    breach = result["breach"]["shipped_within_24h"]
    assert breach["auc"] > 0.8 and breach["brier"] < 0.2
    assert sum(r["count"] for r in breach["reliability"]) == breach["prefixes"]


@pytest.mark.parametrize("cases", [0, 2])
def test_too_few_cases_to_evaluate_is_an_input_error(
    synthetic: tuple[PolicySet, pl.DataFrame], cases: int
) -> None:
    """Fewer than 3 cases leave no test case: an InputError saying what to do (the CLI
    exits 2 with the file), not LightGBM's "Check failed: (num_data) > (0)" on none, nor
    a result with no test prefixes and MAE null on 1 or 2."""
    policies, events = synthetic
    journey = policies.journey("orders")
    first = events[CASE].unique(maintain_order=True).head(cases)
    few = events.filter(pl.col(CASE).is_in(first.implode()))
    with pytest.raises(
        InputError, match=rf"^journey orders: nothing to evaluate: only {cases} cases .*; give a"
    ):
        evaluate_protocol(few, policies, journey)


def test_three_cases_are_enough_to_evaluate(synthetic: tuple[PolicySet, pl.DataFrame]) -> None:
    policies, events = synthetic
    three = events[CASE].unique(maintain_order=True).head(3)
    result = evaluate_protocol(
        events.filter(pl.col(CASE).is_in(three.implode())), policies, policies.journey("orders")
    )
    assert result["cases"]["test"] == 1 and result["test_prefixes"] > 0
