"""The demo's predicted breach: over the bundled log, the starter template's
order_predicted_late rule raises the stuck orders of the warehouse outage before the
awaiting_inventory latency rule fires for the same orders, and those orders do miss
their 24 h promise. `escalator demo` prints these lines and its verdict checks them
(tests/stack/test_demo.py runs the whole demo)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from escalator.detectors.events import CASE, EVENT, TS
from escalator.detectors.readers import read_log
from escalator.policies.loader import load_policies
from escalator.stack.demo_replay import (
    DEMO_DATA,
    _timeline,
    demo_policy_files,
    predicted_ahead,
)


def test_the_demo_predicts_the_stuck_orders_before_the_latency_rule_fires() -> None:
    policies = load_policies(demo_policy_files())
    moments = _timeline(policies)
    predicted = [m[2] for m in moments if m[1] == "raise" and m[2].kind == "predicted_breach"]
    assert predicted and all(f.rule == "order_predicted_late" for f in predicted)

    ahead = predicted_ahead(moments)
    assert len(ahead) >= 3, ahead
    latency = {
        (m[2].subject, m[2].rule): m[2].onset
        for m in moments
        if m[1] == "raise" and m[2].kind == "latency"
    }
    journey = policies.journey("orderToShip")
    events = read_log(DEMO_DATA / "orderToShip.csv", journey).events
    for case, onset, rule, fired in ahead:
        assert rule == "awaiting_inventory"
        assert latency[(case, rule)] == fired and onset < fired  # the same case, earlier
        assert fired - onset >= timedelta(hours=1)
        own = events.filter(pl.col(CASE) == case)
        created = own.filter(pl.col(EVENT) == "order_created")[TS].min()
        shipped = own.filter(pl.col(EVENT) == "order_shipped")[TS]
        # the prediction was right: not shipped within 24 h of being placed
        assert shipped.is_empty() or shipped.min() - created > timedelta(hours=24)  # type: ignore[operator]
