"""`escalator detect --watch`: poll a SQL event table, evaluate as of now, raise and clear.

Each poll reads the rows after the watermark, evaluates the journey's rules over all
events seen (as of the clock), then:

* raises every firing whose condition holds now and whose dedupe key is not open;
* raises, then clears, an episode that began and ended between two polls (after the
  watch first started), so a short burst is not lost;
* clears every open key whose condition no longer holds (the case left the state,
  the window recovered), with the moment it stopped holding.

Raising goes through an :class:`ExceptionSink` (Temporal in production,
:func:`escalator.client.raise_exception`); a failed raise is retried on the next
poll, and the state is written after every poll (a file for `escalator detect --watch`,
the records for detection on Temporal), so a restart resumes without raising anything
twice.

The events read so far stay in memory between polls. A watcher handed a state whose
watermark is not the one it read to (:meth:`Watcher.resume`: another replica polled
meanwhile, or a poll failed before its state was kept) forgets them and reads the table
from the start again, so memory never decides what is raised or cleared.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import polars as pl

from escalator.detectors.evaluate import ModelUse, evaluate
from escalator.detectors.events import EVENT, LINE, Quarantine, canonicalize, empty_events
from escalator.detectors.firing import Firing
from escalator.detectors.prediction.model_file import ModelFile
from escalator.detectors.sql_source import SqlSource, Watermark
from escalator.detectors.watch_state import StateKeeper, WatchFile, WatchState
from escalator.policies.heartbeats import Heartbeat
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import PredictedBreachRule

if TYPE_CHECKING:
    from temporalio.client import Client

__all__ = ["ExceptionSink", "PollReport", "TemporalSink", "WatchConfig", "Watcher"]

log = logging.getLogger("escalator.watch")


class ExceptionSink(Protocol):
    async def raise_(self, firing: Firing, detected_at: datetime) -> None: ...

    async def clear(self, journey: str, rule: str, subject: str, at: datetime) -> None: ...


class TemporalSink:
    """Raise through the EscalationWorkflow (signal-with-start on the dedupe key)."""

    def __init__(self, client: Client, policies: PolicySet, task_queue: str) -> None:
        self.client, self.policies, self.task_queue = client, policies, task_queue

    async def raise_(self, firing: Firing, detected_at: datetime) -> None:
        from escalator.client import raise_exception

        await raise_exception(
            self.client,
            firing.to_detection(detected_at),
            policies=self.policies,
            task_queue=self.task_queue,
            # Kept by Temporal is enough: never wait on a worker (it may be down for hours).
            outcome_within=timedelta(0),
        )

    async def clear(self, journey: str, rule: str, subject: str, at: datetime) -> None:
        from escalator.client import clear_condition

        await clear_condition(
            self.client, journey, rule, subject, at=at, reason="condition cleared by detector"
        )

    async def beat(self, heartbeat: Heartbeat) -> None:
        from escalator.client import beat_heartbeat

        await beat_heartbeat(
            self.client, heartbeat, self.policies, task_queue=self.task_queue, source="events"
        )


@dataclass
class WatchConfig:
    source_url: str
    table: str
    state_file: Path | None  # None: the state is kept elsewhere (a keeper is given)
    quarantine_file: Path
    id_column: str = "id"
    poll: timedelta = timedelta(seconds=1)
    assume_timezone: str | None = None
    batch: int = 50_000
    model_dir: Path | None = None  # predicted_breach models: <model_dir>/<journey>.json


@dataclass
class PollReport:
    rows: int = 0
    quarantined: int = 0
    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    beaten: list[str] = field(default_factory=list)  # heartbeats the new events beat


def _occurrence(f: Firing) -> str:
    return f"{f.dedupe_key}@{f.onset.isoformat()}"


class Watcher:
    def __init__(
        self,
        config: WatchConfig,
        policies: PolicySet,
        journey: Journey,
        sink: ExceptionSink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        keeper: StateKeeper | None = None,
        state: WatchState | None = None,
    ) -> None:
        """The state comes from ``config.state_file`` unless a ``keeper`` (where polls
        write it) and the ``state`` it holds now are given."""
        self.config, self.policies, self.journey, self.sink = config, policies, journey, sink
        self.clock = clock
        if keeper is None:
            if config.state_file is None:
                raise ValueError("a Watcher needs a state file or a keeper")
            keeper = WatchFile(config.state_file)
            state = keeper.load(clock())
        self.keeper: StateKeeper = keeper
        self.state = state if state is not None else WatchState(started_at=clock())
        self.source = SqlSource(
            config.source_url,
            config.table,
            timestamp_column=journey.columns.timestamp,
            id_column=config.id_column,
            batch=config.batch,
        )
        self.events = empty_events()
        self._loaded_history = False
        self._read_to: Watermark | None = None  # the watermark self.events reach
        self.model_files = _model_files(config, policies, journey)

    def resume(self, state: WatchState, keeper: StateKeeper) -> None:
        """Poll on from ``state`` (kept by ``keeper``). The events in memory are kept only
        if they were read exactly up to its watermark; otherwise the next poll reads the
        table from the start."""
        if not (self._loaded_history and state.watermark == self._read_to):
            self.events = empty_events()
            self._loaded_history = False
        self.state, self.keeper = state, keeper

    def _read(self) -> tuple[pl.DataFrame, Quarantine]:
        """New rows as canonical events; on the first poll, the whole table (history)."""
        persisted = self.state.watermark
        start = persisted if self._loaded_history else None
        raw, wm = self.source.read_after(start)
        q = Quarantine(f"{self.config.source_url}#{self.config.table}")
        result = canonicalize(
            raw,
            self.journey.columns,
            source=q.source,
            declared_events=self.journey.events,
            assume_timezone=self.config.assume_timezone or self.journey.timezone,
            quarantine=q,
        )
        if not self._loaded_history and persisted is not None:
            # History re-read after a restart: its bad rows were quarantined before.
            q.rows = [r for r in q.rows if isinstance(r["line"], int) and r["line"] > persisted.id]
        self._loaded_history = True
        if wm is not None:
            self.state.watermark = wm
        self._read_to = self.state.watermark
        return result.events, q

    async def poll_once(self) -> PollReport:
        events, quarantine = await asyncio.to_thread(self._read)
        report = PollReport(rows=events.height + len(quarantine), quarantined=len(quarantine))
        if len(quarantine):
            quarantine.write(self.config.quarantine_file, append=True)
        if events.height:
            self.events = pl.concat([self.events, events], how="diagonal_relaxed").sort(
                "timestamp", LINE
            )
            await self._beat(events, report)
        now = self.clock()
        models = self._models()
        # Off the event loop: inside a worker, the loop also runs workflow tasks.
        results = await asyncio.to_thread(
            evaluate, self.events, self.policies, self.journey, as_of=now, models=models
        )
        firings = [f for r in results for f in r.firings()]
        holding = {f.dedupe_key: f for f in firings if f.cleared_at is None}
        for key, f in holding.items():
            if key not in self.state.open and await self._raise(f, now, report):
                self.state.open[key] = {"journey": f.journey, "rule": f.rule, "subject": f.subject}
        # Episodes that started and ended since the watch began, never raised yet.
        for f in firings:
            if (
                f.cleared_at is not None
                and f.onset >= self.state.started_at
                and _occurrence(f) not in self.state.raised
                and f.dedupe_key not in holding
                and f.dedupe_key not in self.state.open
                and await self._raise(f, now, report)
            ):
                self.state.open[f.dedupe_key] = {
                    "journey": f.journey,
                    "rule": f.rule,
                    "subject": f.subject,
                }
        last_clear = {f.dedupe_key: f.cleared_at for f in firings if f.cleared_at is not None}
        fired = {f.dedupe_key for f in firings}
        for key in [k for k in self.state.open if k not in holding]:
            meta = self.state.open[key]
            if key in last_clear:
                at = last_clear[key] or now
            elif key not in fired and self._clears_itself(meta["rule"]):
                # A late row (a case that left the state before the threshold, written
                # after it was raised) leaves no firing at all: the condition never held on
                # the events as they are now, so it no longer holds.
                at = now
            else:
                continue  # completeness/conformance: holds until a person resolves it
            try:
                await self.sink.clear(meta["journey"], meta["rule"], meta["subject"], at)
            except Exception as exc:  # retried next poll; one failure never stops the loop
                log.warning("clearing %s failed: %s", key, exc)
                report.failed.append(key)
                continue
            del self.state.open[key]
            report.cleared.append(key)
        await asyncio.to_thread(self.keeper.save, self.state)
        return report

    def _clears_itself(self, rule_name: str) -> bool:
        """Whether the rule's firings end by themselves (a case leaves the state, a window
        recovers); completeness and conformance hold until a person resolves them, and a
        rule no longer in the policy is left to its owners."""
        rule = next((r for r in self.policies.rules if r.name == rule_name), None)
        return rule is not None and rule.kind not in ("completeness", "conformance")

    async def _beat(self, events: pl.DataFrame, report: PollReport) -> None:
        """New events of this journey beat its heartbeats (those naming the journey, and
        one of the new events' names when they list events). A sink without beats
        (a test's recorder) is left alone; a failed beat is logged, the next poll beats."""
        beat = getattr(self.sink, "beat", None)
        mine = [h for h in self.policies.heartbeats if h.journey == self.journey.name]
        if beat is None or not mine:
            return
        seen = set(events.get_column(EVENT).unique().to_list())
        for heartbeat in mine:
            if heartbeat.events and not seen & set(heartbeat.events):
                continue
            try:
                await beat(heartbeat)
                report.beaten.append(heartbeat.name)
            except Exception as exc:  # retried at the next poll with new events
                log.warning("heartbeat %s not beaten: %s", heartbeat.name, exc)

    def _models(self) -> dict[str, ModelUse]:
        """The saved models, re-read when their file changed since the last poll."""
        uses = {}
        for name, model_file in self.model_files.items():
            predictor = model_file.current()
            if predictor is not None:
                uses[name] = ModelUse(predictor)
        return uses

    async def _raise(self, f: Firing, now: datetime, report: PollReport) -> bool:
        occurrence = _occurrence(f)
        if occurrence in self.state.raised:
            return True
        try:
            await self.sink.raise_(f, now)
        except Exception as exc:  # retried next poll
            log.warning("raising %s failed: %s", f.dedupe_key, exc)
            report.failed.append(f.dedupe_key)
            return False
        self.state.raised.add(occurrence)
        report.raised.append(f.dedupe_key)
        return True

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> None:
        while True:
            started = asyncio.get_running_loop().time()
            report = await self.poll_once()
            if report.rows or report.raised or report.cleared or report.failed:
                print(
                    f"watch: {report.rows} rows ({report.quarantined} quarantined), "
                    f"raised {len(report.raised)}, cleared {len(report.cleared)}, "
                    f"failed {len(report.failed)}",
                    file=sys.stderr,
                    flush=True,
                )
            if once or (stop is not None and stop.is_set()):
                return
            spent = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(self.config.poll.total_seconds() - spent, 0.0))

    def close(self) -> None:
        self.source.close()


def _model_files(
    config: WatchConfig, policies: PolicySet, journey: Journey
) -> dict[str, ModelFile]:
    """One reloading model file per predicted_breach rule of the journey (shared by path)."""
    files: dict[Path, ModelFile] = {}
    out: dict[str, ModelFile] = {}
    for rule in policies.rules:
        if rule.journey != journey.name or not isinstance(rule, PredictedBreachRule):
            continue
        if rule.model:
            path = Path(rule.model)
        elif config.model_dir is not None:
            path = config.model_dir / f"{journey.name}.json"
        else:
            continue
        if path not in files:
            files[path] = ModelFile(path, journey, business_hours=journey.calendar is not None)
        out[rule.name] = files[path]
    return out
