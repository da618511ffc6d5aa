"""The playbook step of the EscalationWorkflow: automated fixes before anyone is paged.

Each automated step runs as an activity; a step with ``recheck`` asks the
detector again afterwards, and a cleared condition resolves the exception
without paging. Manual steps are only recorded (the runbook link goes out with
the page).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.workflows import responses as r
    from escalator.workflows.activity_contracts import (
        ACTIVITY_PLAYBOOK_ACTION,
        ACTIVITY_RECHECK,
        ActionResult,
        PlaybookActionInput,
        RecheckInput,
        RecheckResult,
    )
    from escalator.workflows.constants import QUICK_RETRY
    from escalator.workflows.contracts import StepKind
    from escalator.workflows.escalation_state import EscalationState

__all__ = ["run_playbook"]


async def run_playbook(s: EscalationState) -> None:
    playbook = s.policy.playbook
    for step in playbook.steps if playbook else []:
        if s.resolved:
            return
        if step.type == "manual":
            s.record(
                StepKind.PLAYBOOK_STEP,
                workflow.now(),
                step=step.name,
                type="manual",
                runbook=step.runbook,
            )
            continue
        try:
            result = await workflow.execute_activity(
                ACTIVITY_PLAYBOOK_ACTION,
                PlaybookActionInput(exception_id=s.exception_id, detection=s.detection, step=step),
                result_type=ActionResult,
                start_to_close_timeout=step.timeout,
                retry_policy=QUICK_RETRY,
                summary=f"playbook: {step.name} ({step.action})",
            )
        except ActivityError as err:
            result = ActionResult(ok=False, detail=str(err.cause or err))
        s.record(
            StepKind.PLAYBOOK_STEP,
            workflow.now(),
            step=step.name,
            type="automated",
            action=step.action,
            ok=result.ok,
            result=result.detail,
        )
        if step.recheck and not s.resolved and await _cleared_after(s, step.name):
            return


async def _cleared_after(s: EscalationState, step: str) -> bool:
    try:
        check = await workflow.execute_activity(
            ACTIVITY_RECHECK,
            RecheckInput(exception_id=s.exception_id, detection=s.detection, after_step=step),
            result_type=RecheckResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=QUICK_RETRY,
            summary=f"re-check the condition after {step}",
        )
    except ActivityError as err:
        check = RecheckResult(cleared=False, detail=f"re-check failed: {err.cause or err}")
    if not check.cleared or s.resolved:
        return False
    now, actor = workflow.now(), f"playbook:{step}"
    s.record(StepKind.CONDITION_CLEARED, now, actor=actor, detail=check.detail)
    r.resolve(s, actor, f"condition cleared after {step}", "auto_resolved", "playbook", now)
    return True
