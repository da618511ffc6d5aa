"""Mining benchmark: variants + directly-follows graph + performance graph vs pm4py, and 10 M events.

    .venv/bin/pip install -e '.[bench]'      # pm4py (AGPL): the baseline here only
    .venv/bin/python bench/bench_mine.py [--log FILE] [--events 10000000] [--skip-pm4py] [--skip-synthetic]

Goals (issue 15): on bpic2012, escalator's variants + directly-follows graph (counts)
+ performance graph (waiting time per edge: median, p90, mean, total) at least 10x
faster than pm4py's ``get_variants`` + ``discover_dfg`` + ``discover_performance_dfg``
on the same events, measured side by side in one run (best of n, interleaved; the
ratio is the figure), once on the frame pm4py's functions take (sorted by case) and
once on the log in the reader's time order (see bench_pm4py); 10 M synthetic events in <= 30 s with peak RSS <= 4 GB (its own
process, so the peak is its own). Both sides start from events already in memory
(reading the log is bench_detect's subject); the two results are compared (variant
counts, edge counts, mean waits) before any figure is printed. The figures in
docs/benchmarks.md are for the whole bpic2012 log, given with --log.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalator.analytics.mining.frame import CaseLog, activity_lists, case_log  # noqa: E402
from escalator.analytics.mining.paths import directly_follows, variants  # noqa: E402
from escalator.detectors.events import CASE, EVENT, LINE, TS  # noqa: E402
from escalator.detectors.readers import read_log  # noqa: E402

DEFAULT_LOG = ROOT / "tests" / "data" / "bpic2012_head3500.xes.gz"


def ours(events: pl.DataFrame) -> tuple[CaseLog, pl.DataFrame, dict[str, Any]]:
    """What `mine` computes for these three tables, nothing more: every variant (its
    activities as codes into the log's names), the JSON rows of the top 50 as `mine`
    shows them, the graph with its waiting times as JSON."""
    log = case_log(events, None)
    table, _ = variants(log, 50)
    return log, table, directly_follows(log)


def theirs(df: Any) -> tuple[Any, Any, Any]:
    import pm4py  # AGPL: benchmark baseline only

    keys = {
        "case_id_key": "case:concept:name",
        "activity_key": "concept:name",
        "timestamp_key": "time:timestamp",
    }
    return (
        pm4py.get_variants(df, **keys),
        pm4py.discover_dfg(df, **keys),
        pm4py.discover_performance_dfg(df, **keys),
    )


def pandas_frame(events: pl.DataFrame) -> Any:
    """The events as a pandas frame with pm4py's column names, in the frame's row order."""
    return events.select(
        pl.col(CASE).alias("case:concept:name"),
        pl.col(EVENT).alias("concept:name"),
        pl.col(TS).alias("time:timestamp"),
    ).to_pandas()


def formatted(df: Any) -> Any:
    """pm4py's own preparation: checks the columns and sorts by case and time."""
    import pm4py

    return pm4py.format_dataframe(
        df,
        case_id="case:concept:name",
        activity_key="concept:name",
        timestamp_key="time:timestamp",
    )


def agree(
    log: CaseLog, table: pl.DataFrame, dfg: dict[str, Any], pm: tuple[Any, Any, Any]
) -> dict[str, int]:
    """Both sides found the same variants, edges and mean waits (assert, then counts)."""
    pm_variants, (pm_dfg, _, _), (pm_perf, _, _) = pm
    traces = activity_lists(table["acts"], log.activities)
    got_v = {tuple(t): c for t, c in zip(traces, table["count"].to_list(), strict=True)}
    want_v = {tuple(k): v for k, v in pm_variants.items()}
    assert got_v == want_v, f"variants differ: {len(got_v)} vs {len(want_v)}"
    got_e = {(e["source"], e["target"]): e for e in dfg["edges"]}
    assert {k: e["count"] for k, e in got_e.items()} == dict(pm_dfg), "edge counts differ"
    for k, perf in pm_perf.items():
        mean = perf["mean"] if isinstance(perf, dict) else perf
        assert abs(got_e[k]["mean_wait_s"] - mean) <= 1e-6 * max(1.0, abs(mean)), k
    return {"variants": len(got_v), "edges": len(got_e)}


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds (all threads: the work done, whatever else the machine runs)."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def bench_pm4py(log: Path, repeats: int, pm4py_repeats: int) -> dict[str, Any]:
    """Two comparisons of the same events, interleaved. "case order": both sides get the
    frame pm4py's three functions take (sorted by case, time, line; pm4py's frame made
    by its format_dataframe, not timed). "time order": both get the log as the reader
    hands it over (in time order, cases interleaved); escalator orders it itself, pm4py's
    time includes format_dataframe, which does the same."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    # The columns both sides use: pm4py gets these three, escalator these and the line.
    by_time = read_log(log).events.select(CASE, EVENT, TS, LINE)
    by_case = by_time.sort(CASE, TS, LINE)
    df = formatted(pandas_frame(by_case))
    raw = pandas_frame(by_time)
    sides: dict[str, Callable[[], Any]] = {
        "escalator, case order": lambda: ours(by_case),
        "escalator, time order": lambda: ours(by_time),
        "pm4py, case order": lambda: theirs(df),
        "pm4py, time order": lambda: theirs(formatted(raw)),
    }
    wall: dict[str, list[float]] = {k: [] for k in sides}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    results: dict[str, Any] = {}
    load_before = os.getloadavg()[0]
    for i in range(repeats):  # interleaved: a load change hits both sides alike
        for name, fn in sides.items():
            if name.startswith("pm4py") and i >= pm4py_repeats:
                continue
            t, c, results[name] = timed(fn)
            wall[name].append(t)
            cpu[name].append(c)
    load_after = os.getloadavg()[0]
    for order in ("case order", "time order"):
        log_, table, dfg = results[f"escalator, {order}"]
        sizes = agree(log_, table, dfg, results[f"pm4py, {order}"])
    best = {k: min(v) for k, v in wall.items()}
    best_cpu = {k: min(v) for k, v in cpu.items()}
    out: dict[str, Any] = {
        "log": log.name,
        "events": by_time.height,
        "cases": by_time[CASE].n_unique(),
        **sizes,
        "wall_s": best,
        "cpu_s": best_cpu,
        "load": [load_before, load_after],
    }
    print(
        f"mine: {log.name}, {out['events']} events, {out['cases']} cases, "
        f"{out['variants']} variants, {out['edges']} edges (same on both sides, both orders); "
        f"best of {repeats} (escalator) and {pm4py_repeats} (pm4py); load {load_before:.2f} "
        f"before, {load_after:.2f} after, {os.cpu_count()} cores",
        flush=True,
    )
    for order in ("case order", "time order"):
        mine_s, pm_s = best[f"escalator, {order}"], best[f"pm4py, {order}"]
        mine_c, pm_c = best_cpu[f"escalator, {order}"], best_cpu[f"pm4py, {order}"]
        out[f"ratio, {order}"] = pm_s / mine_s
        out[f"cpu ratio, {order}"] = pm_c / mine_c
        print(
            f"  {order}: escalator {mine_s:.4f}s (CPU {mine_c:.4f}s), pm4py {pm_s:.4f}s "
            f"(CPU {pm_c:.4f}s): ratio {pm_s / mine_s:.1f}x (goal >= 10x), CPU "
            f"{pm_c / mine_c:.1f}x",
            flush=True,
        )
    return out


def synthetic(n: int, per_case: int = 10, activities: int = 20, seed: int = 7) -> pl.DataFrame:
    """``n`` events, ``per_case`` a case, over ``activities`` names: each case walks a
    mostly fixed path with random detours (so there are many variants and edges), one
    event every 1-3600 s, cases starting over a year."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cases = n // per_case
    step = np.arange(n) % per_case
    detour = rng.random(n) < 0.15
    act = np.where(detour, rng.integers(0, activities, n), step % activities)
    gaps = rng.integers(1, 3600, n)
    start = rng.integers(0, 365 * 86400, cases).repeat(per_case)
    within = np.cumsum(gaps.reshape(cases, per_case), axis=1).ravel()
    epoch = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    names = np.array([f"activity_{i:02d}" for i in range(activities)])
    frame = pl.DataFrame(
        {
            CASE: pl.Series(np.arange(n) // per_case).cast(pl.String),
            EVENT: pl.Series(names[act]).cast(pl.Categorical).cast(pl.String),
            TS: pl.Series((epoch + start + within) * 1_000_000).cast(pl.Datetime("us", "UTC")),
            LINE: pl.Series(np.arange(n) + 1),
        }
    )
    # in time order, cases interleaved, as the readers hand a log to the detectors
    return frame.sort(TS).with_columns(pl.int_range(1, n + 1).alias(LINE))


def synthetic_child(n: int) -> None:
    """In its own process: build the events, time the mining, print a JSON line."""
    t = time.perf_counter()
    events = synthetic(n)
    built = time.perf_counter() - t
    took, cpu, (_, table, dfg) = timed(lambda: ours(events))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "events": events.height,
                "cases": events[CASE].n_unique(),
                "variants": table.height,
                "edges": len(dfg["edges"]),
                "build_s": built,
                "mine_s": took,
                "mine_cpu_s": cpu,
                "peak_rss_bytes": peak,
            }
        )
    )


