"""The real event logs shipped under tests/data (see its README for sources and licences).

Paths resolve from this file, never from the machine; a missing file fails the test
that asks for it (a clone without the data must not pass by skipping).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA", "POLICIES", "log_path"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
POLICIES = ROOT / "escalator" / "policies" / "eventlogs"
# name (= its policy directory) -> the file under tests/data
FILES = {
    "helpdesk": "helpdesk.xes.gz",
    "receipt": "receipt.xes.gz",
    "bpic2013_incidents": "bpic2013_incidents_head1500.xes.gz",
    "bpic2012": "bpic2012_head3500.xes.gz",
}


def log_path(name: str) -> Path:
    path = DATA / FILES[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the test data ships with the repository (git checkout tests/data)"
        )
    return path
