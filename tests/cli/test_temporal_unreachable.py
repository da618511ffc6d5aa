"""With Temporal unreachable (a closed loopback port), every command that connects prints
one line naming the address and what to check, exit code 3, and never a traceback."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from escalator.cli.errors import EXIT_CODES_HELP, MEANING, ExitCode

ESCALATOR = str(Path(sys.executable).parent / "escalator")
COMMANDS = [
    ("list",),
    ("status", "exc:x"),
    ("ack", "exc:x", "--as", "anna"),
    ("resolve", "exc:x", "--as", "anna", "--note", "done"),
    ("raise", "--journey", "orderToShip", "--rule", "payment_pending", "--subject", "o-1"),
    ("storm", "ack", "storm:x", "--as", "anna"),
    ("storm", "resolve", "storm:x", "--as", "anna", "--note", "done"),
    ("digest", "run", "billing"),
    ("digest", "install"),
    ("snooze", "exc:x", "--as", "anna", "--for", "1h"),
    ("reassign", "exc:x", "--as", "anna", "--to", "billing"),
    ("escalate", "exc:x", "--as", "anna"),
    ("note", "exc:x", "--as", "anna", "--text", "looking"),
    ("worker",),
    (
        "detect",
        "--watch",
        "--journey",
        "orderToShip",
        "--source",
        "sqlite:///ev.db",
        "--table",
        "events",
        "--once",
    ),
]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_unreachable_temporal_is_one_line_and_exit_3(args: tuple[str, ...], tmp_path: Path) -> None:
    address = f"127.0.0.1:{closed_port()}"
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "ESCALATOR_STATE_DIR": str(tmp_path)}
    env.pop("ESCALATOR_POLICY_DIR", None)
    if "--watch" in args:  # a real (empty) event table to watch
        with sqlite3.connect(tmp_path / "ev.db") as db:
            db.execute(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, case_id TEXT, "
                "event_name TEXT, timestamp TEXT, actor TEXT)"
            )
    done = subprocess.run(
        [ESCALATOR, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == ExitCode.TEMPORAL_UNREACHABLE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot reach Temporal at {address}" in lines[0]
    assert "connection refused" in lines[0] and "TEMPORAL_ADDRESS" in lines[0]


def test_exit_codes_are_documented() -> None:
    assert "3 Temporal unreachable" in EXIT_CODES_HELP
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 6, 70]
    assert "5 the local stack could not start" in EXIT_CODES_HELP
    assert "70 unexpected error" in EXIT_CODES_HELP
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    for code, meaning in MEANING.items():  # the README's table says the same as --help
        assert f"| {int(code)} | {meaning}" in readme or (
            code == ExitCode.OK and "| 0 | done" in readme
        ), meaning
    reliability = (root / "docs" / "reliability.md").read_text(encoding="utf-8")
    said = " ".join(reliability.split())  # the paragraph wraps anywhere
    assert (
        "3 Temporal unreachable; 4 no answer within `--timeout`; 5 the local stack could not "
        "start; 6 a provider did not take a message; 70 unexpected error (a bug)"
    ) in said
