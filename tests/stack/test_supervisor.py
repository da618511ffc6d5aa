"""The supervisor under `up`: the first death is reported, the rest are stopped, stubborn ones killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from stack_helpers import alive

from escalator.stack.processes import Child, Supervisor, describe_exit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# Ignores SIGTERM, as a hung child would; only SIGKILL ends it.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
]


def test_first_death_is_reported_and_the_others_are_stopped() -> None:
    supervisor = Supervisor()
    a = supervisor.start(Child("a", SLEEPER))
    b = supervisor.start(Child("b", SLEEPER))
    try:
        time.sleep(0.3)
        assert supervisor.first_dead() is None
        os.kill(b.pid, signal.SIGKILL)
        dead = supervisor.wait_for_death(poll_seconds=0.05)
        assert dead is b
        assert describe_exit(dead.exit_code() or 0) == "killed by SIGKILL"
        supervisor.stop_all(grace=5)
        assert not alive(a.pid)
        assert a.exit_code() == -signal.SIGTERM
    finally:
        supervisor.stop_all(grace=0.1)


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    supervisor = Supervisor()
    child = supervisor.start(Child("stubborn", STUBBORN))
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    supervisor.stop_all(grace=0.5)
    assert child.exit_code() == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - started < 5
    assert not alive(child.pid)


def test_grandchildren_in_the_childs_group_are_stopped_too() -> None:
    supervisor = Supervisor()
    # The child starts a grandchild and exits; the grandchild stays in the same group.
    spawner = [
        sys.executable,
        "-c",
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        " print(p.pid, flush=True); time = __import__('time'); time.sleep(60)",
    ]
    child = supervisor.start(Child("spawner", spawner, stdout=subprocess.PIPE))
    assert child.process is not None
    assert child.process.stdout is not None
    grandchild = int(child.process.stdout.readline())
    child.process.stdout.close()
    assert alive(grandchild)
    supervisor.stop_all(grace=5)
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)
