"""What crosses the Temporal boundary for detection on Temporal (`escalator/workflows/detection.py`).

The request names the journey only: the event source (a URL that may hold a password)
stays in the workers' settings, never in a schedule's action or a workflow's history.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from escalator.workflows.contracts import Contract

__all__ = [
    "ACTIVITY_DETECT",
    "DETECTION_SCHEDULE_PREFIX",
    "DETECTION_TIMEOUT",
    "DETECTION_WORKFLOW",
    "DetectionRequest",
    "DetectionResult",
    "detection_schedule_id",
]

DETECTION_WORKFLOW = "DetectionWorkflow"
ACTIVITY_DETECT = "escalator.detect"
# One detection run may take this long; its lease on the journey's watch state in the
# records lasts as long, so a run on a worker that died frees the journey when Temporal
# would retry it anyway.
DETECTION_TIMEOUT = timedelta(minutes=5)

# Every detection schedule escalator creates has this id prefix: the install deletes only
# schedules with it whose action starts a DetectionWorkflow on its task queue.
DETECTION_SCHEDULE_PREFIX = "escalator-detect-"


def detection_schedule_id(journey: str) -> str:
    return f"{DETECTION_SCHEDULE_PREFIX}{journey}"


class DetectionRequest(Contract):
    journey: str
    # The run's time limit and its lease (ESCALATOR_DETECT_LEASE); None (a schedule made
    # before the setting): DETECTION_TIMEOUT.
    timeout: timedelta | None = None


class DetectionResult(Contract):
    journey: str
    table: str = ""
    rows: int = 0
    quarantined: int = 0
    raised: list[str] = Field(default_factory=list)  # dedupe keys
    cleared: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)  # retried by the next run
    beaten: list[str] = Field(default_factory=list)  # heartbeats the new events beat
    # Set when this run did nothing because another run of the journey holds its watch state
    # (a trigger while the scheduled run was on another worker): "held by ... until ...".
    skipped: str | None = None

    def summary(self) -> str:
        if self.skipped:
            return f"Detection for {self.journey} skipped: {self.skipped}"
        return (
            f"Detection for {self.journey} ({self.table}): {self.rows} new rows "
            f"({self.quarantined} quarantined), raised {len(self.raised)}, "
            f"cleared {len(self.cleared)}, failed {len(self.failed)}"
        )
