"""Benchmark: who is on call for every hand-off of a year, for many roles (issue 17).

    .venv/bin/python bench/bench_oncall.py [--roles 1000] [--days 365] [--baseline-roles 5]
        [--baseline-days 365]

Each role has a random schedule of two layers (a weekly base rotation around the
clock and a daily layer in weekday office hours on top, each in one of five IANA
zones, with random starts, orders and windows). For each role the year's timeline is
computed: every instant who is on call changes (hand-offs, window edges, daylight
saving), each answered by the pure ``on_call``. The goal is 1 s for 1,000 roles.

The baseline, measured in the same run on ``--baseline-roles`` of the same roles and
scaled to all of them (and from ``--baseline-days`` to ``--days``), asks ``on_call`` every minute of the year and keeps the
changes: the naive way, exact only to the minute.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta

from escalator.policies.schedules import Schedule, on_call, timeline

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


def naive(s: Schedule, start: datetime, end: datetime) -> int:
    changes, last, t = 0, object(), start
    while t < end:
        who = on_call(s, [], t).member
        if who != last:
            changes, last = changes + 1, who
        t += timedelta(minutes=1)
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--baseline-roles", type=int, default=5)
    parser.add_argument("--baseline-days", type=int, default=365, help="scaled to --days")
    args = parser.parse_args()
    rng = random.Random(17)
    roles = [schedule(rng) for _ in range(args.roles)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=args.days)
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)

    t0 = time.perf_counter()
    changes = sum(len(timeline(s, [], start, end)) for s in roles)
    ours = time.perf_counter() - t0
    print(f"timeline: {args.roles} roles x {args.days} days: {changes} changes in {ours:.2f} s")

    sample = roles[: args.baseline_roles]
    t0 = time.perf_counter()
    for s in sample:
        naive(s, start, start + timedelta(days=args.baseline_days))
    per_role = (time.perf_counter() - t0) / max(len(sample), 1) * args.days / args.baseline_days
    scaled = per_role * args.roles
    print(f"baseline (every minute): {per_role:.2f} s per role, {scaled:.0f} s for {args.roles}")
    print(f"ratio baseline/timeline: {scaled / ours:.0f}x")
    if args.roles >= 1000 and args.days >= 365:
        print(f"goal 1 s for 1,000 roles x 365 days: {'met' if ours <= 1 else 'NOT met'}")
    else:
        per_1000 = ours * 1000 / args.roles * 365 / args.days
        print(f"goal 1 s for 1,000 roles x 365 days: {per_1000:.0f} s scaled from this run")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
