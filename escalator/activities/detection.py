"""The detection activity: one poll of a journey's event table, run by a Temporal Schedule.

It is the standalone watcher's poll (`escalator.detectors.watch.Watcher.poll_once`, the
same evaluation), with the watch state kept in the records (`escalator.records.watch_states`)
instead of a file, so any worker replica may run it:

1. claim the journey's watch state (a lease: one run per journey at a time; a run that
   finds the lease held returns "skipped" and the next scheduled run polls);
2. poll: a replica that has polled this journey before and read exactly up to the kept
   watermark reads only the rows after it; any other reads the table from the start and
   evaluates as of now (the kept open keys and raised occurrences decide what is new);
3. save the state under the lease, and release it.

The watchers kept between runs are a cache in this process only: a state written by
another replica (its watermark differs) makes the next poll read the table again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from escalator.policies.policy_set import PolicySet
from escalator.workflows.detection_contracts import (
    ACTIVITY_DETECT,
    DETECTION_TIMEOUT,
    DetectionRequest,
    DetectionResult,
)

if TYPE_CHECKING:
    # The watcher brings polars and, through predicted_breach, lightgbm with scipy, pandas
    # and pyarrow: ~250 MB a worker that does not detect never needs. Imported at the
    # first detection run instead (`DetectionActivities._watcher`).
    from escalator.detectors.watch import Watcher
    from escalator.detectors.watch_sources import WatchSource
    from escalator.records.watch_states import WatchStateStore

__all__ = ["DetectionActivities", "DetectionSetup"]

log = logging.getLogger("escalator.detection")


@dataclass(frozen=True)
class DetectionSetup:
    """What a worker detects with: its settings' sources, its policies, the records."""

    store: WatchStateStore
    load_policies: Callable[[], PolicySet]
    sources: Callable[[PolicySet], Mapping[str, WatchSource]]
    state_dir: Path  # quarantined rows and predicted_breach models, as `detect --watch`


@dataclass
class _Cached:
    watcher: Watcher
    source: WatchSource
    policy_version: str


class DetectionActivities:
    """One instance per worker: its cache is this replica's."""

    def __init__(self, setup: DetectionSetup | None) -> None:
        self.setup = setup
        self._watchers: dict[str, _Cached] = {}

    @activity.defn(name=ACTIVITY_DETECT)
    async def detect(self, req: DetectionRequest) -> DetectionResult:
        setup = self.setup
        if setup is None:
            raise ApplicationError(
                f"this worker has no detection set up, so it cannot detect {req.journey}; "
                "set ESCALATOR_DETECT_TABLE and ESCALATOR_DETECT_SOURCE on every worker",
                type="DetectionNotConfigured",
                non_retryable=True,
            )
        policies = await asyncio.to_thread(setup.load_policies)
        source = setup.sources(policies).get(req.journey)
        if source is None:
            raise ApplicationError(
                f"journey {req.journey} has no detection source on this worker "
                "(ESCALATOR_DETECT_TABLE does not name it); the next worker start deletes "
                "its schedule, or name it on every worker",
                type="DetectionNotConfigured",
                non_retryable=True,
            )
        owner = f"{activity.info().workflow_id}/{uuid.uuid4().hex[:12]}"
        state = await asyncio.to_thread(
            setup.store.claim,
            source.key,
            journey=source.journey,
            table=source.table,
            owner=owner,
            now=datetime.now(UTC),
            # The lease lasts as long as the run may: then Temporal retries it anyway.
            lease=activity.info().start_to_close_timeout or DETECTION_TIMEOUT,
        )
        if state is None:
            held_by, until = await asyncio.to_thread(setup.store.holder, source.key)
            return DetectionResult(
                journey=req.journey,
                table=source.table,
                skipped=f"another run ({held_by}) holds the watch state until {until}",
            )
        from escalator.records.watch_states import WatchStateRow

        try:
            watcher = await self._watcher(setup, source, policies)
            watcher.resume(state, WatchStateRow(setup.store, source.key, owner))
            report = await watcher.poll_once()
        finally:
            await asyncio.to_thread(setup.store.release, source.key, owner)
        result = DetectionResult(
            journey=req.journey,
            table=source.table,
            rows=report.rows,
            quarantined=report.quarantined,
            raised=report.raised,
            cleared=report.cleared,
            failed=report.failed,
            beaten=report.beaten,
        )
        if report.rows or report.raised or report.cleared or report.failed:
            log.info("%s", result.summary())
        return result

    async def _watcher(
        self, setup: DetectionSetup, source: WatchSource, policies: PolicySet
    ) -> Watcher:
        """This replica's watcher of ``source`` (a new one when the source or the policies
        changed since the last run here)."""
        from escalator.detectors.watch import TemporalSink, WatchConfig, Watcher

        cached = self._watchers.get(source.key)
        if (
            cached is not None
            and cached.source == source
            and cached.policy_version == policies.version
        ):
            cached.watcher.sink = TemporalSink(
                activity.client(), policies, activity.info().task_queue
            )
            return cached.watcher
        if cached is not None:
            cached.watcher.close()
            del self._watchers[source.key]
        journey = next(j for j in policies.journeys if j.name == source.journey)
        config = WatchConfig(
            source_url=source.url,
            table=source.table,
            id_column=source.id_column,
            poll=source.every,
            state_file=None,
            quarantine_file=setup.state_dir / "quarantine" / f"{source.table}.jsonl",
            model_dir=setup.state_dir / "models",
        )
        sink = TemporalSink(activity.client(), policies, activity.info().task_queue)
        # Watcher reflects the table (I/O): off the worker's event loop. Its state comes
        # with each run's claim (resume), never from this process.
        watcher = await asyncio.to_thread(
            Watcher, config, policies, journey, sink, keeper=_NoKeeper()
        )
        self._watchers[source.key] = _Cached(watcher, source, policies.version)
        return watcher


class _NoKeeper:
    """A new watcher's keeper until its first run hands it the claimed row's."""

    def save(self, state: object) -> None:
        raise AssertionError("a detection watcher polled before it was resumed")
