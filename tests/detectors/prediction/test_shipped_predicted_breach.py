"""The predicted_breach rule of each shipped event-log policy, on its log in tests/data:
it loads, fires in a backtest (a model trained only on cases completed before the
backtest's cutoff, onsets judged after it) and is scored, with its lead-time gain
over the latency rule on the same SLI."""

from __future__ import annotations

import pytest
from event_logs import POLICIES, log_path

from escalator.detectors.backtest import backtest_cutoff, backtest_models
from escalator.detectors.evaluate import evaluate
from escalator.detectors.readers import read_log
from escalator.detectors.rules.predicted_breach import protected_sli
from escalator.detectors.scorecard import score_rules
from escalator.policies.loader import load_policies
from escalator.policies.rules import PredictedBreachRule

# log -> its predicted_breach rule and the latency SLI it protects
SHIPPED = {
    "helpdesk": ("ticket_predicted_late", "resolved_within_30d"),
    "receipt": ("intake_predicted_late", "intake_within_14d"),
    "bpic2012": ("application_predicted_late", "decided_within_30d"),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_predicted_breach_fires_in_a_backtest_and_is_scored(name: str) -> None:
    rule_name, sli_name = SHIPPED[name]
    policies = load_policies([POLICIES / name])
    (journey,) = policies.journeys
    (rule,) = [r for r in policies.rules if isinstance(r, PredictedBreachRule)]
    assert (rule.name, rule.sli) == (rule_name, sli_name)
    assert protected_sli(journey, rule).name == sli_name  # a latency SLI of the journey

    events = read_log(log_path(name), journey).events
    models = backtest_models(events, policies, journey)
    cutoff = backtest_cutoff(events)
    assert cutoff is not None and models[rule.name].judged_from == cutoff
    assert sli_name in models[rule.name].predictor.breach
    (result,) = evaluate(events, policies, journey, rules=[rule], models=models)
    firings = result.firings()
    assert firings, f"{rule.name} fired nothing on {log_path(name).name}"
    assert len({f.subject for f in firings}) == len(firings)  # once per case
    for f in firings:
        assert f.onset > cutoff  # judged only after the model's training data ends
        prediction = f.detail["prediction"]
        assert prediction["risk"] >= (rule.risk_threshold or 0.0)
        assert f.onset.isoformat() < prediction["deadline"].replace("Z", "+00:00")
        assert prediction["top_features"] and prediction["model_version"]

    (score,) = score_rules(events, journey, [result])
    assert score.firings == len(firings) and score.judged > 0
    assert score.precision is not None and score.recall is not None
    gain = score.gain_over_latency
    assert gain is not None and gain["sli"] == sli_name
    assert gain["caught_before_latency_rule"] > 0 and gain["median_lead_time_gain_s"] > 0
