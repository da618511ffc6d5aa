"""`python -m bench`: the benchmarks, one by name or all of them in quick mode.

    python -m bench                        # this list
    python -m bench storm --members 500    # one, as given (= python bench/bench_storm.py ...)
    python -m bench all                    # every one in quick mode (`make bench`)
    python -m bench all detect report      # some of them in quick mode

A full benchmark takes minutes to an hour on a loaded machine; docs/benchmarks.md keeps
the figures measured so far, with their commands. Quick mode (QUICK below) runs each
with small sizes, so that `make bench` shows within minutes that every benchmark still
runs end to end and prints its figures; those figures are not the ones to quote.
"""

from __future__ import annotations

import ast
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Each benchmark's quick-mode arguments. Every bench_*.py needs an entry: the test
# tests/test_bench_main.py fails for one without, so `make bench` never skips a benchmark.
QUICK: dict[str, list[str]] = {
    # the shipped bpic2012 extract against pm4py, 1,000,000 synthetic events
    "mine": ["--events", "1000000", "--repeats", "3", "--pm4py-repeats", "1"],
    # 100 Alertmanager alerts through the receiver, 100 raised straight (the baseline)
    "alerts": ["--alerts", "100"],
    # 10 clicks each way (direct update, through the receiver) and 50 Slack sends
    "channels": ["--exceptions", "10"],
    # the shipped bpic2012 extract against pm4py and rustxes, rules on 500,000 events, watch
    "detect": ["--events", "500000"],
    # a table of 10,000 events, 10 rows raised through the schedule on two replicas
    "detect_schedule": ["--history", "10000", "--rows", "10"],
    # 40 escalations per side (escalation, baseline, minimal workflow), 300 left open
    "escalation": ["--exceptions", "40", "--open", "300"],
    # the fault suite's outage test with 15 s outages; its own figures file, so the long
    # run's (.escalator/faults-figures-long.json, quoted in docs/reliability.md) stays
    "faults": ["--outage", "15", "--out", str(ROOT / ".escalator" / "faults-figures-quick.json")],
    # 300 heartbeat monitors started, then beaten once each
    "heartbeats": ["--monitors", "300"],
    # 20 roles' year of hand-offs; the minute-by-minute baseline on 1 of them for 14 days
    "oncall": ["--roles", "20", "--baseline-roles", "1", "--baseline-days", "14"],
    # the smallest shipped log, whole
    "predict": ["--only", "receipt"],
    # 20,000 records and 100,000 events on SQLite and PostgreSQL; its own work directory
    "report": [
        "--exceptions",
        "20000",
        "--events",
        "100000",
        "--sample",
        "5000",
        "--work",
        "/tmp/escalator-bench-quick",
    ],
    # 60 members: 10 page alone, 50 join the storm, which escalates after 30 s
    "storm": ["--members", "60", "--response", "30"],
}

# A quick run that takes longer than this is stuck (the slowest takes a few minutes).
QUICK_TIMEOUT_S = 20 * 60


def benches() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.splitlines()[0] if doc else ""


def run_quick(name: str) -> tuple[int | None, float]:
    """Run one benchmark in quick mode in its own process; its exit code (None: timed out)
    and the seconds it took. Its output goes straight to ours, as it comes."""
    cmd = [sys.executable, "-m", "bench", name, *QUICK[name]]
    print(f"\n=== bench {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    # Its own session: on a timeout the whole group goes, with the dev server, worker
    # or pytest the benchmark started, not only the benchmark's own process.
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    try:
        code: int | None = proc.wait(QUICK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    except BaseException:  # Ctrl-C: stop what the benchmark started too
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return code, time.perf_counter() - t0


def run_all(names: list[str]) -> int:
    results = {name: run_quick(name) for name in names}
    print("\n=== bench summary (quick mode)")
    for name, (code, seconds) in results.items():
        verdict = (
            "ok" if code == 0 else "failed (timed out)" if code is None else f"failed (exit {code})"
        )
        print(f"bench {name:<11} {verdict:<20} {seconds:6.0f} s", flush=True)
    return 0 if all(code == 0 for code, _ in results.values()) else 1


def main(argv: list[str]) -> int:
    found = benches()
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, path in found.items():
            print(f"  {name:<11} {summary(path)}")
        return 0
    name, *args = argv
    if name == "all":
        unknown = [n for n in args if n not in found]
        if unknown:
            print(f"no benchmark {', '.join(unknown)}; one of: {', '.join(found)}", file=sys.stderr)
            return 2
        return run_all(args or list(found))
    if name not in found:
        print(f"no benchmark {name!r}; one of: {', '.join(found)}", file=sys.stderr)
        return 2
    sys.argv = [str(found[name]), *args]
    runpy.run_path(str(found[name]), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
