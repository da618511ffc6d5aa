"""Benchmark: the full `escalator report` over 1,000,000 exception records and a
5-million-event log, on SQLite and on PostgreSQL; wall time and peak memory.

    .venv/bin/python bench/bench_report.py [--exceptions 1000000] [--events 5000000]
        [--dialects sqlite,postgres] [--work /tmp/escalator-bench]

The report runs as the real CLI in a fresh process (`escalator report --json
--html ... --log orderToShip=events.parquet`), measured from outside: wall
clock and the child's peak RSS. A second child times the phases. The baseline,
measured in the same run, is the naive way: ORM objects row by row and Python's
statistics module, on a 100,000-row sample, extrapolated linearly to the full
size (it is far too slow to run on all rows).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import polars as pl
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_data import event_log, exceptions_frame, load_postgres, load_sqlite

ROOT = Path(__file__).resolve().parent.parent
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ESCALATOR = str(Path(sys.executable).parent / "escalator")


def run_measured(cmd: list[str], stdout_file: Path | None = None) -> tuple[float, float, float]:
    """Run ``cmd`` in a fresh wrapper process: wall seconds, peak RSS MB and CPU seconds
    (user + system) of the command. CPU time shows the work done even when other
    processes share the cores; wall time is what a user waits."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "out = open(sys.argv[1], 'wb') if sys.argv[1] != '-' else subprocess.DEVNULL\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[2:], stdout=out).returncode\n"
        "wall = time.perf_counter() - t\n"
        "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps([rc, wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime]))\n"
    )
    target = str(stdout_file) if stdout_file else "-"
    res = subprocess.run(
        [sys.executable, "-c", wrapper, target, *cmd], capture_output=True, text=True, check=True
    )
    rc, wall, peak_kb, cpu = json.loads(res.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n{res.stderr}")
    return wall, peak_kb / 1024, cpu


PHASES = r"""
import json, sys, time
from datetime import datetime
from pathlib import Path
t0 = time.perf_counter()
from escalator.analytics.render_html import render_html
from escalator.analytics.report import build_report
from escalator.detectors.readers import read_log
from escalator.policies.loader import load_policies
from escalator.records.frames import load_exceptions
from escalator.records.store import Store
from escalator.settings import Settings
url, log_path, as_of = sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
times = {"imports": time.perf_counter() - t0}
t = time.perf_counter(); journey = load_policies([Settings().policy_dir]).journey("orderToShip"); times["policies"] = time.perf_counter() - t
t = time.perf_counter(); store = Store.open(url); exc = load_exceptions(store.engine); times["load_exceptions"] = time.perf_counter() - t
t = time.perf_counter(); log = read_log(log_path, journey).events; times["read_log"] = time.perf_counter() - t
t = time.perf_counter(); rep = build_report(exc, as_of=as_of, journeys=[journey], logs={journey.name: log}); times["build_report"] = time.perf_counter() - t
t = time.perf_counter(); html = render_html(rep); text = json.dumps(rep, default=str); times["render_html_json"] = time.perf_counter() - t
times["rows"] = exc.height; times["events"] = log.height
print(json.dumps(times))
"""

NAIVE = r"""
import json, statistics, sys, time
from collections import defaultdict
from sqlmodel import Session, select
from escalator.records.engine import make_engine
from escalator.records.tables import ExceptionRecord
url, sample = sys.argv[1], int(sys.argv[2])
engine = make_engine(url)
t = time.perf_counter()
with Session(engine) as session:
    rows = session.exec(select(ExceptionRecord).limit(sample)).all()
    by = defaultdict(list)
    for r in rows:
        if r.resolved_at is not None and r.detected_at is not None:
            by[r.journey].append((r.resolved_at - r.detected_at).total_seconds())
    out = {j: statistics.quantiles(v, n=100, method="inclusive") for j, v in by.items()}
print(json.dumps({"seconds": time.perf_counter() - t, "rows": len(rows)}))
"""


def prepare_db(
    dialect: str, frame: pl.DataFrame, work: Path
) -> tuple[str, float, Callable[[], None] | None]:
    from escalator.records.store import Store

    if dialect == "sqlite":
        path = work / "records.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url, cleanup = f"sqlite:///{path}", cast(Callable[[], None] | None, None)
    else:
        schema = f"bench_report_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_SERVER)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    store = Store.open(url)
    t = time.perf_counter()
    (load_sqlite if dialect == "sqlite" else load_postgres)(store.engine, frame)
    if dialect == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE exceptions"))
    store.close()
    return url, time.perf_counter() - t, cleanup


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exceptions", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--work", type=Path, default=Path("/tmp/escalator-bench"))
    parser.add_argument("--sample", type=int, default=100_000, help="rows for the naive baseline")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(
        f"# bench_report: {args.exceptions:,} exception records, ~{args.events:,} events, as of {AS_OF.date()}"
    )
    print(f"# machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")

    t = time.perf_counter()
    log_path = args.work / "orders.parquet"
    cases = math.ceil(args.events / 5 / 0.99)
    log = event_log(cases, AS_OF)
    log.head(args.events).write_parquet(log_path)
    events = min(log.height, args.events)
    del log
    frame = exceptions_frame(args.exceptions, AS_OF)
    print(f"generated data in {time.perf_counter() - t:.1f} s ({events:,} events)")

    results = []
    for dialect in args.dialects.split(","):
        dialect = "postgresql" if dialect.startswith("postgres") else dialect
        url, load_s, cleanup = prepare_db(dialect, frame, args.work)
        print(f"\n## {dialect}: loaded {args.exceptions:,} rows in {load_s:.1f} s")
        try:
            html = args.work / f"report-{dialect}.html"
            cmd = [ESCALATOR, "report", "--json", "--html", str(html), "--database-url", url,
                   "--as-of", AS_OF.isoformat(), "--log", f"orderToShip={log_path}"]  # fmt: skip
            load_before = os.getloadavg()[0]
            wall, peak, cpu = run_measured(cmd, args.work / f"report-{dialect}.json")
            report = json.loads((args.work / f"report-{dialect}.json").read_text())
            assert report["totals"]["exceptions"] == args.exceptions, report["totals"]
            phases = json.loads(
                subprocess.run([sys.executable, "-c", PHASES, url, str(log_path), AS_OF.isoformat()],
                               capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            )  # fmt: skip
            naive = json.loads(
                subprocess.run([sys.executable, "-c", NAIVE, url, str(args.sample)],
                               capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            )  # fmt: skip
            naive_full = naive["seconds"] * args.exceptions / naive["rows"]
            ours_exc = phases["load_exceptions"] + phases["build_report"]
            print(
                f"full report (CLI, fresh process): {wall:.2f} s wall, {cpu:.2f} s CPU, "
                f"peak RSS {peak:.0f} MB (1-min load average before: {load_before:.1f})"
            )
            print(
                "phases (s): "
                + ", ".join(
                    f"{k} {v:.2f}" for k, v in phases.items() if k not in ("rows", "events")
                )
            )
            print(
                f"baseline (ORM rows + statistics, TTR percentiles by journey only): {naive['seconds']:.2f} s "
                f"for {naive['rows']:,} rows -> ~{naive_full:.1f} s for {args.exceptions:,} (extrapolated)"
            )
            print(
                f"ratio baseline / ours (exceptions part: load + every figure): {naive_full / ours_exc:.1f}x"
            )
            results.append({"dialect": dialect, "wall_s": wall, "cpu_s": cpu, "peak_mb": peak,
                            "loadavg": load_before, "load_s": load_s,
                            "phases": phases, "baseline_extrapolated_s": naive_full})  # fmt: skip
        finally:
            if cleanup:
                cleanup()
    (args.work / "results.json").write_text(json.dumps(results, indent=2))
    print("\n| database | full report wall (s) | CPU (s) | peak RSS (MB) | load avg | goal |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ok = r["wall_s"] <= 10 and r["peak_mb"] <= 2048
        print(
            f"| {r['dialect']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_mb']:.0f} | "
            f"{r['loadavg']:.1f} | {'met' if ok else 'MISSED'} (<= 10 s, <= 2048 MB) |"
        )


if __name__ == "__main__":
    main()
