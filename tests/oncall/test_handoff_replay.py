"""A recorded HandoffWorkflow run (slept to the hand-off, posted, continued as new)
replays against today's code; an unpatched change to the commands it issues fails.
Re-record with ESCALATOR_RECORD_HISTORIES=1 (test_handoff_workflow.py) after an
intended, patched change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from escalator.workflows.handoff import HandoffWorkflow
from escalator.workflows.handoff_contracts import HANDOFF_WORKFLOW, HandoffInput

RECORDED = Path(__file__).parent.parent / "histories" / "handoff" / "handoff_posted.json"


def _history() -> WorkflowHistory:
    return WorkflowHistory.from_json("replay-handoff", RECORDED.read_text())


async def test_the_recorded_handoff_replays() -> None:
    history = _history()
    assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    replayer = Replayer(workflows=[HandoffWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@workflow.defn(name=HANDOFF_WORKFLOW)
class _SleepsFirst(HandoffWorkflow):
    """An incompatible change: a timer before the first question, unpatched."""

    @workflow.run
    async def run(self, inp: HandoffInput) -> None:
        await workflow.sleep(timedelta(seconds=1))
        await super().run(inp)


async def test_an_unpatched_change_fails_the_replay() -> None:
    replayer = Replayer(workflows=[_SleepsFirst], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_history(), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
