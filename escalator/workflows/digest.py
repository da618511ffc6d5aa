"""DigestWorkflow: one run per role per scheduled time (a Temporal Schedule starts it).

Thin on purpose: the digest is one activity (skip a day that is not a business day
of the role's calendar, or gather the tickets and SLO status and post them); the
workflow gives it retries, a history in the Temporal UI and the schedule's
overlap and catch-up rules.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.constants import DIGEST_RETRY
    from escalator.workflows.digest_contracts import (
        ACTIVITY_POST_DIGEST,
        DIGEST_WORKFLOW,
        DigestRequest,
        DigestResult,
    )

__all__ = ["DigestWorkflow"]


@workflow.defn(name=DIGEST_WORKFLOW)
class DigestWorkflow:
    @workflow.run
    async def run(self, req: DigestRequest) -> DigestResult:
        workflow.set_current_details(f"Posting the digest for {req.role}")
        result = await workflow.execute_activity(
            ACTIVITY_POST_DIGEST,
            req,
            result_type=DigestResult,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=DIGEST_RETRY,
            summary=f"digest for {req.role}",
        )
        # Details are not a command: this text may change without a patch (the activity,
        # not the workflow, decides whether the day is a business day).
        if result.skipped:
            details = f"Digest for {req.role} {result.skipped}. Nothing posted."
        elif result.ok:
            details = (
                f"Digest for {req.role}: {result.tickets} ticket(s), posted to {result.target}"
            )
        else:
            details = f"Digest for {req.role} not delivered: {result.error}"
        workflow.set_current_details(details)
        return result
