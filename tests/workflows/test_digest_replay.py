"""Recorded DigestWorkflow histories replay against today's code: one recorded before the
holiday skip existed (a digest posted on King's Day by the old code) and the two recorded by
test_digest_holidays.py (a skipped holiday, the day after). Re-record the latter with
ESCALATOR_RECORD_HISTORIES=1 after an intended, patched change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from escalator.workflows.digest import DigestWorkflow
from escalator.workflows.digest_contracts import DIGEST_WORKFLOW, DigestRequest, DigestResult

# Not imported from digest_helpers: the sandbox re-imports this module for _WaitsFirst, and
# that one imports the settings (which resolve paths at import).
DIGEST_HISTORIES = Path(__file__).parent.parent / "histories" / "digest"
HISTORIES = sorted(DIGEST_HISTORIES.glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_the_digest_histories_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "posted_before_holidays",
        "skipped_holiday",
        "after_holiday",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_digest_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[DigestWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


@workflow.defn(name=DIGEST_WORKFLOW)
class _WaitsFirst(DigestWorkflow):
    """An incompatible change: a timer before the activity, unpatched."""

    @workflow.run
    async def run(self, req: DigestRequest) -> DigestResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(req)


async def test_an_unpatched_change_fails_the_replay() -> None:
    replayer = Replayer(workflows=[_WaitsFirst], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(
        _history(DIGEST_HISTORIES / "skipped_holiday.json"), raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
