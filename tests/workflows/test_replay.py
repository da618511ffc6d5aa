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
from temporalio.worker import Replayer

from workflows.contracts import ESCALATION_WORKFLOW, EscalationInput, ExceptionStatus
from workflows.escalation import EscalationWorkflow

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


async def test_incompatible_change_fails_replay() -> None:
    path = next(p for p in HISTORIES if p.stem == "ack_level1_resolve")
    replayer = Replayer(workflows=[_SleepsFirst], data_converter=pydantic_data_converter)
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(_history(path))
