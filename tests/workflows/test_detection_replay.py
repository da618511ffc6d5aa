"""Recorded DetectionWorkflow histories (a run that raised, one that cleared; recorded by
tests/detectors/test_detect_schedule.py) replay against today's code. Re-record them with
ESCALATOR_RECORD_HISTORIES=1 after an intended, patched change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from escalator.workflows.detection import DetectionWorkflow
from escalator.workflows.detection_contracts import (
    DETECTION_WORKFLOW,
    DetectionRequest,
    DetectionResult,
)

DETECTION_HISTORIES = Path(__file__).parent.parent / "histories" / "detection"
HISTORIES = sorted(DETECTION_HISTORIES.glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_the_detection_histories_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {"raised", "cleared"}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_detection_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[DetectionWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


@workflow.defn(name=DETECTION_WORKFLOW)
class _WaitsFirst(DetectionWorkflow):
    """An incompatible change: a timer before the activity, unpatched."""

    @workflow.run
    async def run(self, req: DetectionRequest) -> DetectionResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(req)


async def test_an_unpatched_change_fails_the_replay() -> None:
    replayer = Replayer(workflows=[_WaitsFirst], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(
        _history(DETECTION_HISTORIES / "raised.json"), raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
