"""`escalator raise | list | status | ack | resolve | worker`: exceptions from a shell.

For scripts and operators. Every command connects to TEMPORAL_ADDRESS; `raise`
resolves the rule's policy from ESCALATOR_POLICY_DIR and is idempotent on the
dedupe key (it prints the workflow id). Refused responses print the reason the
workflow gave and exit 1; unusable input exits 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from detectors.raising import exception_handle, raise_exception
from policies.errors import PolicyError
from policies.loader import load_policies
from policies.snapshot import snapshot
from workers.cli_errors import ExitCode, leave
from workers.cli_temporal import unreachable_line
from workers.settings import Settings
from workers.temporal_outage import unreachable_reason
from workflows import search_attributes as sa
from workflows.contracts import (
    ESCALATION_WORKFLOW,
    AcknowledgeInput,
    Detection,
    ExceptionStatus,
    ResolveInput,
    UpdateResult,
)

__all__ = ["register"]

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
STATES = ("open", "acknowledged", "snoozed", "resolved")


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("raise")(raise_command)
    app.command("list")(list_command)
    app.command("status")(status_command)
    app.command("ack")(ack_command)
    app.command("resolve")(resolve_command)
    app.command("worker")(worker_command)


_sdk_used = False


def _exit(code: int = 0) -> NoReturn:
    """Leave without interpreter teardown once the Temporal SDK ran: its runtime can
    abort the process at exit (temporalio/sdk-python#300), which would turn a
    finished command's exit status into a crash. Output is flushed first."""
    if not _sdk_used:
        raise typer.Exit(code)
    leave(code)


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"escalator: {message}", file=sys.stderr)
    _exit(code)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    global _sdk_used
    _sdk_used = True
    try:
        return asyncio.run(coro)
    except (RPCError, RuntimeError) as err:
        reason = unreachable_reason(err)
        if reason is not None:
            _fail(unreachable_line(Settings(), reason), ExitCode.TEMPORAL_UNREACHABLE)
        if isinstance(err, RPCError):
            _fail(f"Temporal at {Settings().temporal_address}: {err}", ExitCode.REFUSED)
        raise


async def _client(settings: Settings) -> Client:
    from workers.worker import connect  # the worker wiring only when a command needs it

    return await connect(settings)


