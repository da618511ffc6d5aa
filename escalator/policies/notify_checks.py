"""Warnings about personal notification rules, for ``escalator policy check``.

A member's step on a channel that no level paging their role allows is not an
error: the policy loads, and the workflow skips the step and records the skip
(the level decides which channels an exception may use; a member's rule narrows
them, it never widens them). It is most likely a mistake, so ``policy check``
names it, at the step's file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from escalator.policies.errors import Problem
from escalator.policies.locate import SourceRef
from escalator.policies.notify_rules import PERSONAL_CHANNELS, Urgency
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import LevelChannel, OwnerRole

__all__ = ["allowed_for", "notify_rule_warnings"]

# A notification rings and texts nobody (docs/routing.md): of a member's own channels,
# only the Slack DM is quiet enough.
QUIET_PERSONAL: frozenset[str] = frozenset({"slack_dm"})


def allowed_for(urgency: Urgency, channels: Sequence[LevelChannel]) -> set[str]:
    """The member's own channels a level with ``channels`` allows at ``urgency``."""
    allowed: set[str] = {c for c in channels if c in PERSONAL_CHANNELS}
    return allowed & QUIET_PERSONAL if urgency == "notify" else allowed


def _levels_paging(policies: PolicySet, role: str) -> list[tuple[str, Sequence[LevelChannel]]]:
    """Every level that pages ``role`` (named ``policy#level``), and the broadcast to an
    incident-lead role (it goes out on the last level's channels)."""
    found: list[tuple[str, Sequence[LevelChannel]]] = []
    for esc in policies.escalation_policies:
        for i, level in enumerate(esc.levels, 1):
            if level.role == role:
                found.append((f"{esc.name}#{i}", level.channels))
        if esc.on_exhausted == "broadcast" and esc.incident_lead_role == role and esc.levels:
            found.append((f"{esc.name} broadcast", esc.levels[-1].channels))
    return found


def notify_rule_warnings(policies: PolicySet, refs: Sequence[SourceRef]) -> list[Problem]:
    """A warning per step no level paging the member's role allows (``refs[i]`` is where
    ``policies.roles[i]`` came from)."""
    out: list[Problem] = []
    for role, ref in zip(policies.roles, refs, strict=True):
        out.extend(_role_warnings(policies, role, ref))
    return out


def _role_warnings(policies: PolicySet, role: OwnerRole, ref: SourceRef) -> Iterator[Problem]:
    levels = _levels_paging(policies, role.name)
    if not levels:
        return  # no level pages this role: its members' rules never run
    urgencies: tuple[Urgency, ...] = ("page", "notify")
    for m, member in enumerate(role.members):
        if member.notify is None:
            continue
        for urgency in urgencies:
            for s, step in enumerate(member.notify.steps(urgency) or []):
                if any(step.channel in allowed_for(urgency, ch) for _, ch in levels):
                    continue
                listed = "; ".join(f"{name}: {', '.join(ch)}" for name, ch in levels)
                if urgency == "notify" and step.channel not in QUIET_PERSONAL:
                    fix = "a notification rings and texts nobody: use slack_dm or drop the step"
                else:
                    fix = f"add {step.channel} to a level or drop the step"
                yield ref.problem(
                    f"warning: {member.name}'s {urgency} step {s + 1} asks for "
                    f"{step.channel}, which no level paging role {role.name!r} allows "
                    f"({listed}); the step will be skipped and recorded; {fix}",
                    "members",
                    m,
                    "notify",
                    urgency,
                    s,
                    "channel",
                )
