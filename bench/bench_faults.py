"""The fault suite's long variants: the same scenarios as tests/faults, with longer faults.

    .venv/bin/python bench/bench_faults.py                  # 90 s provider outages
    .venv/bin/python bench/bench_faults.py --outage 300 --out figures.json

Runs `tests/faults/test_outage_delivery.py` with ESCALATOR_FAULTS_OUTAGE_SECONDS
set (Slack 500, Slack 429 with Retry-After, Twilio 503, each for the whole
span while exceptions are raised and level 2 comes due), on the real worker,
the dev server on a file, PostgreSQL and the fake providers, exactly as the
CI variant does. The figures (faults injected, exceptions, notifications
expected / delivered / duplicated / lost, recorded failed, worst extra delay)
are printed and written as JSON; docs/reliability.md quotes them.
Needs PostgreSQL at 127.0.0.1:5432 (ESCALATOR_FAULTS_PG to change).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=90.0, help="seconds each outage lasts")
    parser.add_argument(
        "--out", type=Path, default=ROOT / ".escalator" / "faults-figures-long.json"
    )
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "ESCALATOR_FAULTS_OUTAGE_SECONDS": f"{args.outage:g}",
        "ESCALATOR_FAULTS_FIGURES": str(args.out),
    }
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "pytest_guard.py"),
        "-m",
        "faults",
        "-q",
        "--tb=native",
        str(ROOT / "tests" / "faults" / "test_outage_delivery.py"),
    ]
    code = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    if args.out.exists():
        print(json.dumps(json.loads(args.out.read_text()), indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
