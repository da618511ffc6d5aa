"""The resolved policy snapshot an exception workflow runs with.

Resolved outside the workflow and passed in as its input, so the workflow
history holds exactly the policy it ran with: editing policy files never
changes an exception that is already running (the `apply_latest_policy`
update moves one deliberately).
"""

from __future__ import annotations

from datetime import date, datetime

import holidays as holidays_lib
from pydantic import Field

from escalator.policies.base import PolicyModel
from escalator.policies.calendars import Calendar
from escalator.policies.journeys import Journey
from escalator.policies.playbooks import Playbook
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import EscalationPolicy, OwnerRole
from escalator.policies.rules import ExceptionRule

__all__ = ["ExceptionPolicy", "resolve_calendar", "snapshot"]


class ExceptionPolicy(PolicyModel):
    version: str
    journey: Journey
    rule: ExceptionRule
    escalation: EscalationPolicy
    roles: dict[str, OwnerRole] = Field(default_factory=dict)  # every role it can reach
    playbook: Playbook | None = None
    calendar: Calendar | None = None  # holidays expanded into closed_dates

    def role(self, name: str) -> OwnerRole:
        try:
            return self.roles[name]
        except KeyError:
            raise KeyError(f"role {name!r} is not part of this exception's policy") from None


def resolve_calendar(calendar: Calendar, around: datetime) -> Calendar:
    """Expand the `holidays` source into explicit dates for the year before, of and after
    ``around``, so the workflow never needs the holidays package (or the clock)."""
    closed: set[date] = set(calendar.closed_dates)
    if calendar.holidays is not None:
        years = [around.year - 1, around.year, around.year + 1]
        found = holidays_lib.country_holidays(
            calendar.holidays.country, subdiv=calendar.holidays.subdivision, years=years
        )
        closed.update(found.keys())
    return calendar.model_copy(update={"closed_dates": sorted(closed), "holidays": None})


def snapshot(policies: PolicySet, rule_name: str, at: datetime) -> ExceptionPolicy:
    """Everything an exception of ``rule_name`` raised at ``at`` needs, frozen."""
    rule = policies.rule(rule_name)
    journey = policies.journey(rule.journey)
    escalation = policies.escalation_policy(rule.escalation)
    role_names = {rule.owner, *(level.role for level in escalation.levels)}
    if escalation.incident_lead_role:
        role_names.add(escalation.incident_lead_role)
    calendar_name = getattr(rule, "calendar", None) or escalation.calendar or journey.calendar
    calendar = resolve_calendar(policies.calendar(calendar_name), at) if calendar_name else None
    return ExceptionPolicy(
        version=policies.version,
        journey=journey,
        rule=rule,
        escalation=escalation,
        roles={name: policies.role(name) for name in sorted(role_names)},
        playbook=policies.playbook(rule.playbook) if rule.playbook else None,
        calendar=calendar,
    )
