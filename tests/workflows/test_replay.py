"""Recorded histories of the main scenarios replay against today's workflow code.

A change that is not replay-compatible (reordered activities, a new timer on an
old path without ``workflow.patched``) fails here before it reaches a running
exception. Re-record after an intended, patched change with:

    ESCALATOR_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows -q
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from escalator.policies.notify_rules import NotifyRules
from escalator.workflows.contracts import ESCALATION_WORKFLOW, EscalationInput, ExceptionStatus
from escalator.workflows.escalation import EscalationWorkflow
from escalator.workflows.escalation_continue import Continuer
from escalator.workflows.escalation_paging import Pager

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))
MAIN_SCENARIOS = {
    "ack_level1_resolve",
    "exhausted_broadcast",
    "restore_breach",
    "snooze",
    "reassign",
    "apply_latest_policy",
    "duplicate",
    "condition_cleared",
    "playbook_auto_resolve",
    "outside_business_hours",
    "continue_as_new_open_first",  # an open run that continued as new (patched)
    "continue_as_new_open_last",  # the run it led to: resumed, acknowledged, resolved
    "continue_as_new_held_first",  # held by a silence, continued as new while held
    "continue_as_new_held_last",  # still held, then released: routed and paged
    "delivery_per_target_sms_outage",  # per-target delivery: SMS retried through an outage
    "early_reassign",  # reassigned before the first page: it goes to the new role (patched)
    "early_acknowledge",  # acknowledged before the first page: nobody paged (patched)
    "reopen_counts_all",  # two detections after the resolution: both reopen it (patched)
    "reopen_signal_carries",  # reopened by signal, with the run's policy and limit (patched)
    "routing_local_activity",  # the routing decision as a local activity (7 Dec 2026 only)
    "personal_steps_ack_stops_voice",  # a member's rule: DM, SMS at 2m, ack stops voice (patched)
    "webhook_updates_ack_resolve",  # a paged webhook hears the ack and the resolution (patched)
}


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_main_scenarios_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= MAIN_SCENARIOS


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[EscalationWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


@workflow.defn(name=ESCALATION_WORKFLOW)
class _SleepsFirst(EscalationWorkflow):
    """An incompatible change: a timer before the routing decision, unpatched."""

    @workflow.run
    async def run(self, inp: EscalationInput) -> ExceptionStatus:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


async def test_continue_as_new_open_is_in_the_recorded_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recorded first run really continued as new while open: without it, replay fails."""
    path = next(p for p in HISTORIES if p.stem == "continue_as_new_open_first")
    history = _history(path)
    assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    # The feature taken out: an open run never continues as new.
    monkeypatch.setattr(Continuer, "history_full", lambda self: False)
    # Unsandboxed: the sandbox must not import a copy of the collaborator unpatched.
    replayer = Replayer(
        workflows=[EscalationWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(history)


@workflow.defn(name=ESCALATION_WORKFLOW)
class _AnswersEarlyTwice(EscalationWorkflow):
    """The early-answer fix taken out halfway: the inbox still answers them after the page."""

    @workflow.run
    async def run(self, inp: EscalationInput) -> ExceptionStatus:
        return await super().run(inp)

    def _take_early_answers(self) -> None:
        pass


async def test_early_answer_is_in_the_recorded_history() -> None:
    """The recorded run was acknowledged before its first page: replaying it with the
    acknowledgement answered again from the inbox (one more message) fails."""
    path = next(p for p in HISTORIES if p.stem == "early_acknowledge")
    replayer = Replayer(
        workflows=[_AnswersEarlyTwice],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(_history(path))


async def test_incompatible_change_fails_replay() -> None:
    path = next(p for p in HISTORIES if p.stem == "ack_level1_resolve")
    replayer = Replayer(workflows=[_SleepsFirst], data_converter=pydantic_data_converter)
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(_history(path))


async def test_personal_steps_are_in_the_recorded_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded run followed alice's rule (a DM at once, an SMS on a timer): replayed
    with members' rules ignored (the level's channels at once), it fails."""
    path = next(p for p in HISTORIES if p.stem == "personal_steps_ack_stops_voice")
    monkeypatch.setattr(NotifyRules, "steps", lambda self, urgency: None)
    replayer = Replayer(
        workflows=[EscalationWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(_history(path))


async def test_webhook_updates_are_in_the_recorded_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recorded run told its webhook of the acknowledgement and the resolution: replayed
    without it (the state changes to Slack alone, as before the patch), it fails."""
    path = next(p for p in HISTORIES if p.stem == "webhook_updates_ack_resolve")
    monkeypatch.setattr(Pager, "_webhooks", lambda self, s, besides=None: [])
    replayer = Replayer(
        workflows=[EscalationWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(_history(path))