def bench_synthetic(n: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    res = subprocess.run(
        [sys.executable, __file__, "--synthetic-child", "--events", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    out["load"] = [load_before, os.getloadavg()[0]]
    gb = out["peak_rss_bytes"] / 2**30
    print(
        f"mine synthetic: {out['events']:,} events, {out['cases']:,} cases, "
        f"{out['variants']:,} variants, {out['edges']} edges; mined in {out['mine_s']:.1f}s "
        f"({out['mine_cpu_s']:.1f} CPU s) "
        f"(goal <= 30 s; building the frame {out['build_s']:.1f}s not counted), peak RSS "
        f"{gb:.2f} GB of the whole process (goal <= 4 GB; load {load_before:.2f} before, "
        f"{out['load'][1]:.2f} after)",
        flush=True,
    )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--log", type=Path, default=DEFAULT_LOG, help="XES (or any) log for pm4py")
    p.add_argument("--events", type=int, default=10_000_000, help="synthetic events")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--pm4py-repeats", type=int, default=3)
    p.add_argument("--skip-pm4py", action="store_true")
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--synthetic-child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.synthetic_child:
        synthetic_child(a.events)
        return
    summary: dict[str, Any] = {}
    if not a.skip_pm4py:
        summary["pm4py"] = bench_pm4py(a.log, a.repeats, a.pm4py_repeats)
    if not a.skip_synthetic:
        summary["synthetic"] = bench_synthetic(a.events)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
