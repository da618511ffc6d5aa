"""Raising exceptions: the one public client function for detectors and scripts.

``raise_exception`` returns once Temporal has durably accepted the detection, never
waiting for a worker: it signals-with-start the exception's EscalationWorkflow
(``USE_EXISTING``, workflow id = the dedupe key), which Temporal writes to the history
on its own. A second detection of an open exception thus adds an occurrence instead of
a second workflow or a second first page. The running workflow decides between
duplicate (still open), reopen (resolved within the rule's reopen window: a new linked
run that counts as rework) and new (after the window the old run has ended, and a fresh
one starts).

What became of the detection: the worker is asked (a read-only update) for at most
``outcome_within``. With no answer in time, the outcome is "new" when this call started
the workflow (Temporal alone says so), else "pending": accepted, applied when a worker
polls. (An update would wait for a worker before Temporal keeps it at all: with every
worker down, the old update-with-start hung, and blocked a detector for the outage.)

Client code only: no worker, no workflow code is imported here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from escalator.errors import RefusedError
from escalator.policies.heartbeats import Heartbeat
from escalator.policies.policy_set import PolicySet
from escalator.policies.snapshot import ExceptionPolicy, resolve_calendar, snapshot
from escalator.temporal_errors import run_ended, update_busy
from escalator.workflows import search_attributes as sa
from escalator.workflows.activity_contracts import DetectionOutcome, ReportDetection
from escalator.workflows.constants import REFUSED
from escalator.workflows.contracts import (
    ESCALATION_WORKFLOW,
    ConditionCleared,
    Detection,
    EscalationInput,
    ExceptionState,
    ExceptionStatus,
    dedupe_key,
)
from escalator.workflows.heartbeat_contracts import (
    BEAT_SIGNAL,
    HEARTBEAT_WORKFLOW,
    Beat,
    HeartbeatInput,
    heartbeat_workflow_id,
)
from escalator.workflows.presentation import static_details, static_summary

__all__ = [
    "DETECTION_SIGNAL",
    "OUTCOME_UPDATE",
    "OUTCOME_WITHIN",
    "REFUSED",
    "Raised",
    "beat_heartbeat",
    "clear_condition",
    "connect",
    "heartbeat_input",
    "raise_exception",
    "refusal",
    "refusals",
    "start_heartbeat",
    "with_pydantic",
]

DETECTION_SIGNAL = "detection_reported"  # escalator/workflows/escalation.py
OUTCOME_UPDATE = "detection_outcome"  # read-only
# How long a caller waits for a worker to say what became of a detection of an exception
# that was already running; the detection itself is safe before this wait begins.
OUTCOME_WITHIN = timedelta(seconds=30)
log = logging.getLogger(__name__)
ATTEMPTS = 3  # an update that met the end of a run (a reopen) is asked again of the next


class Raised(BaseModel):
    exception_id: str
    # pending: Temporal keeps the detection, no worker answered within outcome_within
    outcome: Literal["new", "duplicate", "reopened", "pending"]
    state: ExceptionState | None  # None while pending
    occurrences: int | None  # None while pending

    @property
    def pending(self) -> bool:
        return self.outcome == "pending"


async def connect(
    address: str = "localhost:7233", *, namespace: str = "default", **options: Any
) -> Client:
    """A Temporal client that speaks escalator's contracts (the pydantic data converter).

    ``options`` go to ``temporalio.client.Client.connect`` as they are (``lazy``,
    ``connect_timeout``, ``retry_config``, ``runtime``): every process connects here, each
    with the patience its users need."""
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, **options
    )


def with_pydantic(client: Client) -> Client:
    """The same connection with the pydantic data converter (the contracts are pydantic)."""
    if client.data_converter is pydantic_data_converter:
        return client
    config = client.config()
    config["data_converter"] = pydantic_data_converter
    return Client(**config)


def _search_attributes(inp: EscalationInput) -> TypedSearchAttributes:
    d, rule = inp.detection, inp.policy.rule
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.JOURNEY, d.journey),
            SearchAttributePair(sa.RULE, d.rule),
            SearchAttributePair(sa.KIND, rule.kind),
            SearchAttributePair(sa.CASE_ID, d.subject),
            SearchAttributePair(sa.SEVERITY, rule.severity),
            SearchAttributePair(sa.OWNER_ROLE, rule.owner),
            SearchAttributePair(sa.LEVEL, 0),
            SearchAttributePair(sa.STATE, ExceptionState.OPEN.value),
            SearchAttributePair(sa.EXHAUSTED, False),
        ]
    )


async def raise_exception(
    client: Client,
    detection: Detection,
    *,
    policies: PolicySet | None = None,
    policy: ExceptionPolicy | None = None,
    task_queue: str,
    history_limit: int | None = None,
    outcome_within: timedelta = OUTCOME_WITHIN,
) -> Raised:
    """Start or update the exception for ``detection``; idempotent on its dedupe key.

    Give the loaded ``policies`` (the rule's snapshot is taken now) or an
    already resolved ``policy``. Without ``detected_at`` the workflow stamps the
    detection with its own clock; sending the very same detection twice (a
    retried call) counts once. ``history_limit``: history events after which a
    new exception's open run continues as new (default: the workflow's).
    ``outcome_within``: how long to wait for a worker to report the outcome of a detection
    of an exception that was already running (0: do not ask; the outcome is "pending").
    Raises ``RPCError`` / ``RuntimeError`` when Temporal cannot be reached.
    """
    within = outcome_within.total_seconds()
    if policy is None:
        if policies is None:
            raise ValueError("raise_exception needs policies= (a PolicySet) or policy=")
        policy = snapshot(policies, detection.rule, detection.detected_at or datetime.now(UTC))
    if policy.rule.name != detection.rule or policy.rule.journey != detection.journey:
        raise ValueError(
            f"the policy is for {policy.rule.journey}/{policy.rule.name}, "
            f"the detection for {detection.journey}/{detection.rule}"
        )
    client = with_pydantic(client)
    limit = {} if history_limit is None else {"history_limit": history_limit}
    inp = EscalationInput(detection=detection, policy=policy, **limit)
    report = ReportDetection(start=inp)
    handle = await client.start_workflow(
        ESCALATION_WORKFLOW,
        inp,
        id=detection.workflow_id,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
        search_attributes=_search_attributes(inp),
        static_summary=static_summary(inp),
        static_details=static_details(inp),
        start_signal=DETECTION_SIGNAL,
        start_signal_args=[report],
        result_type=ExceptionStatus,
    )
    # From here on the detection is in the history: Temporal delivers it whenever a worker
    # polls, even after a server restart.
    # With a worker up, its answer (bounded by outcome_within) also means the exception has
    # taken the detection in, as a caller that goes on to answer it expects.
    outcome = await _outcome(client, detection.workflow_id, report, within)
    if outcome is None and _started(handle):  # this call started it: new, worker or not
        return Raised(
            exception_id=detection.workflow_id,
            outcome="new",
            state=ExceptionState.OPEN,
            occurrences=1,
        )
    if outcome is None:
        return Raised(
            exception_id=detection.workflow_id, outcome="pending", state=None, occurrences=None
        )
    return Raised(
        exception_id=outcome.exception_id,
        outcome=outcome.outcome,
        state=outcome.state,
        occurrences=outcome.occurrences,
    )


def _started(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the signal-with-start started the workflow (Temporal's ``started`` flag; the
    SDK keeps the response on the handle but has no public accessor for it in 1.35)."""
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", False))


