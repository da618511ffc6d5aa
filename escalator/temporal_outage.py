"""When Temporal, or every worker, is not there: say so in one sentence a person can act on.

Used by the CLI (`escalator/cli/temporal.py`) and the receiver (`escalator/receiver/responses.py`,
`escalator/receiver/ready.py`), so a refused connection reads the same everywhere.

Two different outages:

- Temporal unreachable: the SDK raises ``RuntimeError("Failed client connect: ...")`` when the
  first connection fails, and ``RPCError(UNAVAILABLE)`` once a connection it had is gone.
  ``unreachable_reason`` turns both into a short reason ("connection refused").
- No worker: Temporal answers, but an update waits for a worker to accept it. Temporal 1.35
  keeps such an update *admitted* (in the server's memory, not yet in the history) and hands
  it to the next worker that polls; ``update_stage`` asks the server how far it got, and
  ``pollers`` (DescribeTaskQueue) says whether any worker polled the task queue lately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    PollWorkflowExecutionUpdateRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from escalator.temporal_errors import connect_failed, namespace_not_found

__all__ = [
    "CHECK_TEMPORAL",
    "Pollers",
    "UpdateStage",
    "pollers",
    "unreachable_reason",
    "update_stage",
    "what_became_of",
]

CHECK_TEMPORAL = (
    "check that the Temporal server runs (escalator up, or temporal server start-dev) "
    "and that TEMPORAL_ADDRESS points at its frontend"
)
PROBE = timedelta(seconds=2)  # each diagnosis call; the CLI's --timeout has already passed
# A live worker long-polls each task queue at least once a minute; an older poll is a worker
# that stopped (the server forgets pollers only after a few minutes).
RECENT = timedelta(seconds=70)

_REASONS = (
    ("connection refused", "connection refused"),
    ("dns error", "the host name does not resolve"),
    ("name or service not known", "the host name does not resolve"),
    ("timed out", "no answer (timed out)"),
    ("deadline", "no answer (timed out)"),
    ("unimplemented", "something answers there, but it is not a Temporal frontend"),
    ("connection reset", "the connection was reset"),
)


def unreachable_reason(err: BaseException) -> str | None:
    """Why Temporal cannot be reached, if that is what ``err`` says; None for other errors."""
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.UNAVAILABLE:
            return _reason(err.message)
        if namespace_not_found(err):
            return f"namespace not found ({err.message.rstrip('.')}; check TEMPORAL_NAMESPACE)"
        return None
    if connect_failed(err):
        return _reason(str(err))
    return None


def _reason(text: str) -> str:
    low = text.lower()
    for needle, reason in _REASONS:
        if needle in low:
            return reason
    first = re.sub(r"\s+", " ", text).strip()
    return first[:160]


@dataclass(frozen=True)
class Pollers:
    task_queue: str
    last_poll: datetime | None  # the most recent poll of any worker the server remembers
    known: bool = True  # False: the server could not be asked

    def active(self, now: datetime | None = None) -> bool:
        """A worker polled lately, or the server could not be asked (then assume one)."""
        if not self.known:
            return True
        if self.last_poll is None:
            return False
        return ((now or datetime.now(UTC)) - self.last_poll) <= RECENT

    def sentence(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        if not self.known:
            return f"could not ask Temporal who polls task queue {self.task_queue}"
        if self.last_poll is None:
            return (
                f"no worker is polling task queue {self.task_queue} "
                "(start one: escalator worker, with the same TEMPORAL_TASK_QUEUE)"
            )
        ago = (now - self.last_poll).total_seconds()
        if ago > RECENT.total_seconds():
            return (
                f"no worker is polling task queue {self.task_queue} "
                f"(the last one polled {ago:.0f} s ago; start one: escalator worker)"
            )
        return (
            f"a worker polled task queue {self.task_queue} {ago:.0f} s ago but did not answer "
            "in time (busy, or stopping)"
        )


async def pollers(client: Client, task_queue: str) -> Pollers:
    """Who polled the workflow task queue lately (updates and queries are workflow tasks)."""
    try:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=PROBE,
        )
    except (RPCError, RuntimeError):
        return Pollers(task_queue, None, known=False)
    seen = [
        p.last_access_time.ToDatetime(tzinfo=UTC)
        for p in described.pollers
        if p.HasField("last_access_time")
    ]
    return Pollers(task_queue, max(seen) if seen else None)


class UpdateStage:
    NOT_ADMITTED = "not admitted"
    ADMITTED = "admitted"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    UNKNOWN = "unknown"


_STAGES = {
    UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED: (
        UpdateStage.ADMITTED
    ),
    UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED: (
        UpdateStage.ACCEPTED
    ),
    UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED: (
        UpdateStage.COMPLETED
    ),
}


async def update_stage(client: Client, workflow_id: str, update_id: str) -> str:
    """How far Temporal got with an update we gave up waiting for (one `UpdateStage`)."""
    try:
        polled = await client.workflow_service.poll_workflow_execution_update(
            PollWorkflowExecutionUpdateRequest(
                namespace=client.namespace,
                update_ref=UpdateRef(
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                    update_id=update_id,
                ),
                # ADMITTED: answer at once with the stage reached, never wait for a worker.
                wait_policy=WaitPolicy(
                    lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
                ),
                identity=client.identity,
            ),
            timeout=PROBE,
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return UpdateStage.NOT_ADMITTED
        return UpdateStage.UNKNOWN
    except RuntimeError:
        return UpdateStage.UNKNOWN
    if polled.HasField("outcome"):
        return UpdateStage.COMPLETED
    return _STAGES.get(polled.stage, UpdateStage.UNKNOWN)


def what_became_of(stage: str, request: str, exception_id: str) -> str:
    """The second half of a no-answer sentence: does the person need to repeat the request?"""
    if stage == UpdateStage.ADMITTED:
        return (
            f"Temporal holds your {request} (admitted, not yet in the history): the next "
            "worker to poll applies it, unless the Temporal server restarts first; "
            f"check `escalator status {exception_id}` before repeating it"
        )
    if stage in (UpdateStage.ACCEPTED, UpdateStage.COMPLETED):
        return (
            f"your {request} was accepted (it is in the exception's history) and completes "
            "when the worker finishes the task; do not repeat it"
        )
    if stage == UpdateStage.NOT_ADMITTED:
        return f"your {request} did not reach the exception: nothing changed, repeat it later"
    return (
        f"whether Temporal kept your {request} is unknown; "
        f"check `escalator status {exception_id}` before repeating it"
    )
