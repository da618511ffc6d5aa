"""Raising exceptions: the one public client function for detectors and scripts.

``raise_exception`` starts the exception's EscalationWorkflow, or reports the
detection to the one already running (update-with-start, ``USE_EXISTING``,
workflow id = the dedupe key), so a second detection of an open exception
adds an occurrence instead of a second workflow or a second first page. The
running workflow decides between duplicate (still open), reopen (resolved
within the rule's reopen window: a new linked run that counts as rework) and
new (after the window the old run has ended, and a fresh one starts).

Client code only: no worker, no workflow code is imported here.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from policies.policy_set import PolicySet
from policies.snapshot import ExceptionPolicy, snapshot
from workflows import search_attributes as sa
from workflows.activity_contracts import DetectionOutcome, ReportDetection
from workflows.contracts import (
    ESCALATION_WORKFLOW,
    ConditionCleared,
    Detection,
    EscalationInput,
    ExceptionState,
    ExceptionStatus,
    dedupe_key,
)
from workflows.presentation import static_details, static_summary

__all__ = ["Raised", "clear_condition", "raise_exception", "update_busy", "with_pydantic"]

ATTEMPTS = 3  # a detection racing the end of a resolved run is retried against the new state
# Temporal admits 10 updates in flight per workflow: a burst of detections of one subject
# beyond that is answered "resource exhausted" (or "update aborted"); wait and try again.
BUSY_RETRIES = 100


class Raised(BaseModel):
    exception_id: str
    outcome: str  # new | duplicate | reopened
    state: ExceptionState
    occurrences: int


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
) -> Raised:
    """Start or update the exception for ``detection``; idempotent on its dedupe key.

    Give the loaded ``policies`` (the rule's snapshot is taken now) or an
    already resolved ``policy``. Without ``detected_at`` the workflow stamps the
    detection with its own clock; sending the very same detection twice (a
    retried call) counts once. ``history_limit``: history events after which a
    new exception's open run continues as new (default: the workflow's).
    """
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
    attempt = busy = 0
    while attempt < ATTEMPTS:
        attempt += 1
        start: WithStartWorkflowOperation[Any, ExceptionStatus] = WithStartWorkflowOperation(
            ESCALATION_WORKFLOW,
            inp,
            id=detection.workflow_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=task_queue,
            search_attributes=_search_attributes(inp),
            static_summary=static_summary(inp),
            static_details=static_details(inp),
            result_type=ExceptionStatus,
        )
        try:
            outcome = await client.execute_update_with_start_workflow(
                "report_detection",
                ReportDetection(start=inp),
                start_workflow_operation=start,
                result_type=DetectionOutcome,
            )
        except (WorkflowUpdateFailedError, RPCError) as err:
            if update_busy(err) and busy < BUSY_RETRIES:
                busy, attempt = busy + 1, attempt - 1
                await asyncio.sleep(min(1.0, 0.02 * 2 ** min(busy, 6)) * (0.5 + random.random()))
                continue
            if attempt == ATTEMPTS or not _run_was_closing(err):
                raise
            continue
        return Raised(
            exception_id=outcome.exception_id,
            outcome=outcome.outcome,
            state=outcome.state,
            occurrences=outcome.occurrences,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def update_busy(err: Exception) -> bool:
    """The workflow has as many updates in flight as Temporal admits: not an error yet."""
    # Not UNAVAILABLE as such: an unreachable server must fail fast, not be waited for.
    if isinstance(err, RPCError) and err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return True
    text = f"{err} {getattr(err, 'cause', '')}".lower()
    return "in-flight updates" in text or "update was aborted" in text


def _run_was_closing(err: Exception) -> bool:
    """The run ended (or continued as new) between our start and our update: try again."""
    text = f"{err} {getattr(err, 'cause', '')}".lower()
    if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
        return True
    return "completed" in text or "continued" in text or "not found" in text


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
