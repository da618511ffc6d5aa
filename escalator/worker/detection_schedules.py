"""Detection on Temporal: one Temporal Schedule per watched journey, installed at worker start.

Each schedule (id ``escalator-detect-<journey>``) starts a DetectionWorkflow every
``ESCALATOR_DETECT_EVERY`` on the workers' task queue; its activity polls the journey's
event table (`escalator.activities.detection`). Overlap SKIP: while one detection of a
journey runs, the next is skipped, not queued. The catch-up window is one interval (at
least Temporal's 10 s): after an outage one run catches up, not one per missed interval.

Installed like the digest schedules (`escalator.worker.schedules`): a schedule that
exists is updated (a changed interval takes effect at the next worker start); one of a
journey no longer watched is deleted. Off when ``ESCALATOR_DETECT_TABLE`` is unset, which
also deletes the schedules a previous configuration made.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from escalator.client import with_pydantic
from escalator.detectors.watch_sources import WatchSource, watch_sources
from escalator.policies.duration import format_duration
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings
from escalator.worker.schedule_startup import Installing, install_until_done
from escalator.worker.schedules import delete_stale_schedules, upsert_schedule
from escalator.workflows.detection_contracts import (
    DETECTION_SCHEDULE_PREFIX,
    DETECTION_WORKFLOW,
    DetectionRequest,
    detection_schedule_id,
)

__all__ = [
    "InstalledDetection",
    "detection_schedule",
    "install_detections",
    "start_detection_install",
]

log = logging.getLogger("escalator.detection")
DETECTIONS = Installing(
    "detection schedules", "detection", "no journey is detected on the workers", log
)
SHORTEST_CATCHUP = timedelta(seconds=10)  # Temporal refuses a shorter catch-up window


@dataclass(frozen=True)
class InstalledDetection:
    journey: str
    schedule_id: str
    created: bool  # False: an existing schedule was updated (or deleted)
    every: timedelta | None = None
    table: str = ""
    deleted: bool = False

    def describe(self) -> str:
        if self.deleted:
            return f"deleted schedule {self.schedule_id}: journey {self.journey} is not watched"
        verb = "created" if self.created else "updated"
        every = format_duration(self.every) if self.every else "?"
        return f"{verb} schedule {self.schedule_id}: {self.table} every {every}"


def detection_schedule(source: WatchSource, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DETECTION_WORKFLOW,
            DetectionRequest(journey=source.journey, timeout=source.lease),
            id=detection_schedule_id(source.journey),
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=source.every)]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=max(source.every, SHORTEST_CATCHUP),
        ),
    )


async def install_detections(
    client: Client, sources: dict[str, WatchSource], task_queue: str
) -> list[InstalledDetection]:
    """Create or update every watched journey's schedule, then delete the stale ones."""
    installed = []
    for journey, source in sorted(sources.items()):
        sid = detection_schedule_id(journey)
        created = await upsert_schedule(client, sid, detection_schedule(source, task_queue))
        installed.append(InstalledDetection(journey, sid, created, source.every, source.table))
    try:
        deleted = await delete_stale_schedules(
            client,
            prefix=DETECTION_SCHEDULE_PREFIX,
            wanted={d.schedule_id for d in installed},
            workflow=DETECTION_WORKFLOW,
            task_queue=task_queue,
        )
    except RPCError as err:
        # Nothing watched on a server without schedules: nothing to delete either.
        if not sources and err.status == RPCStatusCode.UNIMPLEMENTED:
            return []
        raise
    return installed + [
        InstalledDetection(sid.removeprefix(DETECTION_SCHEDULE_PREFIX), sid, False, deleted=True)
        for sid in deleted
    ]


def start_detection_install(client: Client, settings: Settings) -> asyncio.Task[Any]:
    """The install as a task beside the worker, retried like the digests'."""
    from escalator.policy_source import load_configured_policies

    async def install(policies: PolicySet) -> list[InstalledDetection]:
        sources = watch_sources(settings, policies)
        return await install_detections(
            with_pydantic(client), sources, settings.temporal_task_queue
        )

    return asyncio.create_task(
        install_until_done(DETECTIONS, install, lambda: load_configured_policies(settings)),
        name="escalator-detection-install",
    )
