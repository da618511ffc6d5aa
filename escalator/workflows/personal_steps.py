"""A member's notification rule, laid out for one page: what goes now, what later, what not.

Pure: the workflow passes the policy, the level's channels (as routing allows
them) and ``at`` in. A step on a channel the level does not list is skipped and
said so: a member's rule narrows the level's channels, it never widens them.
The level's own channels that are not a person's (the role's Slack channel,
the console, webhooks) are the level's business and go out as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from escalator.policies.duration import format_duration
from escalator.policies.notify_rules import PERSONAL_CHANNELS, NotifyStep, Urgency
from escalator.policies.roles import LevelChannel, Member
from escalator.workflows.pending_step import PendingStep
from escalator.workflows.targets import Target

__all__ = ["StepPlan", "level_channels", "plan_steps"]


@dataclass(frozen=True)
class StepPlan:
    now: list[Target]  # steps due at once: part of the page
    later: list[PendingStep]  # steps waiting for their timer
    skipped: list[str]  # "channel: why", as the page records skipped channels
    detail: dict[str, Any]  # the rule as it ran, for the page's timeline step


def level_channels(channels: Sequence[LevelChannel]) -> list[LevelChannel]:
    """The level's channels that are not a person's: they go out whatever a rule says."""
    return [c for c in channels if c not in PERSONAL_CHANNELS]


def _address(member: Member, step: NotifyStep) -> str | None:
    return member.slack_user_id if step.channel == "slack_dm" else member.phone


def plan_steps(
    *,
    role: str,
    member: Member,
    steps: Sequence[NotifyStep],
    urgency: Urgency,
    channels: Sequence[LevelChannel],
    level: int,
    reason: str,
    at: datetime,
) -> StepPlan:
    now: list[Target] = []
    later: list[PendingStep] = []
    skipped: list[str] = []
    laid_out: list[dict[str, Any]] = []
    for i, step in enumerate(steps, 1):
        after = format_duration(step.after)
        entry: dict[str, Any] = {"step": i, "channel": step.channel, "after": after}
        address = _address(member, step)
        why = None
        if step.channel not in channels:
            allowed = ", ".join(channels)
            why = f"level {level} does not allow {step.channel} (it allows {allowed})"
            if urgency == "notify":
                why = f"a notification at level {level} allows only {allowed}"
        elif address is None:
            why = f"no address for {member.name}"
        if why is not None:
            skipped.append(f"{step.channel}: {member.name}'s {urgency} step {i} ({after}): {why}")
            laid_out.append(entry | {"outcome": "skipped", "why": why})
            continue
        assert address is not None
        if not step.after:
            now.append(Target(role, step.channel, address, member.name))
            laid_out.append(entry | {"outcome": "sent"})
            continue
        pending = PendingStep(
            member=member.name,
            role=role,
            level=level,
            channel=step.channel,
            target=address,
            step=i,
            of=len(steps),
            after_s=step.after.total_seconds(),
            due=at + step.after,
            urgency=urgency,
            reason=reason,
        )
        later.append(pending)
        laid_out.append(entry | {"outcome": "due", "due": pending.due.isoformat()})
    detail = {"member": member.name, "urgency": urgency, "at": at.isoformat(), "steps": laid_out}
    return StepPlan(now=now, later=later, skipped=skipped, detail=detail)
