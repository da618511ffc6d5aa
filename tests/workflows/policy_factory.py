"""Test policies built from the pydantic models, with every duration in units.

One unit is a minute on the time-skipping server and a second on the dev
server (which runs in real time), so the same scenario runs on both. Units
stay whole seconds: policy durations cross the Temporal boundary as text
such as "3s", which has no fractions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from escalator.policies.calendars import Calendar
from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.playbooks import Playbook, PlaybookStep
from escalator.policies.roles import EscalationLevel, EscalationPolicy, Member, OwnerRole
from escalator.policies.rules import LatencyRule, Outcome
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import Detection

JOURNEY = "orderToShip"
RULE = "awaiting_inventory"

ROLES = {
    "inventory": OwnerRole(
        name="inventory",
        slack_channel="#inventory",
        members=[
            Member(name="alice", slack_user_id="UALICE1", phone="+31600000001"),
            Member(name="bob", slack_user_id="UBOB01"),
        ],
    ),
    "billing-leads": OwnerRole(
        name="billing-leads",
        slack_channel="#billing-leads",
        members=[Member(name="maria", phone="+31600000002"), Member(name="dave")],
    ),
    "incident-leads": OwnerRole(
        name="incident-leads", slack_channel="#incident-leads", members=[Member(name="erin")]
    ),
    "it-ops": OwnerRole(name="it-ops", members=[Member(name="carol")]),
}


def make_policy(
    unit: timedelta,
    *,
    version: str = "v1",
    response: tuple[float, ...] = (3, 3),
    roles: tuple[str, ...] = ("inventory", "billing-leads"),
    on_exhausted: str = "broadcast",
    repeat: int = 0,
    time_to_restore: float | None = 12,
    ack_timeout: float | None = 8,
    max_snooze: float = 10,
    reopen_window: float = 6,
    playbook: list[PlaybookStep] | None = None,
    calendar: Calendar | None = None,
    business_hours: bool = False,
) -> ExceptionPolicy:
    levels = [
        EscalationLevel(
            role=role,
            channels=["slack", "sms"] if i == 0 else ["slack"],
            response_time=unit * r,
            business_hours=business_hours,
        )
        for i, (role, r) in enumerate(zip(roles, response, strict=True))
    ]
    extra: dict[str, Any] = {}
    if time_to_restore is not None:
        extra["time_to_restore"] = unit * time_to_restore
    if ack_timeout is not None:
        extra["ack_timeout"] = unit * ack_timeout
    escalation = EscalationPolicy(
        name="standard",
        levels=levels,
        repeat=repeat,
        on_exhausted=on_exhausted,
        incident_lead_role="incident-leads",
        max_snooze=unit * max_snooze,
        **extra,
    )
    rule = LatencyRule(
        kind="latency",
        name=RULE,
        journey=JOURNEY,
        owner=roles[0],
        escalation="standard",
        severity="high",
        hypothesis="an order waiting for inventory > 2h during business hours will miss its ship date",
        predicts=Outcome(
            description="order ships late", not_reached="shipped", within=timedelta(hours=24)
        ),
        runbook="https://runbooks.example/awaiting-inventory",
        playbook="restock" if playbook else None,
        reopen_window=unit * reopen_window,
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
        version=version,
        journey=journey,
        rule=rule,
        escalation=escalation,
        roles=dict(ROLES),
        playbook=Playbook(name="restock", steps=playbook) if playbook else None,
        calendar=calendar,
    )


def detection(subject: str, **payload: Any) -> Detection:
    return Detection(
        journey=JOURNEY,
        rule=RULE,
        subject=subject,
        onset=datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
        attributes={"location": "ams-1"},
        payload=payload or {"waiting_for": "sku-42"},
    )
