"""Who a storm's grouped page reaches in person: asked as a single exception asks.

When a storm's level starts (its first page, an escalation, a repeat, the broadcast to
the incident leads) the storm asks ``resolve_on_call`` through `ask_on_call`, so an
override or a vacation in the records counts for a storm exactly as for one exception
(patch ``storm-oncall-resolved``; storms recorded before it read the schedule alone).
The answer is kept in the storm's state: a page re-sent to a target it did not reach
goes to the same person, and the Temporal UI shows who and why.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.policies.snapshot import ExceptionPolicy
    from escalator.workflows.on_call import ask_on_call
    from escalator.workflows.storm_contracts import STORM_ONCALL, StormState

__all__ = ["ask_storm_on_call", "started_with"]


async def ask_storm_on_call(policy: ExceptionPolicy, st: StormState, role: str) -> str | None:
    """The member of ``role`` on call as its level starts, remembered in ``st``; None before
    the patch and for a role with neither a schedule nor a rotation (its first reachable
    member is paged, as before)."""
    if not workflow.patched(STORM_ONCALL):
        return None
    answer = await ask_on_call(policy, role)
    if answer is None:
        return None
    st.on_call[role] = answer | {"level": st.level, "round": st.round}
    return started_with(st, role)


def started_with(st: StormState, role: str) -> str | None:
    """The member ``role``'s page reached when its level started (None: not asked)."""
    member = st.on_call.get(role, {}).get("member")
    return member if isinstance(member, str) else None
