"""The escalation policy every fault scenario runs, and the pages it must produce.

Second-scale, two levels, and shaped so that a page is known at the provider
by (subject, channel, target) alone:

- level 1: role ``inventory``, the on-call member by Slack DM and SMS;
- level 2 (after ``response`` seconds): role ``incident-leads``, its channel;
- then ``flag``: nothing more is sent, so a run's traffic ends there.

Level 1's role has no Slack channel, so the level-2 page sends no
"informed" update to level 1 (an update could become a fresh post when the
first one is still being retried, and would muddle the duplicate count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.roles import EscalationLevel, EscalationPolicy, Member, OwnerRole
from escalator.policies.rules import LatencyRule, Outcome
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import Detection

__all__ = [
    "DM_USER",
    "LEADS_CHANNEL",
    "PAGES",
    "PHONE",
    "VOICE_PAGES",
    "Page",
    "detection",
    "fault_policy",
    "voice_policy",
]

JOURNEY = "orderToShip"
RULE = "awaiting_inventory"
DM_USER = "UALICE1"
PHONE = "+31600000001"
LEADS_CHANNEL = "#incident-leads"  # the fake Slack knows it as C0LEADS
RESPONSE = 4  # seconds each level has before the next one is paged


@dataclass(frozen=True)
class Page:
    """One page every exception must get exactly once: level, channel, target, when."""

    level: int
    channel: str
    target: str
    due: float  # seconds after the exception was raised


PAGES = (
    Page(1, "slack_dm", DM_USER, 0.0),
    Page(1, "sms", PHONE, 0.0),
    Page(2, "slack", LEADS_CHANNEL, float(RESPONSE)),
)

# The voice scenario's policy (voice_policy): level 1 calls the on-call member.
VOICE_PAGES = (
    Page(1, "voice", PHONE, 0.0),
    Page(2, "slack", LEADS_CHANNEL, float(RESPONSE)),
)

ROLES = {
    "inventory": OwnerRole(
        name="inventory",
        members=[Member(name="alice", slack_user_id=DM_USER, phone=PHONE)],
    ),
    "incident-leads": OwnerRole(
        name="incident-leads", slack_channel=LEADS_CHANNEL, members=[Member(name="erin")]
    ),
}


def fault_policy() -> ExceptionPolicy:
    seconds = timedelta(seconds=RESPONSE)
    escalation = EscalationPolicy(
        name="faults",
        levels=[
            EscalationLevel(role="inventory", channels=["slack_dm", "sms"], response_time=seconds),
            EscalationLevel(role="incident-leads", channels=["slack"], response_time=seconds),
        ],
        on_exhausted="flag",
        incident_lead_role="incident-leads",
    )
    rule = LatencyRule(
        kind="latency",
        name=RULE,
        journey=JOURNEY,
        owner="inventory",
        escalation="faults",
        severity="high",
        hypothesis="an order waiting for inventory > 2h will miss its ship date",
        predicts=Outcome(
            description="order ships late", not_reached="shipped", within=timedelta(hours=24)
        ),
        runbook="https://runbooks.example/awaiting-inventory",
        reopen_window=timedelta(seconds=5),
        state="awaiting_inventory",
        threshold=timedelta(hours=2),
    )
    journey = Journey(
        name=JOURNEY,
        slis=[
            AvailabilitySLI(
                type="availability",
                name="shipped",
                valid_events=["order_placed"],
                good_events=["shipped"],
                objective=99.5,
            )
        ],
    )
    return ExceptionPolicy(
        version="faults-v1", journey=journey, rule=rule, escalation=escalation, roles=dict(ROLES)
    )


def voice_policy() -> ExceptionPolicy:
    """The fault policy with level 1 a voice call to the on-call member instead of the DM
    and the text: a call is the one page whose outcome cannot be looked up afterwards."""
    policy = fault_policy()
    levels = list(policy.escalation.levels)
    levels[0] = levels[0].model_copy(update={"channels": ["voice"]})
    escalation = policy.escalation.model_copy(update={"levels": levels})
    return policy.model_copy(update={"escalation": escalation, "version": "faults-voice-v1"})


def detection(subject: str, **payload: Any) -> Detection:
    return Detection(
        journey=JOURNEY,
        rule=RULE,
        subject=subject,
        onset=datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
        attributes={"location": "ams-1"},
        payload=payload or {"waiting_for": "sku-42"},
    )
