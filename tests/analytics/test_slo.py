"""SLIs, SLO compliance, error budget, burn rates and lead time, checked by hand.

Outcomes as of LOG_AS_OF (T0 + 2 d), window 7 d = (T0 - 5 d, T0 + 2 d]:
availability  c1 good @1h, c2 bad @30m, c3 good @1d23h, c6 bad @1d23h40m,
              c7 good but outside the window; c4, c8 pending; c5 never valid.
latency       c1 good @1h, c2 bad @24h (never shipped), c3 bad @1d22h (express: 2 h
              limit, took 3 h), c8 bad @2d (its shipment lies after as_of); c7 outside.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from analytics_fixtures import LOG_AS_OF, T0, D, H, M, event_log, journey

from escalator.analytics.leadtime import lead_time_summary, lead_times
from escalator.analytics.schema import empty_log
from escalator.analytics.sli import sli_outcomes
from escalator.analytics.slo import (
    burn_down,
    burn_rate,
    evaluate_journey,
    evaluate_tiers,
    slo_status,
)


def _outcomes(sli_index: int, as_of=LOG_AS_OF) -> dict[str, tuple]:
    frame = sli_outcomes(event_log(), journey().slis[sli_index], as_of)
    return {r["case_id"]: (r["good"], r["decided_at"]) for r in frame.iter_rows(named=True)}


def test_availability_outcomes() -> None:
    assert _outcomes(0) == {
        "c1": (True, T0 + H),
        "c2": (False, T0 + 30 * M),
        "c3": (True, T0 + D + 23 * H),
        "c6": (False, T0 + D + 23 * H + 40 * M),
        "c7": (True, T0 - 10 * D + H),
    }


def test_latency_outcomes_with_attribute_threshold() -> None:
    assert _outcomes(1) == {
        "c1": (True, T0 + H),
        "c2": (False, T0 + D),
        "c3": (False, T0 + D + 22 * H),
        "c7": (True, T0 - 10 * D + H),
        "c8": (False, T0 + 2 * D),
    }


def test_outcomes_as_of_an_earlier_time_see_only_the_past() -> None:
    assert _outcomes(0, T0 + 45 * M) == {"c2": (False, T0 + 30 * M), "c7": (True, T0 - 10 * D + H)}


def test_slo_status_and_error_budget() -> None:
    j = journey()
    avail = slo_status(sli_outcomes(event_log(), j.slis[0], LOG_AS_OF), j, j.slis[0], LOG_AS_OF)
    assert (avail.valid, avail.good, avail.bad) == (4, 2, 2)
    assert avail.compliance == 0.5 and avail.met is False
    assert avail.error_budget_remaining == -4.0  # allowed 4 x 10 % = 0.4 bad; spent 2
    lat = slo_status(sli_outcomes(event_log(), j.slis[1], LOG_AS_OF), j, j.slis[1], LOG_AS_OF)
    assert (lat.valid, lat.good, lat.bad, lat.compliance) == (4, 1, 3, 0.25)
    assert lat.error_budget_remaining == -2.75  # allowed 0.8, spent 3


def test_budget_remaining_when_within_objective() -> None:
    j = journey()
    sli = j.slis[0]  # 90 %
    rows = [(f"k{i}", T0 + i * M, i != 3) for i in range(20)]  # 19 good, 1 bad
    outcomes = pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "decided_at": [r[1] for r in rows],
            "good": [r[2] for r in rows],
        },
        schema={"case_id": pl.String, "decided_at": pl.Datetime("us", "UTC"), "good": pl.Boolean},
    )
    status = slo_status(outcomes, j, sli, T0 + H)
    assert (status.compliance, status.met) == (0.95, True)
    assert status.error_budget_remaining == 0.5  # allowed 2, spent 1


def test_burn_rates_tiers_and_min_volume_guard() -> None:
    j = journey(min_volume=2)
    sli = j.slis[0]
    tiers = evaluate_tiers(sli_outcomes(event_log(), sli, LOG_AS_OF), j, sli, LOG_AS_OF)
    page, ticket = tiers
    # page: 1 h window holds only c6 (bad): burn 1 / 0.1 = 10, but 1 case < min volume 2
    assert page.threshold == 2.0
    assert (page.long.valid, page.long.bad, page.long.burn_rate) == (1, 1, pytest.approx(10.0))
    assert page.short.burn_rate is None and page.guarded and not page.fires
    # ticket: budget_fraction 0.5 over 24 h of a 7 d window -> threshold 3.5;
    # 24 h holds c3 good + c6 bad (burn 5), the last hour c6 (burn 10): fires.
    assert ticket.threshold == pytest.approx(3.5)
    assert (ticket.long.valid, ticket.long.bad) == (2, 1)
    assert ticket.long.burn_rate == pytest.approx(5.0)
    assert ticket.short.burn_rate == pytest.approx(10.0)
    assert not ticket.guarded and ticket.fires
    guarded = evaluate_tiers(sli_outcomes(event_log(), sli, LOG_AS_OF), journey(3), sli, LOG_AS_OF)
    assert [t.fires for t in guarded] == [False, False] and guarded[1].guarded


def test_burn_rate_as_of_an_earlier_time() -> None:
    j = journey()
    evaluations = evaluate_journey(event_log(), j, T0 + H)
    page = evaluations[0]
    assert (page.sli, page.action) == ("shipped", "page")
    # (T0, T0+1h]: c2 bad, c1 good -> 0.5 / 0.1 = 5; last 10 minutes: c1 good -> 0
    assert page.long.burn_rate == pytest.approx(5.0)
    assert page.short.burn_rate == 0.0
    assert not page.fires
    assert len(evaluations) == 4  # two tiers for each of two SLIs


def test_burn_rate_empty_window() -> None:
    empty = sli_outcomes(empty_log(), journey().slis[0], LOG_AS_OF)
    rate = burn_rate(empty, 99.0, LOG_AS_OF, timedelta(hours=1))
    assert (rate.valid, rate.bad, rate.error_ratio, rate.burn_rate) == (0, 0, None, None)
    status = slo_status(empty, journey(), journey().slis[0], LOG_AS_OF)
    assert (status.compliance, status.met, status.error_budget_remaining) == (None, None, 1.0)


def test_burn_down_series() -> None:
    j = journey()
    sli = j.slis[0]
    series = burn_down(sli_outcomes(event_log(), sli, LOG_AS_OF), j, sli, LOG_AS_OF)
    assert len(series) == 29  # 28 steps of 6 h over 7 days, plus the start
    assert series[0] == {"at": (T0 - 5 * D).isoformat(), "remaining": 1.0}
    assert series[20] == {"at": T0.isoformat(), "remaining": 1.0}
    assert series[21]["remaining"] == -1.5  # c2 bad at 00:30: 1 - 1 / 0.4
    assert series[-1]["remaining"] == -4.0


def test_lead_time() -> None:
    j = journey()
    per_case = {
        r["case_id"]: r["lead_time"]
        for r in lead_times(event_log(), j, LOG_AS_OF).iter_rows(named=True)
    }
    assert per_case == {
        "c1": 3600.0, "c2": 1800.0, "c3": 10800.0, "c4": None,
        "c5": 0.0, "c6": 1800.0, "c7": 3600.0, "c8": None,
    }  # fmt: skip
    summary = lead_time_summary(event_log(), j, LOG_AS_OF)
    assert summary == {
        "journey": "orderToShip", "cases": 8, "completed": 6, "in_progress": 2,
        "count": 6, "p50": 2700.0, "p90": 7200.0, "p99": 10440.0,
    }  # fmt: skip
    empty = lead_time_summary(empty_log(), j, LOG_AS_OF)
    assert (empty["cases"], empty["count"], empty["p50"]) == (0, 0, None)


def test_latency_end_must_follow_start() -> None:
    """An end event before the start does not count: c9 shipped (a stale event) before it
    was created, then shipped 3 h after creation, over its 2 h express limit."""
    extra = pl.DataFrame(
        {
            "case_id": ["c9", "c9", "c9", "c9"],
            "event_name": ["order_shipped", "order_created", "order_created", "order_shipped"],
            "timestamp": [T0 + H, T0 + 2 * H, T0 + 150 * M, T0 + 5 * H],
            "actor": ["x"] * 4,
            "priority": [None, "express", "standard", None],
        },
        schema=event_log().schema,
    )
    out = sli_outcomes(extra, journey().slis[1], LOG_AS_OF)
    assert out.rows() == [("c9", T0 + 4 * H, False)]  # due = first start + express 2 h
    lead = lead_times(extra, journey(), LOG_AS_OF).row(0, named=True)
    assert lead["lead_time"] == 0.0  # its first event was already a completing one


def test_routing_action_picks_the_most_urgent_firing_tier() -> None:
    from escalator.analytics.slo import routing_action

    action, why = routing_action(evaluate_journey(event_log(), journey(), LOG_AS_OF))
    # availability fires its ticket tier (see above); latency's tiers do not page either
    assert action == "ticket"
    assert why.startswith("shipped: burn rate 5.0 over 24 h and 10.0 over 1 h >= 3.50")
    none, reason = routing_action(evaluate_journey(event_log(), journey(min_volume=50), LOG_AS_OF))
    assert none is None and "below the minimum volume of 50" in reason
