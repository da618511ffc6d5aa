"""Owner responses: who may respond, what each response changes.

``refuse_*`` return a human-readable reason (the update validator raises it
with ``refuse``, so nothing is written to history) or None. ``apply_*`` mutate the state and
return the message the responder sees. All pure: ``now`` comes from the
workflow.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.exceptions import ApplicationError

from escalator.policies.duration import format_duration
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.constants import REFUSED
from escalator.workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    ApplyPolicyInput,
    ExceptionState,
    ReassignInput,
    ResolveInput,
    SnoozeInput,
    StepKind,
)
from escalator.workflows.escalation_state import EscalationState
from escalator.workflows.presentation import clock

__all__ = [
    "apply_acknowledge",
    "apply_note",
    "apply_policy",
    "apply_reassign",
    "apply_resolve",
    "apply_snooze",
    "refuse",
    "refuse_acknowledge",
    "refuse_actor",
    "refuse_escalate_now",
    "refuse_note",
    "refuse_policy",
    "refuse_reassign",
    "refuse_resolve",
    "refuse_snooze",
    "resolve",
]

OPEN, ACKED, SNOOZED, RESOLVED = (
    ExceptionState.OPEN,
    ExceptionState.ACKNOWLEDGED,
    ExceptionState.SNOOZED,
    ExceptionState.RESOLVED,
)


def refuse(reason: str | None) -> None:
    """Reject an update in its validator, before it is written to history; clients read
    the error's message."""
    if reason:
        raise ApplicationError(reason, type=REFUSED, non_retryable=True)


def _allowed_roles(s: EscalationState) -> list[str]:
    roles = list(s.notified_roles)
    if s.routing in ("ticket", "suppress") and s.policy.rule.owner not in roles:
        roles.append(s.policy.rule.owner)  # told by the digest / the silence, not by a page
    lead = s.policy.escalation.incident_lead_role
    if lead and lead not in roles:
        roles.append(lead)
    return roles


def _member_of(s: EscalationState, actor: str, roles: list[str]) -> bool:
    for name in roles:
        role = s.policy.roles.get(name)
        if role and any(m.name == actor for m in role.members):
            return True
    return False


def refuse_actor(s: EscalationState, actor: str) -> str | None:
    """Only members of a role that was told, or of the incident-lead role, may respond."""
    roles = _allowed_roles(s)
    if not roles:
        return f"{actor} cannot respond yet: no role has been notified and there is no incident-lead role"
    if _member_of(s, actor, roles):
        return None
    return f"{actor} is not in {' or '.join(roles)}"


def _refuse_resolved(s: EscalationState) -> str | None:
    if s.resolved and s.resolved_at:
        return f"already resolved by {s.resolved_by} at {clock(s.resolved_at, s.policy)}"
    return None


def refuse_acknowledge(s: EscalationState, inp: AcknowledgeInput) -> str | None:
    if reason := _refuse_resolved(s) or refuse_actor(s, inp.actor):
        return reason
    if s.state is ACKED and s.acknowledged_by != inp.actor and s.acknowledged_at:
        return (
            f"already acknowledged by {s.acknowledged_by} at "
            f"{clock(s.acknowledged_at, s.policy)} (reassign to hand it over)"
        )
    return None


def apply_acknowledge(s: EscalationState, inp: AcknowledgeInput, now: datetime) -> str:
    if s.state is ACKED:  # the same person again: counts as progress
        s.last_progress_at = now
        s.record(StepKind.NOTE, now, actor=inp.actor, level=s.level, note="still working on it")
        return f"{inp.actor} is still on it"
    s.state = ACKED
    s.acknowledged_by, s.acknowledged_at, s.last_progress_at = inp.actor, now, now
    s.snoozed_until = s.snoozed_from = None
    s.restart_restore_window(now)
    s.record(
        StepKind.ACKNOWLEDGED,
        now,
        actor=inp.actor,
        level=s.level,
        role=s.owner_role,
        via=inp.via,
        time_to_acknowledge_s=(now - s.detected_at).total_seconds(),
    )
    due = f"; restore due {clock(s.restore_due, s.policy)}" if s.restore_due else ""
    return f"acknowledged by {inp.actor}{due}"


def refuse_resolve(s: EscalationState, inp: ResolveInput) -> str | None:
    return _refuse_resolved(s) or refuse_actor(s, inp.actor)


