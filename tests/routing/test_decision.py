"""The routing decision, table-driven, on burn rates computed by the real analytics
from simulated event logs (SLO 99.5 % over 28 days, the SRE workbook tiers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from routing_scenario import START, Period, journey, simulate

from escalator.analytics.routing import ActiveSilence, RoutingFacts, decide, max_burn_rate
from escalator.analytics.slo import evaluate_journey
from escalator.policies.calendars import Calendar
from escalator.policies.journeys import Journey, default_routing_tiers

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
HEALTHY = Period(3 * D, 60, 0.0)


def _facts(
    periods: list[Period], j: Journey | None = None, severity: str = "medium", **kw: object
) -> RoutingFacts:
    j = j or journey()
    log = simulate(periods)
    as_of = START + sum((p.length for p in periods), timedelta(0))
    return RoutingFacts(
        journey=j,
        severity=severity,
        now=kw.pop("now", as_of),  # type: ignore[arg-type]
        evaluations=evaluate_journey(log.frame, j, as_of),
        role="inventory",
        **kw,  # type: ignore[arg-type]
    )


def test_sre_workbook_tiers_scaled_to_28_days() -> None:
    thresholds = [t.threshold(28 * D) for t in default_routing_tiers()]
    assert thresholds == pytest.approx([13.44, 5.6, 0.9333], abs=1e-3)
    assert max_burn_rate(99.5) == pytest.approx(200)


FAST = [HEALTHY, Period(H, 60, 0.2)]  # burn 33 over 1 h (10 min lag), 40 over 5 m
SLOW_6H = [HEALTHY, Period(6 * H, 60, 0.04)]  # burn 8: the 6 h / 30 m tier, not the 1 h one
SLOW_3D = [Period(3 * D, 60, 0.007)]  # burn 1.4: the ticket tier
SINGLE_BAD = [Period(3 * D, 0.5, 0.0), Period(12 * M, 5, 1.0)]  # one bad case, low volume


@pytest.mark.parametrize(
    ("periods", "severity", "action", "reason_has"),
    [
        (FAST, "medium", "page", "burn rate 33.3 over 1 h and 40.0 over 0.0833333 h"),
        (SLOW_6H, "medium", "page", "over 6 h"),
        (SLOW_3D, "medium", "ticket", "over 72 h"),
        ([HEALTHY], "medium", "ticket", "no burn-rate tier fires"),
        ([HEALTHY], "low", "ticket", "no burn-rate tier fires"),
        ([HEALTHY], "high", "notify", "severity high is at least a notify"),
        ([HEALTHY], "critical", "page", "severity critical is at least a page"),
        (SINGLE_BAD, "medium", "ticket", "over 72 h"),
    ],
    ids=["fast", "slow-6h", "slow-3d", "healthy", "healthy-low", "high", "critical", "low-vol"],
)
def test_outcome_table(periods: list[Period], severity: str, action: str, reason_has: str) -> None:
    out = decide(_facts(periods, severity=severity))
    assert out.action == action, out.reason
    assert reason_has in out.reason
    assert out.deliver_at is None
    assert out.inputs["tiers"] and out.inputs["severity"] == severity


def test_headline_names_the_journey_and_both_windows() -> None:
    out = decide(_facts(FAST))
    assert out.headline == "paged: orderToShip burning 33.3x over 1h and 40x over 5m"


def test_a_notify_tier_notifies() -> None:
    tiers = [
        {"long_window": "1h", "short_window": "5m", "budget_fraction": 0.02, "action": "notify"}
    ]
    out = decide(_facts(FAST, journey(routing=tiers)))
    assert (out.action, out.headline.split(":")[0]) == ("notify", "notified")


def test_min_volume_guard_a_single_bad_case_does_not_page() -> None:
    guarded = decide(_facts(SINGLE_BAD))
    tiers = guarded.inputs["tiers"]
    assert [t["guarded"] for t in tiers] == [True, True, False]  # 1 h and 6 h: too few cases
    assert tiers[0]["long"]["bad"] == 1 and tiers[0]["long"]["burn_rate"] == pytest.approx(200)
    assert guarded.action == "ticket"
    # The same case on a journey without the guard pages: the guard is what stops it.
    unguarded = decide(_facts(SINGLE_BAD, journey(min_volume=0)))
    assert unguarded.action == "page"


def test_a_tier_that_can_never_fire_is_reported() -> None:
    tiers = [
        {"long_window": "1h", "short_window": "5m", "burn_rate": 250, "action": "page"},
        *[t.model_dump(mode="json") for t in default_routing_tiers()],
    ]
    everything_bad = [HEALTHY, Period(H, 60, 1.0)]
    out = decide(_facts(everything_bad, journey(routing=tiers)))
    assert out.inputs["tiers"][0]["fires"] is False  # burn 200 < 250, always
    assert out.inputs["policy_errors"] == [
        "shipped: page tier 1h needs 250x but at most 200x is possible"
    ]
    assert out.action == "page"  # the workbook tiers still page


OFFICE = Calendar.model_validate(
    {
        "name": "office",
        "timezone": "Europe/Amsterdam",
        "hours": {d: "09:00-17:30" for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)


def test_outside_support_hours_drops_one_tier_and_waits_for_opening() -> None:
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    monday_9 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 CET
    cases = [
        ("medium", FAST, "notify"),
        ("high", [HEALTHY], "ticket"),
        ("medium", SLOW_3D, "ticket"),
    ]
    for severity, periods, dropped in cases:
        out = decide(_facts(periods, severity=severity, now=saturday, calendar=OFFICE))
        assert out.action == dropped, (severity, out.reason)
        assert out.deliver_at == monday_9
        assert "outside support hours (office)" in out.reason
    inside = decide(_facts(FAST, now=monday_9 + H, calendar=OFFICE))
    assert (inside.action, inside.deliver_at) == ("page", None)


def test_critical_never_drops() -> None:
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    out = decide(_facts(FAST, severity="critical", now=saturday, calendar=OFFICE))
    assert (out.action, out.deliver_at) == ("page", None)
    assert "critical never waits" in out.reason
    busy = decide(_facts(FAST, severity="critical", role_pages_last_hour=50))
    assert busy.action == "page"


def test_a_role_paged_too_often_is_notified_instead() -> None:
    out = decide(_facts(FAST, role_pages_last_hour=10, max_pages_per_hour=10))
    assert out.action == "notify"
    assert "inventory was paged 10 times in the last hour (limit 10)" in out.reason
    assert decide(_facts(FAST, role_pages_last_hour=9, max_pages_per_hour=10)).action == "page"


def test_a_silence_suppresses_even_critical() -> None:
    silence = ActiveSilence("sil-1", "warehouse maintenance", "anna", START + 30 * D)
    out = decide(_facts(FAST, severity="critical", silences=[silence]))
    assert out.action == "suppress" and out.silence == silence
    assert out.reason.startswith("silenced by sil-1 (warehouse maintenance, anna, until 2026-04-01")
    assert out.inputs["silence"] == "sil-1"


def test_no_burn_rate_source_pages() -> None:
    facts = _facts([HEALTHY])
    out = decide(
        RoutingFacts(journey=facts.journey, severity="low", now=facts.now, evaluations=None)
    )
    assert out.action == "page" and "no burn-rate source" in out.reason
