"""`escalator demo`: every step reports truthfully, and the exit status follows the steps."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest
from demo_checks import check_demo_report
from stack_helpers import Running, free_port, processes_mentioning

from escalator.stack.demo import STEPS

pytestmark = pytest.mark.temporal

SUMMARY_LINE = re.compile(r"^  \[(ok|FAILED|skipped)\] (.*?): ")


def _demo(tmp_path: Path, *extra: str) -> Running:
    port, ui_port = free_port(), free_port()
    args = ["demo", "--port", str(port), "--ui-port", str(ui_port), "--state-dir", str(tmp_path)]
    return Running([*args, *extra])


def _outcomes(demo: Running) -> dict[str, str]:
    return {m.group(2): m.group(1) for line in demo.lines if (m := SUMMARY_LINE.match(line))}


async def test_demo_runs_every_step_stays_up_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    """`make demo` as a newcomer runs it: the whole loop, then the stack stays up."""
    demo = _demo(tmp_path)
    try:
        await asyncio.to_thread(demo.wait_for, r"The stack stays up; Ctrl-C stops it", 150)
        # Interrupt only once supervision has begun (it prints this), not in the gap before.
        await asyncio.to_thread(demo.wait_for, r"Running\. Press Ctrl-C", 30)
        outcomes = _outcomes(demo)
        assert list(outcomes) == [step.title for step in STEPS], demo.output
        assert outcomes["Start the local stack (escalator up)"] == "ok", demo.output
        assert outcomes["Temporal server answers"] == "ok", demo.output
        assert outcomes["Temporal Web UI answers"] == "ok", demo.output
        # The shipped starter template must load: this is what a newcomer sees first.
        assert outcomes["Check the shipped policy set"] == "ok", demo.output
        broken = [t for t, o in outcomes.items() if o == "FAILED"]
        assert broken == [], demo.output  # the whole loop worked
        check_demo_report(tmp_path, demo.output)
        assert processes_mentioning(str(tmp_path)), "the dev server should be running"
        demo.signal(signal.SIGINT)
        code = await asyncio.to_thread(demo.finish)
    finally:
        demo.kill()
    assert code == 0, demo.output  # every step worked
    assert "Stopped." in demo.output
    assert processes_mentioning(str(tmp_path)) == []


# The demo with its loop steps left out (they run in the test above): the real command,
# the real stack, the --exit path, in seconds instead of a minute and a half.
WITHOUT_THE_LOOP = (
    "import sys; import escalator.stack.demo as d; from escalator.stack.demo_loop import LOOP_STEPS; "
    "d.STEPS[:] = [s for s in d.STEPS if s not in LOOP_STEPS]; "
    "from escalator.cli.main import main; sys.argv[0] = 'escalator'; main()"
)


async def test_a_broken_step_fails_the_demo_the_others_run_and_exit_stops_everything(
    tmp_path: Path,
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "broken.yaml").write_text("journeys:\n  - name: x\n    bogus: 1\n")
    state = tmp_path / "state"
    port, ui_port = free_port(), free_port()
    args = ["demo", "--exit", "--port", str(port), "--ui-port", str(ui_port)]
    demo = Running(
        [*args, "--state-dir", str(state)],
        env={"ESCALATOR_POLICY_DIR": str(policies)},
        command=[sys.executable, "-c", WITHOUT_THE_LOOP],
    )
    try:
        code = await asyncio.to_thread(demo.finish, 120)
    finally:
        demo.kill()
    outcomes = _outcomes(demo)
    assert code == 1, demo.output
    assert outcomes["Check the shipped policy set"] == "FAILED", demo.output
    assert "broken.yaml:3: journeys[0].bogus" in demo.output
    # The steps after the broken one still ran, and worked.
    assert outcomes["Start the local stack (escalator up)"] == "ok", demo.output
    assert outcomes["Temporal server answers"] == "ok", demo.output
    assert outcomes["Temporal Web UI answers"] == "ok", demo.output
    assert "Stopped everything the demo started." in demo.output
    assert processes_mentioning(str(state)) == []
