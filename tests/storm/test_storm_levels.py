"""The storm's escalation rules, without a server: when a level is due, what comes next,
who may answer."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "workflows"))

from policy_factory import make_policy

from escalator.policies.calendars import Calendar
from escalator.workflows.storm_levels import NextStep, ack_due, next_step, refuse_storm_actor

MINUTE = timedelta(minutes=1)


def test_business_hours_count_in_the_calendar_when_the_level_says_so() -> None:
    # Monday 2 March 2026: the office opens at 09:00 UTC; the storm pages at 07:00.
    office = Calendar.model_validate(
        {"name": "office", "timezone": "UTC", "hours": {"mon": "09:00-17:00"}}
    )
    paged = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    counted = make_policy(MINUTE, response=(30, 30), calendar=office, business_hours=True)
    assert ack_due(counted, 1, paged) == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    always = make_policy(MINUTE, response=(30, 30), calendar=office, business_hours=False)
    assert ack_due(always, 2, paged) == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def test_levels_then_repeat_rounds_then_exhausted() -> None:
    policy = make_policy(MINUTE, repeat=1)
    assert next_step(policy, 1, 0) == NextStep("escalate", 2, 0)
    assert next_step(policy, 2, 0) == NextStep("repeat", 1, 1)  # policy repeat: 1 round
    assert next_step(policy, 2, 1) == NextStep("exhausted", 2, 1)


def test_only_told_roles_and_incident_leads_may_answer() -> None:
    policy = make_policy(MINUTE)
    assert refuse_storm_actor(policy, ["inventory"], "alice") is None
    assert refuse_storm_actor(policy, ["inventory"], "erin") is None  # incident lead
    assert refuse_storm_actor(policy, ["inventory"], "maria") == (
        "maria is not in inventory or incident-leads"
    )
    assert refuse_storm_actor(policy, ["inventory", "billing-leads"], "maria") is None
