"""`escalator demo`: every step reports truthfully, and the exit status follows the steps."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest
from demo_checks import check_demo_report
from stack_helpers import Running, free_port, processes_mentioning

from workers.demo import STEPS, _cli_has

pytestmark = pytest.mark.temporal

SUMMARY_LINE = re.compile(r"^  \[(ok|FAILED|not built yet|skipped)\] (.*?): ")


def _demo(tmp_path: Path, *extra: str) -> Running:
    port, ui_port = free_port(), free_port()
    args = ["demo", "--port", str(port), "--ui-port", str(ui_port), "--state-dir", str(tmp_path)]
    return Running([*args, *extra])


async def test_demo_exit_runs_every_step_and_stops_everything(tmp_path: Path) -> None:
    demo = _demo(tmp_path, "--exit")
    try:
        code = await asyncio.to_thread(demo.finish, 120)
    finally:
        demo.kill()
    outcomes = {m.group(2): m.group(1) for line in demo.lines if (m := SUMMARY_LINE.match(line))}
    assert list(outcomes) == [step.title for step in STEPS], demo.output
    assert outcomes["Start the local stack (escalator up)"] == "ok", demo.output
    assert outcomes["Temporal server answers"] == "ok", demo.output
    assert outcomes["Temporal Web UI answers"] == "ok", demo.output
    if _cli_has("policy", "check"):
        # The shipped starter template must load: this is what a newcomer sees first.
        assert outcomes["Check the shipped policy set"] == "ok", demo.output
    else:
        assert outcomes["Check the shipped policy set"] == "not built yet"
    broken = [t for t, o in outcomes.items() if o in ("FAILED", "not built yet")]
    assert code == (1 if broken else 0), demo.output
    assert broken == [], demo.output  # the whole loop worked
    check_demo_report(tmp_path, demo.output)
    assert "Stopped everything the demo started." in demo.output
    assert processes_mentioning(str(tmp_path)) == []


async def test_demo_without_exit_stays_up_until_interrupted(tmp_path: Path) -> None:
    demo = _demo(tmp_path)
    try:
        await asyncio.to_thread(demo.wait_for, r"The stack stays up; Ctrl-C stops it", 120)
        # Interrupt only once supervision has begun (it prints this), not in the gap before.
        await asyncio.to_thread(demo.wait_for, r"Running\. Press Ctrl-C", 30)
        assert processes_mentioning(str(tmp_path)), "the dev server should be running"
        demo.signal(signal.SIGINT)
        await asyncio.to_thread(demo.finish)
    finally:
        demo.kill()
    assert "Stopped." in demo.output
    assert processes_mentioning(str(tmp_path)) == []


async def test_a_broken_step_fails_the_demo_but_the_others_still_run(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "broken.yaml").write_text("journeys:\n  - name: x\n    bogus: 1\n")
    state = tmp_path / "state"
    port, ui_port = free_port(), free_port()
    args = ["demo", "--exit", "--port", str(port), "--ui-port", str(ui_port)]
    demo = Running([*args, "--state-dir", str(state)], env={"ESCALATOR_POLICY_DIR": str(policies)})
    try:
        code = await asyncio.to_thread(demo.finish, 120)
    finally:
        demo.kill()
    outcomes = {m.group(2): m.group(1) for line in demo.lines if (m := SUMMARY_LINE.match(line))}
    assert code == 1, demo.output
    if _cli_has("policy", "check"):
        assert outcomes["Check the shipped policy set"] == "FAILED"
        assert "broken.yaml:3: journeys[0].bogus" in demo.output
    assert outcomes["Temporal server answers"] == "ok", demo.output
    assert processes_mentioning(str(state)) == []
