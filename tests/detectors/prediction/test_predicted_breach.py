"""predicted_breach in a backtest (one cutoff), and the watch's reloading model file."""

from __future__ import annotations

import os
from pathlib import Path

from escalator.detectors.backtest import backtest_cutoff, run_backtest
from escalator.detectors.prediction.model_file import ModelFile
from escalator.detectors.prediction.protocol import train_predictor
from escalator.detectors.readers import read_log
from escalator.detectors.scorecard import score_rules
from escalator.policies.loader import load_policies

from .synthetic import order_rows, write_log, write_policy

RULE = """  - name: order_predicted_late
    kind: predicted_breach
    journey: orders
    owner: ops
    escalation: ops-escalation
    sli: shipped_within_24h
    risk_threshold: 0.5
    predicts: {description: not shipped in 24h, not_reached: shipped, within: 24h}
    runbook: https://runbooks.example/late
"""


def test_backtest_fires_once_per_case_before_the_deadline(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "policy.yaml", RULE)
    log = write_log(tmp_path / "orders.csv", order_rows(600))
    result = run_backtest(log, load_policies([policy]))
    cutoff = backtest_cutoff(result.events)
    (rule_result,) = [r for r in result.results if r.rule.kind == "predicted_breach"]
    firings = rule_result.firings()
    assert firings, "backordered low-priority orders should be predicted late"
    assert len({f.subject for f in firings}) == len(firings)  # once per case
    assert cutoff is not None and all(f.onset > cutoff for f in firings)
    for f in firings:
        pred = f.detail["prediction"]
        assert pred["risk"] >= 0.5 and f.onset.isoformat() < pred["deadline"].replace("Z", "+00:00")
        assert pred["model_version"] and pred["top_features"]
    (score,) = [s for s in score_rules(result.events, result.journey, [rule_result])]
    assert score.precision is not None and score.precision > 0.5
    gain = score.gain_over_latency
    assert gain is not None and gain["caught_before_latency_rule"] > 0
    assert gain["median_lead_time_gain_s"] > 0


def test_model_file_reloads_when_the_file_changes(tmp_path: Path) -> None:
    policies = load_policies([write_policy(tmp_path / "policy.yaml")])
    journey = policies.journey("orders")
    events = read_log(write_log(tmp_path / "o.csv", order_rows(300)), journey).events
    path = tmp_path / "models" / "orders.json"
    watched = ModelFile(path, journey, business_hours=False)
    assert watched.current() is None and watched.problem and "no such model" in watched.problem
    first = train_predictor(events, policies, journey, seed=1)
    first.save(path)
    assert watched.current() is not None and watched.current().version == first.version  # type: ignore[union-attr]
    other = read_log(write_log(tmp_path / "p.csv", order_rows(300, seed=9)), journey).events
    second = train_predictor(other, policies, journey, seed=2)
    assert second.version != first.version
    second.save(path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert watched.current().version == second.version  # type: ignore[union-attr]
    assert watched.loads == 2
