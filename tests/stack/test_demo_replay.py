"""The demo replay's clock: onsets on the wall clock, the log time alongside, and a
second run on the same state directory sending the very same detections."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalator.detectors.firing import Firing
from escalator.stack.demo_replay import ReplayClock, replayed_detection
from escalator.worker.routing import LOG_TIME

LOG_ONSET = datetime(2026, 3, 4, 13, 18, tzinfo=UTC)


def test_the_replay_clock_is_the_wall_clock_and_kept_for_a_second_run(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    clock = ReplayClock.of(tmp_path)
    first = clock.reached(0)
    time.sleep(0.01)
    second = clock.reached(1)
    assert before <= first < second <= datetime.now(UTC)
    assert clock.reached(0) == first  # reached once, then kept

    again = ReplayClock.of(tmp_path)  # the next run on this state directory
    assert again.started == clock.started
    assert [again.reached(0), again.reached(1)] == [first, second]
    third = again.reached(2)  # beyond the first run: reached now
    assert third - datetime.now(UTC) < timedelta(seconds=1) and third > second


def test_a_replayed_detection_has_its_onset_on_the_replay_clock_and_its_log_time() -> None:
    firing = Firing(
        rule="payment_pending",
        journey="orderToShip",
        kind="latency",
        subject="o-6183",
        onset=LOG_ONSET,
    )
    wall = datetime(2026, 12, 6, 22, 8, 30, tzinfo=UTC)
    d = replayed_detection(firing, wall)
    assert d.onset == wall and d.detected_at is None  # the workflow stamps its own clock
    assert d.attributes[LOG_TIME] == LOG_ONSET.isoformat()
    assert d.workflow_id == firing.dedupe_key and d.attributes["kind"] == "latency"