async def _outcome(
    client: Client, workflow_id: str, report: ReportDetection, within: float
) -> DetectionOutcome | None:
    """What the exception made of the detection, if a worker says so in time. The update
    reaches the worker after the signal (history order), so the answer includes this
    detection. Addressed to the workflow id, not the signalled run: a reopen ends that run
    (continue-as-new), and Temporal hands an update still waiting to the new run, which
    this very detection started (and says "reopened")."""
    if within <= 0:
        return None
    handle = client.get_workflow_handle(workflow_id)
    ended = 0
    try:
        async with asyncio.timeout(within):
            while True:
                try:
                    return await handle.execute_update(
                        OUTCOME_UPDATE,
                        report,
                        result_type=DetectionOutcome,
                        rpc_timeout=timedelta(seconds=within),
                    )
                except (RPCError, WorkflowUpdateFailedError) as err:
                    if run_ended(err) and ended < ATTEMPTS:
                        ended += 1
                        continue
                    if update_busy(err):
                        # Temporal admits ~10 updates per workflow at once: a burst of
                        # detections of one subject queues here, within the same budget.
                        await asyncio.sleep(0.2)
                        continue
                    raise
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return None
    except (RPCError, WorkflowUpdateFailedError) as err:
        # The detection is already in the history; only its outcome is unknown.
        log.warning("%s: the outcome of a detection is unknown: %s", workflow_id, err)
        return None