def _attrs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"--attr expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def raise_command(
    journey: Annotated[str, typer.Option(help="The journey, e.g. orderToShip.")],
    rule: Annotated[str, typer.Option(help="The exception rule, e.g. awaiting_inventory.")],
    subject: Annotated[str, typer.Option(help="The case id (or window) it fired for.")],
    attr: Annotated[list[str] | None, typer.Option(help="key=value, repeatable.")] = None,
    onset: Annotated[
        datetime | None, typer.Option(help="When the condition began (default: now).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Raise an exception (idempotent: a second raise adds an occurrence); prints its id."""
    settings = Settings()
    try:
        policies = load_policies([settings.policy_dir])
    except PolicyError as err:
        _fail(f"policies in {settings.policy_dir} do not load:\n{err}")
    attributes = _attrs(attr or [])
    began = onset or datetime.now(UTC)
    if began.tzinfo is None:
        began = began.replace(tzinfo=UTC)
    detection = Detection(
        journey=journey, rule=rule, subject=subject, onset=began, attributes=attributes
    )
    try:
        policy = snapshot(policies, rule, datetime.now(UTC))
        if policy.rule.journey != journey:
            raise ValueError(f"rule {rule} belongs to journey {policy.rule.journey}, not {journey}")
    except (KeyError, ValueError) as err:
        _fail(str(err).strip("'\""))

    async def go() -> Any:
        client = await _client(settings)
        return await raise_exception(
            client, detection, policy=policy, task_queue=settings.temporal_task_queue
        )

    raised = _run(go())
    print(raised.model_dump_json() if as_json else raised.exception_id)
    _exit(0)


def list_command(
    state: Annotated[
        str | None, typer.Option(help="open | acknowledged | snoozed | resolved")
    ] = None,
    journey: Annotated[str | None, typer.Option(help="Only this journey.")] = None,
    min_level: Annotated[int | None, typer.Option(help="Only at this level or higher.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List exceptions (needs visibility: the dev server or a full Temporal server)."""
    if state is not None and state not in STATES:
        _fail(f"--state must be one of {', '.join(STATES)}, got {state!r}")
    # A run that continued as new (while open, or to reopen) is the same exception as its
    # latest run: list each exception once.
    query = f"WorkflowType = '{ESCALATION_WORKFLOW}' AND ExecutionStatus != 'ContinuedAsNew'"
    if state:
        query += f" AND {sa.STATE.name} = '{state}'"
    if journey:
        query += f" AND {sa.JOURNEY.name} = '{journey.replace(chr(39), '')}'"
    if min_level is not None:
        query += f" AND {sa.LEVEL.name} >= {int(min_level)}"

    async def go() -> list[dict[str, Any]]:
        client = await _client(Settings())
        rows = []
        async for wf in client.list_workflows(query):
            a = wf.typed_search_attributes
            rows.append(
                {
                    "exception_id": wf.id,
                    "state": a.get(sa.STATE),
                    "level": a.get(sa.LEVEL),
                    "owner_role": a.get(sa.OWNER_ROLE),
                    "journey": a.get(sa.JOURNEY),
                    "rule": a.get(sa.RULE),
                    "severity": a.get(sa.SEVERITY),
                    "exhausted": a.get(sa.EXHAUSTED),
                    "started": wf.start_time.isoformat(),
                }
            )
        return rows

    rows = _run(go())
    if as_json:
        print(json.dumps(rows))
        _exit(0)
    for r in rows:
        flag = " EXHAUSTED" if r["exhausted"] else ""
        print(f"{r['exception_id']}  {r['state']}  level {r['level']}  {r['owner_role']}{flag}")
    _exit(0)


def _status_of(exception_id: str) -> ExceptionStatus:
    async def go() -> ExceptionStatus:
        client = await _client(Settings())
        return await exception_handle(client, exception_id).query(
            "status", result_type=ExceptionStatus
        )

    return _run(go())


def status_command(exception_id: str, as_json: JsonOpt = False) -> None:
    """Show one exception: state, level, deadlines, occurrences, timeline."""
    status = _status_of(exception_id)
    if as_json:
        print(status.model_dump_json())
        _exit(0)
    print(f"{status.exception_id}: {status.state.value}, level {status.level}, {status.owner_role}")
    for label, value in (
        ("ack due", status.ack_due),
        ("restore due", status.restore_due),
        ("snoozed until", status.snoozed_until),
        ("acknowledged by", status.acknowledged_by),
        ("resolved by", status.resolved_by),
    ):
        if value:
            print(f"  {label}: {value}")
    print(f"  occurrences: {status.occurrences}; policy {status.policy_version}")
    for step in status.timeline:
        who = f" by {step.actor}" if step.actor else ""
        where = f" level {step.level}" if step.level else ""
        print(f"  {step.at:%Y-%m-%d %H:%M:%S} {step.kind.value}{where}{who}")
    _exit(0)


def _respond(exception_id: str, update: str, inp: Any) -> None:
    async def go() -> UpdateResult:
        client = await _client(Settings())
        handle = exception_handle(client, exception_id)
        return await handle.execute_update(update, inp, result_type=UpdateResult)

    try:
        result = _run(go())
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        _fail(cause.message if isinstance(cause, ApplicationError) else str(cause), 1)
    print(result.message)
    _exit(0)


def ack_command(
    exception_id: str,
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
) -> None:
    """Acknowledge an exception: you own it now."""
    _respond(exception_id, "acknowledge", AcknowledgeInput(actor=actor, via="cli"))


def resolve_command(
    exception_id: str,
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
    note: Annotated[str, typer.Option(help="What was done.")],
    cause: Annotated[str | None, typer.Option(help="Cause code, e.g. stock_sync.")] = None,
) -> None:
    """Resolve an exception with a note (and optionally a cause code)."""
    if not note.strip():
        _fail("--note must say what was done")
    _respond(exception_id, "resolve", ResolveInput(actor=actor, note=note, cause=cause, via="cli"))


def worker_command() -> None:
    """Run the Temporal worker (workflows + activities) until SIGINT/SIGTERM."""
    from workers.worker import run_worker

    global _sdk_used
    _sdk_used = True
    asyncio.run(run_worker(Settings()))
    _exit(0)
