"""Four simulated weeks: healthy, slow-burning and fast-burning periods plus a low-volume journey.

Detections are raised along the log; every one is routed by the real Router
(burn rates from the real analytics over the log, as of the detection). The
number of pages, notifications and tickets must equal what a deliberately
simple oracle expects: plain Python counting of good and bad cases per window
(no polars, no analytics code), the SRE workbook thresholds written out by
hand, the minimum-volume rule and the severity floor. A representative subset
then runs through Temporal and must page, notify and ticket the same way.
"""

from __future__ import annotations

import bisect
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from harness import has, steps
from policy_factory import detection, make_policy

sys.path.insert(0, str(Path(__file__).parent.parent / "routing"))
from routing_scenario import START, Period, SimulatedLog, journey, simulate

from escalator.activities.routing import LogBurnRates, Router
from escalator.workflows.activity_contracts import RoutingInput
from escalator.workflows.contracts import Detection, StepKind

# Four simulated weeks of durable timers: time must skip.
pytestmark = [pytest.mark.temporal, pytest.mark.time_skipping_only]

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# orderToShip: 30 orders an hour for four weeks.
BURST = START + 14 * D
MAIN = simulate(
    [
        Period(7 * D, 30, 0.001),  # healthy: burn 0.2
        Period(3 * D, 30, 0.01),  # slow burn: 2x, the 3-day ticket tier only
        Period(4 * D, 30, 0.001),
        Period(2 * H, 30, 0.15),  # fast burn: 30x, the 1-hour page tier
        Period(6 * H, 30, 0.04),  # 8x: the 6-hour page tier
        Period(14 * D - 8 * H, 30, 0.001),
    ]
)
# lowVolume: one case every two hours, and a single bad case on day 20.
SINGLE_BAD_AT = START + 20 * D
LOW = simulate(
    [Period(20 * D, 0.5, 0.0), Period(12 * M, 5, 1.0), Period(8 * D - 12 * M, 0.5, 0.0)],
    prefix="l",
)

# The oracle's thresholds, by hand: budget fraction x (28 d / long window); SLO 99.5 %.
TIERS = [  # (long, short, threshold, action)
    (H, 5 * M, 0.02 * 672, "page"),
    (6 * H, 30 * M, 0.05 * 112, "page"),
    (72 * H, 6 * H, 0.10 * 672 / 72, "ticket"),
]
BUDGET = 0.005
MIN_VOLUME = 20


class Oracle:
    def __init__(self, log: SimulatedLog) -> None:
        ordered = sorted(log.outcomes)
        self.times = [t for t, _ in ordered]
        self.bad_so_far = [0]
        for _, good in ordered:
            self.bad_so_far.append(self.bad_so_far[-1] + (0 if good else 1))

    def counts(self, at: datetime, window: timedelta) -> tuple[int, int]:
        lo = bisect.bisect_right(self.times, at - window)
        hi = bisect.bisect_right(self.times, at)
        return hi - lo, self.bad_so_far[hi] - self.bad_so_far[lo]

    def burns(self, at: datetime, window: timedelta) -> tuple[int, float]:
        valid, bad = self.counts(at, window)
        return valid, (bad / valid / BUDGET if valid else 0.0)

    def action(self, at: datetime, severity: str, min_volume: int = MIN_VOLUME) -> str:
        fired = []
        for long, short, threshold, action in TIERS:
            valid, long_burn = self.burns(at, long)
            short_valid, short_burn = self.burns(at, short)
            if valid >= min_volume and short_valid and min(long_burn, short_burn) >= threshold:
                fired.append(action)
        action = "page" if "page" in fired else "ticket"
        if severity == "high" and action == "ticket":
            action = "notify"
        return action


def _detections() -> list[tuple[str, datetime, str]]:
    """(journey, detected at, severity): every 2 h all month, every 20 min on the burst day,
    every fourth one high severity; the low-volume journey right after its single bad case."""
    times = [START + 3 * D + i * 2 * H for i in range(12 * 25)]
    times += [BURST + i * 20 * M for i in range(1, 36)]
    out = [
        ("orderToShip", t, "high" if i % 4 == 3 else "medium")
        for i, t in enumerate(sorted(set(times)))
    ]
    out += [("lowVolume", SINGLE_BAD_AT + 12 * M, "medium")]
    out += [("lowVolume", START + 3 * D + i * 5 * D, "medium") for i in range(5)]
    return out