def exception_handle(client: Client, exception_id: str) -> WorkflowHandle[object, ExceptionStatus]:
    return with_pydantic(client).get_workflow_handle(exception_id, result_type=ExceptionStatus)


async def clear_condition(
    client: Client,
    journey: str,
    rule: str,
    subject: str,
    *,
    at: datetime | None = None,
    reason: str = "condition cleared by detector",
) -> bool:
    """Tell a running exception its condition no longer holds (it auto-resolves).

    Returns False when no exception with that dedupe key is running.
    """
    handle = exception_handle(client, dedupe_key(journey, rule, subject))
    try:
        await handle.signal(
            "condition_cleared", ConditionCleared(at=at or datetime.now(UTC), reason=reason)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def refusal(err: WorkflowUpdateFailedError) -> RefusedError | None:
    """The workflow's refusal as a RefusedError (its reason as the message); None when the
    update failed otherwise. The failure type decides, never the message's wording."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == REFUSED:
        return RefusedError(cause.message)
    return None


@contextmanager
def refusals() -> Iterator[None]:
    """Around ``execute_update``: a workflow's refusal leaves as RefusedError, anything
    else as it came. The one place where client code tells a refusal from a failure."""
    try:
        yield
    except WorkflowUpdateFailedError as err:
        refused = refusal(err)
        if refused is None:
            raise
        raise refused from err


# --- heartbeat monitors (escalator/workflows/heartbeat.py) ---


def heartbeat_input(heartbeat: Heartbeat, policies: PolicySet, at: datetime) -> HeartbeatInput:
    """The monitor's input, resolved now: the rule's snapshot and the calendar's holidays."""
    calendar = policies.calendar(heartbeat.calendar) if heartbeat.calendar else None
    return HeartbeatInput(
        name=heartbeat.name,
        every=heartbeat.every,
        policy=snapshot(policies, heartbeat.rule, at),
        calendar=resolve_calendar(calendar, at) if calendar else None,
    )


async def start_heartbeat(
    client: Client, heartbeat: Heartbeat, policies: PolicySet, *, task_queue: str
) -> None:
    """Start the heartbeat's monitor unless it runs: a source that never beats at all is
    missed ``every`` after this."""
    await _heartbeat_monitor(client, heartbeat, policies, task_queue=task_queue)


async def beat_heartbeat(
    client: Client,
    heartbeat: Heartbeat,
    policies: PolicySet,
    *,
    task_queue: str,
    source: str = "http",
) -> None:
    """One beat: signals the monitor, starting it first when it does not run yet."""
    await _heartbeat_monitor(client, heartbeat, policies, task_queue=task_queue, beat=source)


async def _heartbeat_monitor(
    client: Client,
    heartbeat: Heartbeat,
    policies: PolicySet,
    *,
    task_queue: str,
    beat: str | None = None,
) -> None:
    """Start the monitor (one per heartbeat, whoever comes first), with a beat from
    ``beat`` as its start signal when given."""
    signal: dict[str, Any] = (
        {}
        if beat is None
        else {"start_signal": BEAT_SIGNAL, "start_signal_args": [Beat(source=beat)]}
    )
    await with_pydantic(client).start_workflow(
        HEARTBEAT_WORKFLOW,
        heartbeat_input(heartbeat, policies, datetime.now(UTC)),
        id=heartbeat_workflow_id(heartbeat.name),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
        static_summary=f"heartbeat {heartbeat.name}: every {heartbeat.every}",
        **signal,
    )
