"""`escalator digest install|run`: the per-role digest schedules (see docs/routing.md).

escalator digest install      # create/update one Temporal Schedule per role with a digest,
                              # delete those of roles without one (the worker does this too)
escalator digest run ROLE     # post ROLE's digest now (a DigestWorkflow run), print it
"""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer
from temporalio.client import Client

from escalator.cli.errors import fail as _fail
from escalator.cli.errors import leave
from escalator.cli.exceptions import _run
from escalator.cli.temporal import DEFAULT_TIMEOUT, TimeoutOpt
from escalator.cli.temporal import run as run_cli
from escalator.client import with_pydantic
from escalator.policies.policy_set import PolicySet
from escalator.policy_source import load_configured_policies
from escalator.settings import Settings
from escalator.temporal_outage import pollers
from escalator.worker.digest_schedules import digest_request, install_digests
from escalator.workflows.digest_contracts import DIGEST_WORKFLOW, DigestResult

__all__ = ["digest_app", "register"]

digest_app = typer.Typer(
    name="digest",
    help="Per-role digests: ticket-level exceptions and SLO status, daily.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")


def _policies(settings: Settings) -> PolicySet:
    # a PolicyError ends in the root command (cli/main.py): one line, exit 2
    return load_configured_policies(settings)


@digest_app.command("install")
def install() -> None:
    """Create or update the digest schedule of every role whose policy sets `digest`, and
    delete escalator's schedules of roles that no longer do (the worker does this at start)."""
    settings = Settings()
    policies = _policies(settings)

    async def go() -> None:
        from escalator.worker.main import connect  # the worker wiring only when a command runs

        client = with_pydantic(await connect(settings))
        done = await install_digests(client, policies, settings.temporal_task_queue)
        for d in done:
            print(d.describe())
        if not any(not d.deleted for d in done):
            print('no role sets a digest; add `digest: {at: "09:00", calendar: ...}` to a role')

    _run(go())
    leave(0)


@digest_app.command("run")
def run(
    role: Annotated[str, typer.Argument(help="The owner role, e.g. inventory.")],
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Post a role's digest now and print what was posted (waits at most --timeout)."""
    settings = Settings()
    policies = _policies(settings)
    try:
        owner = policies.role(role)
    except (KeyError, ValueError) as err:
        _fail(str(err))

    workflow_id = f"digest:{role}:now-{uuid.uuid4().hex[:6]}"

    async def go(client: Client) -> DigestResult:
        return await with_pydantic(client).execute_workflow(
            DIGEST_WORKFLOW,
            # By hand means now: post even on a holiday of the role's calendar.
            digest_request(owner, policies).model_copy(update={"skip_closed_days": False}),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            result_type=DigestResult,
        )

    async def no_answer(client: Client) -> str:
        seen = await pollers(client, settings.temporal_task_queue)
        return (
            f"{seen.sentence()}; the digest run {workflow_id} is started and posts when a "
            "worker polls (do not repeat it)"
        )

    result = run_cli(go, timeout=timeout, no_answer=no_answer, settings=settings)
    print(result.text)
    if not result.ok:
        print(f"error: not delivered to {result.target}: {result.error}", file=sys.stderr)
        leave(2)
    leave(0)
