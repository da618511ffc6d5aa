"""The escalation's activities on their own (Temporal's ActivityEnvironment, no server)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from policy_factory import detection, make_policy
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from escalator.activities.channels import CapturingSender, ConsoleSender
from escalator.activities.notify import NotifyActivities
from escalator.activities.playbook import InMemoryConditions, PlaybookActivities
from escalator.activities.records import InMemoryRecorder, RecordActivities
from escalator.policies.playbooks import PlaybookStep
from escalator.workflows.activity_contracts import (
    Notification,
    NotifyRequest,
    PlaybookActionInput,
    RecheckInput,
    RecordStepsInput,
)
from escalator.workflows.constants import NOTIFY_RETRY
from escalator.workflows.contracts import EscalationInput, StepKind, TimelineStep
from escalator.workflows.escalation_state import EscalationState

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def note(target: str, channel: str = "sms", key: str = "n1") -> Notification:
    inp = EscalationInput(detection=detection("o-1"), policy=make_policy(timedelta(minutes=1)))
    status = EscalationState.start(inp, "exc:x", "run-1", T0).status()
    return Notification(
        exception_id="exc:x",
        idempotency_key=f"exc:x/run-1/{key}/{channel}/{target}",
        level=1,
        role="inventory",
        channel=channel,
        target=target,
        reason="first",
        status=status,
    )


async def test_notify_dispatches_falls_back_and_records() -> None:
    sms = CapturingSender(name="sms")
    printed = io.StringIO()
    console = ConsoleSender(stream=printed)
    recorder = InMemoryRecorder()
    acts = NotifyActivities({"sms": sms}, recorder, fallback=console)
    result = await ActivityEnvironment().run(
        acts.notify, NotifyRequest(notifications=[note("+31600000001"), note("#inv", "slack")])
    )
    assert [d.ok for d in result.deliveries] == [True, True]
    assert [s.notification.target for s in sms.sent] == ["+31600000001"]
    assert "slack:#inv" in printed.getvalue()  # no Slack sender: printed instead
    assert len(recorder.notifications) == 2


async def test_retryable_failure_retries_without_resending_the_rest() -> None:
    sms = CapturingSender(name="sms", fail_targets={"+31600000009": True})
    acts = NotifyActivities({"sms": sms}, InMemoryRecorder())
    request = NotifyRequest(notifications=[note("+31600000001"), note("+31600000009")])
    env = ActivityEnvironment()
    env.info = replace(env.info, retry_policy=NOTIFY_RETRY)  # as the workflow schedules it
    with pytest.raises(ApplicationError, match="refused the message"):
        await env.run(acts.notify, request)
    with pytest.raises(ApplicationError):
        await env.run(acts.notify, request)
    assert len(sms.sent) == 1  # the delivered one was not sent twice
    last = NOTIFY_RETRY.maximum_attempts
    env.info = replace(env.info, attempt=last)  # the last attempt reports instead of raising
    result = await env.run(acts.notify, request)
    assert [(d.ok, d.retryable) for d in result.deliveries] == [(True, False), (False, True)]


async def test_notify_reads_its_retry_policy_from_temporal() -> None:
    """Which attempt is the last is the workflow's retry policy, as Temporal hands it over."""
    sms = CapturingSender(name="sms", fail_targets={"+31600000009": True})
    acts = NotifyActivities({"sms": sms}, InMemoryRecorder())
    request = NotifyRequest(notifications=[note("+31600000009")])
    env = ActivityEnvironment()
    env.info = replace(env.info, retry_policy=RetryPolicy(maximum_attempts=2), attempt=2)
    assert not (await env.run(acts.notify, request)).deliveries[0].ok
    env.info = replace(env.info, retry_policy=RetryPolicy(maximum_attempts=0), attempt=99)
    with pytest.raises(ApplicationError):  # no maximum: Temporal retries, so it raises
        await env.run(acts.notify, request)


async def test_records_are_idempotent_on_the_step_key() -> None:
    recorder = InMemoryRecorder()
    step = TimelineStep(exception_id="e", run_id="r", seq=1, kind=StepKind.DETECTED, at=T0)
    acts = RecordActivities(recorder)
    await ActivityEnvironment().run(acts.record_steps, RecordStepsInput(steps=[step, step]))
    await ActivityEnvironment().run(acts.record_steps, RecordStepsInput(steps=[step]))
    assert recorder.timeline("e") == [step]


async def test_playbook_unknown_action_and_recheck() -> None:
    conditions = InMemoryConditions()
    acts = PlaybookActivities({}, conditions)
    step = PlaybookStep(name="fix", type="automated", action="restart_printer")
    result = await ActivityEnvironment().run(
        acts.run_playbook_action,
        PlaybookActionInput(exception_id="e", detection=detection("o-1"), step=step),
    )
    assert not result.ok and "no playbook action named 'restart_printer'" in result.detail
    check = RecheckInput(exception_id="e", detection=detection("o-1"), after_step="fix")
    assert not (await ActivityEnvironment().run(acts.recheck_condition, check)).cleared
    conditions.clear("e", "printer back")
    cleared = await ActivityEnvironment().run(acts.recheck_condition, check)
    assert cleared.cleared and cleared.detail == "printer back"