def _input(journey_name: str, at: datetime, severity: str, unit: timedelta) -> RoutingInput:
    policy = make_policy(unit)
    j = journey(journey_name)
    rule = policy.rule.model_copy(update={"severity": severity, "journey": journey_name})
    policy = policy.model_copy(update={"journey": j, "rule": rule})
    d = detection(f"{journey_name}-{at:%m%d%H%M}").model_copy(
        update={"journey": journey_name, "detected_at": at}
    )
    return RoutingInput(exception_id=d.workflow_id, detection=d, policy=policy)


ROUTER = Router(
    burn_rates=LogBurnRates({"orderToShip": lambda: MAIN.frame, "lowVolume": lambda: LOW.frame}),
    burn_at="detection",
)


async def test_four_weeks_of_decisions_match_the_oracle() -> None:
    oracles = {"orderToShip": Oracle(MAIN), "lowVolume": Oracle(LOW)}
    got: dict[str, int] = {"page": 0, "notify": 0, "ticket": 0, "suppress": 0}
    expected: dict[str, int] = {"page": 0, "notify": 0, "ticket": 0, "suppress": 0}
    page_times = []
    detections = _detections()
    for name, at, severity in detections:
        decision = await ROUTER(_input(name, at, severity, M))
        want = oracles[name].action(at, severity)
        assert decision.action == want, (name, at, severity, decision.reason)
        got[decision.action] += 1
        expected[want] += 1
        if decision.action == "page":
            page_times.append(at)
    assert got == expected
    # The scenario exercises every outcome, and pages only while the budget burns fast.
    assert got["page"] >= 10 and got["notify"] >= 50 and got["ticket"] >= 100, got
    assert all(BURST < t <= BURST + 14 * H for t in page_times), page_times
    # The slow burn alone produced tickets from the 3-day tier (not just "no tier fires").
    slow = await ROUTER(_input("orderToShip", START + 10 * D, "medium", M))
    assert slow.action == "ticket" and "over 72 h" in slow.reason


async def test_low_volume_journey_does_not_page_on_a_single_bad_case() -> None:
    at = SINGLE_BAD_AT + 12 * M
    decision = await ROUTER(_input("lowVolume", at, "medium", M))
    assert decision.action == "ticket", decision.reason
    one_hour = decision.inputs["tiers"][0]
    assert (one_hour["long"]["bad"], one_hour["guarded"]) == (1, True)
    # Without the guard the oracle would page: the guard is what keeps this quiet.
    assert Oracle(LOW).action(at, "medium", min_volume=0) == "page"


async def test_a_representative_subset_through_temporal(harness_factory) -> None:
    h = await harness_factory(decide=ROUTER)
    oracle = Oracle(MAIN)
    picks = {
        "page": next(
            t
            for j, t, _ in _detections()
            if j == "orderToShip" and oracle.action(t, "medium") == "page"
        ),
        "notify": START + 5 * D + 6 * H,  # high severity, healthy
        "ticket": START + 10 * D,  # medium, slow burn
    }
    severity = {"page": "medium", "notify": "high", "ticket": "medium"}
    for want, at in picks.items():
        assert oracle.action(at, severity[want]) == want
        inp = _input("orderToShip", at, severity[want], h.unit)
        detection_: Detection = inp.detection
        raised = await h.raise_(detection_, inp.policy)
        status = await h.until(raised.exception_id, has(StepKind.ROUTED))
        if want != "ticket":
            status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
        assert status.routing == want
        channels = {n.channel for n in h.channel.for_exception(raised.exception_id)}
        assert channels == {"page": {"slack", "sms"}, "notify": {"slack"}, "ticket": set()}[want]
        assert (
            steps(status, StepKind.ROUTED)[0]
            .detail["headline"]
            .startswith({"page": "paged", "notify": "notified", "ticket": "ticketed"}[want])
        )
