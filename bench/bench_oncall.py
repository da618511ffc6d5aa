"""Benchmark: who is on call for every hand-off of a year, for many roles (issue 17).

    .venv/bin/python bench/bench_oncall.py [--roles 1000] [--days 365] [--baseline-roles 20]
        [--baseline-days 365] [--repeat 3]

Each role has a random schedule of two layers (a weekly base rotation around the
clock and a daily layer in weekday office hours on top, each in one of five IANA
zones, with random starts, orders and windows). For each role the year's timeline is
computed: every instant who is on call changes (hand-offs, window edges, daylight
saving). The goal is 1 s for 1,000 roles.

Measured, in the same run:
- the sweep (``escalator.policies.schedule_sweep.sweep``): intervals per layer,
  overlaid by precedence; its answers stay compact (member, layer, shift) until asked;
- the same plus every change made into an ``OnCall`` answer with its reason text, as
  ``timeline`` returns them (what the ``oncall`` CLI prints);
- the baseline, the timeline as it was built before the sweep: the pure ``on_call``
  asked at every candidate edge of each layer, on ``--baseline-roles`` of the same
  roles and scaled to all of them (and from ``--baseline-days`` to ``--days``). The
  sweep's changes are checked against it on those roles.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from escalator.policies.schedule_sweep import sweep
from escalator.policies.schedules import Away, OnCall, Override, Schedule, on_call

ZONES = ["Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
PEOPLE = [f"m{i}" for i in range(8)]


def schedule(rng: random.Random) -> Schedule:
    hour = rng.randint(6, 10)
    return Schedule.model_validate(
        {
            "layers": [
                {
                    "name": "base",
                    "order": rng.sample(PEOPLE, rng.randint(2, 6)),
                    "start": f"2026-01-0{rng.randint(1, 7)}T{rng.randint(0, 23):02d}:00:00",
                    "timezone": rng.choice(ZONES),
                    "handoff_every": "7d",
                },
                {
                    "name": "office",
                    "order": rng.sample(PEOPLE, rng.randint(2, 4)),
                    "start": f"2026-01-05T{hour:02d}:00:00",
                    "timezone": rng.choice(ZONES),
                    "handoff_every": "1d",
                    "windows": [
                        {
                            "days": ["mon", "tue", "wed", "thu", "fri"],
                            "hours": f"{hour:02d}:00-17:00",
                        }
                    ],
                },
            ]
        }
    )


def by_instants(
    s: Schedule, overrides: Sequence[Override | Away], start: datetime, end: datetime
) -> list[tuple[datetime, OnCall]]:
    """The baseline: ``on_call`` at every instant where a layer may change (the timeline
    before the sweep), keeping the changes."""
    edges = {start}
    for layer in s.layers:
        edges.update(layer.edges(start, end))
    for o in overrides:
        edges.update(t for t in (o.starts_at, o.ends_at) if start <= t < end)
    out: list[tuple[datetime, OnCall]] = []
    for t in sorted(edges):
        now = on_call(s, overrides, t)
        if out:
            prev = out[-1][1]
            key = (prev.member, prev.layer, prev.override, prev.skipped)
            if key == (now.member, now.layer, now.override, now.skipped):
                continue
        out.append((t, now))
    return out


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """The best wall-clock and the best CPU seconds of ``repeat`` runs: on a shared machine
    the CPU time says what the work costs, the wall clock what a user waited."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--baseline-roles", type=int, default=20)
    parser.add_argument("--baseline-days", type=int, default=365, help="scaled to --days")
    parser.add_argument("--repeat", type=int, default=3, help="the sweep's best of N runs")
    args = parser.parse_args()
    rng = random.Random(17)
    roles = [schedule(rng) for _ in range(args.roles)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=args.days)
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)

    lines = [sweep(s, [], start, end) for s in roles]  # also warms the zone caches
    changes = sum(len(line) for line in lines)
    ours, ours_cpu = best_of(args.repeat, lambda: [sweep(s, [], start, end) for s in roles])
    print(
        f"sweep: {args.roles} roles x {args.days} days: {changes} changes in {ours:.3f} s "
        f"({ours_cpu:.3f} s CPU)"
    )
    full, full_cpu = best_of(
        args.repeat, lambda: [sweep(s, [], start, end).changes() for s in roles]
    )
    print(f"sweep + OnCall answers with their reasons: {full:.3f} s ({full_cpu:.3f} s CPU)")

    sample = roles[: args.baseline_roles]
    base_end = start + timedelta(days=args.baseline_days)
    w0, c0 = time.perf_counter(), time.process_time()
    expected = [by_instants(s, [], start, base_end) for s in sample]
    scale = args.days / args.baseline_days * args.roles / max(len(sample), 1)
    baseline = (time.perf_counter() - w0) * scale
    baseline_cpu = (time.process_time() - c0) * scale
    for s, want in zip(sample, expected, strict=True):
        got = sweep(s, [], start, base_end).changes()
        assert [(t, w.member, w.layer) for t, w in got] == [
            (t, w.member, w.layer) for t, w in want
        ], "the sweep disagrees with on_call"
    print(
        f"baseline (on_call at every edge, {len(sample)} roles x {args.baseline_days} days "
        f"measured, same changes): {baseline:.1f} s ({baseline_cpu:.1f} s CPU) for "
        f"{args.roles} roles x {args.days} days"
    )
    print(
        f"ratio baseline/sweep: {baseline / ours:.0f}x ({baseline_cpu / ours_cpu:.0f}x CPU); "
        f"baseline/(sweep + answers): {baseline / full:.0f}x ({baseline_cpu / full_cpu:.0f}x CPU)"
    )
    per_1000 = ours * 1000 / args.roles * 365 / args.days
    cpu_1000 = ours_cpu * 1000 / args.roles * 365 / args.days
    verdict = "met" if per_1000 <= 1 else "NOT met"
    scaled = "" if (args.roles, args.days) == (1000, 365) else " (scaled from this run)"
    print(
        f"goal 1 s for 1,000 roles x 365 days: {per_1000:.2f} s wall, {cpu_1000:.2f} s CPU"
        f"{scaled}: {verdict} (wall clock)"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
