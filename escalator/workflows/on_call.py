"""Who of a role is on call now, asked from inside a workflow: one way for every workflow
that pages someone (a single exception's levels, a storm's grouped message).

The workflow cannot read the records database, so it asks the ``resolve_on_call``
activity (the run's policy snapshot plus the overrides and vacations in the records
now); the answer is in the history, so a replay pages the same person. When the
records are out of reach the schedule alone decides (pure) and the answer says so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.snapshot import ExceptionPolicy
    from escalator.workflows.activity_contracts import (
        ACTIVITY_RESOLVE_ON_CALL,
        OnCallAnswer,
        OnCallInput,
    )
    from escalator.workflows.constants import QUICK_RETRY

__all__ = ["ON_CALL_TIMEOUT", "ask_on_call"]

ON_CALL_TIMEOUT = timedelta(seconds=10)


async def ask_on_call(policy: ExceptionPolicy, role: str) -> dict[str, Any] | None:
    """Who of ``role`` is on call now and why (as JSON, with ``at``); None for a role
    with neither a schedule nor a rotation: it pages its first reachable member, as before
    schedules existed, and no activity is asked (asking for every plain role made
    continue-as-new flaky on the time-skipping server: 2 runs in 8, 0 in 16 without)."""
    owner = policy.role(role)
    if owner.schedule is None and owner.rotation is None:
        return None
    now = workflow.now()
    try:
        answer = await workflow.execute_activity(
            ACTIVITY_RESOLVE_ON_CALL,
            OnCallInput(role=owner, at=now),
            result_type=OnCallAnswer,
            start_to_close_timeout=ON_CALL_TIMEOUT,
            retry_policy=QUICK_RETRY,
            summary=f"who is on call for {role}",
        )
    except ActivityError as err:
        who = owner.who(now)
        answer = OnCallAnswer(
            role=role,
            **(who.as_dict() | {"why": f"{who.why}; overrides unknown ({err.cause or err})"}),
        )
    # The calendar's zone beside the layer's: the report reads nights in one of them.
    calendar = policy.calendar.timezone if policy.calendar else None
    return answer.model_dump(mode="json") | {"at": now.isoformat(), "calendar_timezone": calendar}