def resolve(
    s: EscalationState,
    actor: str,
    note: str,
    cause: str | None,
    via: str,
    now: datetime,
    real: bool | None = None,
) -> None:
    s.state = RESOLVED
    s.resolved_by, s.resolved_at, s.resolution_note = actor, now, note
    s.resolution_real = real
    s.ack_due = s.restore_due = s.snoozed_until = None
    s.record(
        StepKind.RESOLVED,
        now,
        actor=actor,
        level=s.level,
        role=s.owner_role,
        note=note,
        cause=cause,
        via=via,
        # Only when said: the records read "not said" from its absence, and the steps
        # of resolutions without it stay as they were.
        **({"real": real} if real is not None else {}),
        time_to_restore_s=(now - s.detected_at).total_seconds(),
        onset_to_resolved_s=(now - s.detection.onset).total_seconds(),
    )


def apply_resolve(s: EscalationState, inp: ResolveInput, now: datetime) -> str:
    resolve(s, inp.actor, inp.note, inp.cause, inp.via, now, inp.real)
    if inp.real is False:
        return f"resolved by {inp.actor} as a false alarm"
    return f"resolved by {inp.actor}"


def refuse_reassign(s: EscalationState, inp: ReassignInput) -> str | None:
    if reason := _refuse_resolved(s) or refuse_actor(s, inp.actor):
        return reason
    if inp.role not in s.policy.roles:
        known = ", ".join(sorted(s.policy.roles))
        return f"role {inp.role} is not part of this exception's policy (known: {known})"
    if inp.role == s.owner_role:
        return f"{inp.role} already owns this exception"
    return None


def apply_reassign(s: EscalationState, inp: ReassignInput, now: datetime) -> str:
    previous = s.owner_role
    s.level = max(s.level, 1)
    s.role_override = inp.role
    s.state = OPEN
    s.acknowledged_by = s.acknowledged_at = s.last_progress_at = None
    s.snoozed_until = s.snoozed_from = None
    s.restore_due = None
    s.restart_ack_window(now)
    s.record(
        StepKind.REASSIGNED, now, actor=inp.actor, level=s.level, role=inp.role, previous=previous
    )
    return f"reassigned from {previous} to {inp.role}"


def refuse_snooze(s: EscalationState, inp: SnoozeInput, now: datetime) -> str | None:
    if reason := _refuse_resolved(s) or refuse_actor(s, inp.actor):
        return reason
    if inp.until.tzinfo is None:
        return "snooze until needs a UTC offset, e.g. 2026-01-05T15:00:00+00:00"
    if inp.until <= now:
        return f"snooze until {clock(inp.until, s.policy)} is not in the future"
    bound = s.policy.escalation.max_snooze
    if inp.until - now > bound:
        return (
            f"snooze until {clock(inp.until, s.policy)} is past the policy bound of "
            f"{format_duration(bound)} (latest {clock(now + bound, s.policy)})"
        )
    return None


def apply_snooze(s: EscalationState, inp: SnoozeInput, now: datetime) -> str:
    if s.state is not SNOOZED:
        s.snoozed_from = s.state
    s.state = SNOOZED
    s.snoozed_until, s.snoozed_by = inp.until, inp.actor
    s.record(StepKind.SNOOZED, now, actor=inp.actor, level=s.level, until=inp.until.isoformat())
    return f"snoozed by {inp.actor} until {clock(inp.until, s.policy)}"


def refuse_escalate_now(s: EscalationState, actor: str) -> str | None:
    return _refuse_resolved(s) or refuse_actor(s, actor)


def refuse_note(s: EscalationState, inp: AddNoteInput) -> str | None:
    return refuse_actor(s, inp.actor)


def apply_note(s: EscalationState, inp: AddNoteInput, now: datetime) -> str:
    if s.state is ACKED:
        s.last_progress_at = now  # a note is progress: it holds off the ack timeout
    s.record(StepKind.NOTE, now, actor=inp.actor, level=s.level, note=inp.note, via=inp.via)
    return "note added"


def refuse_policy(s: EscalationState, inp: ApplyPolicyInput) -> str | None:
    if reason := _refuse_resolved(s):
        return reason
    new: ExceptionPolicy = inp.policy
    if new.rule.name != s.policy.rule.name:
        return (
            f"that policy is for rule {new.rule.name}; this exception is rule {s.policy.rule.name}"
        )
    if new.version == s.policy.version:
        return f"already on policy version {new.version}"
    return None


def apply_policy(s: EscalationState, inp: ApplyPolicyInput, now: datetime) -> str:
    old = s.policy.version
    s.policy = inp.policy
    if s.role_override and s.role_override not in s.policy.roles:
        s.role_override = None
    s.reapply_deadlines()
    s.record(
        StepKind.POLICY_APPLIED,
        now,
        actor=inp.actor,
        level=s.level,
        previous_version=old,
        version=inp.policy.version,
    )
    return f"now on policy version {inp.policy.version} (was {old})"
