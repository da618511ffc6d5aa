"""`escalator raise | list | status | worker`: exceptions from a shell (the owner responses,
`ack`, `resolve`, ..., are in `escalator/cli/responses.py`).

For scripts and operators. Every command connects to TEMPORAL_ADDRESS; `raise`
resolves the rule's policy from ESCALATOR_POLICY_DIR and is idempotent on the
dedupe key (it prints the workflow id). `raise` returns as soon as Temporal keeps the
detection, worker or not; `status` waits at most --timeout for a worker. Exit codes:
`escalator/cli/errors.py` (unusable input 2, Temporal unreachable 3, no answer in time 4).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from temporalio.client import Client

from escalator.cli.errors import ExitCode
from escalator.cli.temporal import DEFAULT_TIMEOUT, TimeoutOpt, cli_exit, connect_cli, run, say
from escalator.client import Raised, exception_handle, raise_exception
from escalator.policies.loader import load_policies
from escalator.policies.snapshot import snapshot
from escalator.settings import Settings
from escalator.temporal_outage import pollers
from escalator.workflows import search_attributes as sa
from escalator.workflows.contracts import ESCALATION_WORKFLOW, Detection, ExceptionStatus

__all__ = ["register"]

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
STATES = ("open", "acknowledged", "snoozed", "resolved")
RAISE_TIMEOUT = 5.0  # only the outcome waits: the detection is kept before


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("raise")(raise_command)
    app.command("list")(list_command)
    app.command("status")(status_command)
    app.command("worker")(worker_command)


def _exit(code: int = 0) -> NoReturn:
    cli_exit(code)


def _fail(message: str, code: int = ExitCode.USAGE) -> NoReturn:
    say(message, code)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that connects by itself; Temporal's failures end in one line
    (kept for the commands that build their own client: digest, storm)."""

    async def work(_: Client) -> T:
        return await coro

    return run(work, timeout=None)


async def _client(settings: Settings) -> Client:
    return await connect_cli(settings)


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
    timeout: TimeoutOpt = RAISE_TIMEOUT,
) -> None:
    """Raise an exception (idempotent: a second raise adds an occurrence); prints its id.

    Returns once Temporal keeps the detection. For an exception already running, a worker
    says whether it was a duplicate or a reopen (waiting at most --timeout, default 5 s, and
    not at all when no worker polls the task queue); without that answer the outcome is
    "pending" (said on stderr, exit 0: the worker applies it when it polls)."""
    settings = Settings()
    # a PolicyError ends in the root command (cli/main.py): one line, exit 2
    policies = load_policies([settings.policy_dir])
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

    async def go(client: Client) -> tuple[Raised, str | None]:
        # No worker polled lately: do not wait for an outcome nobody will give.
        seen = await pollers(client, settings.temporal_task_queue)
        polled = seen.active()
        raised = await raise_exception(
            client,
            detection,
            policy=policy,
            task_queue=settings.temporal_task_queue,
            outcome_within=timedelta(seconds=timeout if polled else 0),
        )
        return raised, None if polled else seen.sentence()

    # The outcome wait is bounded by raise_exception itself: the +5 s covers the start.
    raised, idle = run(go, timeout=timeout + 5, settings=settings)
    print(raised.model_dump_json() if as_json else raised.exception_id, flush=True)
    if raised.pending:
        why = idle or f"no answer within {timeout:g} s"
        print(
            f"escalator: accepted, outcome pending: Temporal keeps the detection of "
            f"{raised.exception_id} and a worker applies it when it polls; {why}",
            file=sys.stderr,
        )
    _exit(0)


def list_command(
    state: Annotated[
        str | None, typer.Option(help="open | acknowledged | snoozed | resolved")
    ] = None,
    journey: Annotated[str | None, typer.Option(help="Only this journey.")] = None,
    min_level: Annotated[int | None, typer.Option(help="Only at this level or higher.")] = None,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
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

    async def go(client: Client) -> list[dict[str, Any]]:
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

    rows = run(go, timeout=timeout)
    if as_json:
        print(json.dumps(rows))
        _exit(0)
    for r in rows:
        flag = " EXHAUSTED" if r["exhausted"] else ""
        print(f"{r['exception_id']}  {r['state']}  level {r['level']}  {r['owner_role']}{flag}")
    _exit(0)


def _status_of(exception_id: str, timeout: float) -> ExceptionStatus:
    settings = Settings()

    async def go(client: Client) -> ExceptionStatus:
        return await exception_handle(client, exception_id).query(
            "status", result_type=ExceptionStatus
        )

    async def no_answer(client: Client) -> str:
        seen = await pollers(client, settings.temporal_task_queue)
        return f"{seen.sentence()}; a status query is answered by a worker, nothing changed"

    return run(go, timeout=timeout, no_answer=no_answer, settings=settings)


def status_command(
    exception_id: str, as_json: JsonOpt = False, timeout: TimeoutOpt = DEFAULT_TIMEOUT
) -> None:
    """Show one exception: state, level, deadlines, occurrences, timeline."""
    status = _status_of(exception_id, timeout)
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


def worker_command() -> None:
    """Run the Temporal worker (workflows + activities) until SIGINT/SIGTERM."""
    from escalator.worker.main import run_worker

    settings = Settings()

    async def go(_: Client) -> None:  # connects once here: unreachable is one line, exit 3
        await run_worker(settings)

    run(go, timeout=None, settings=settings)
    _exit(0)
