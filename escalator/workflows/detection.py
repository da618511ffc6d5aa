"""DetectionWorkflow: one detection run of one journey (a Temporal Schedule starts it).

Thin on purpose, like the digest: the detection is one activity (read the journey's new
events from its SQL table after the watermark kept in the records, evaluate the rules,
raise and clear); the workflow gives it retries, a history in the Temporal UI, and the
schedule's overlap rule (SKIP: one detection per journey at a time).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.constants import DETECT_RETRY
    from escalator.workflows.detection_contracts import (
        ACTIVITY_DETECT,
        DETECTION_TIMEOUT,
        DETECTION_WORKFLOW,
        DetectionRequest,
        DetectionResult,
    )

__all__ = ["DetectionWorkflow"]


@workflow.defn(name=DETECTION_WORKFLOW)
class DetectionWorkflow:
    @workflow.run
    async def run(self, req: DetectionRequest) -> DetectionResult:
        workflow.set_current_details(f"Detecting exceptions in {req.journey}")
        result = await workflow.execute_activity(
            ACTIVITY_DETECT,
            req,
            result_type=DetectionResult,
            start_to_close_timeout=req.timeout or DETECTION_TIMEOUT,
            retry_policy=DETECT_RETRY,
            summary=f"detection for {req.journey}",
        )
        # Details are not a command: this text may change without a patch.
        workflow.set_current_details(result.summary())
        return result
