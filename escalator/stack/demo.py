"""`escalator demo`: what escalator does today, as a list of steps, each saying how it went.

A step is one thing a newcomer can see work. The first steps check the
policies and start the stack; the loop steps (`escalator/stack/demo_loop.py`) then
replay the bundled event log and check the whole loop from the records. A step that
did not work fails `demo --exit`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import urllib.request

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from escalator.stack.demo_context import DemoContext, Echo, Outcome, RunCommand, Step
from escalator.stack.demo_loop import LOOP_STEPS
from escalator.stack.demo_replay import routing_env
from escalator.stack.temporal_admin import connect
from escalator.stack.up import (
    StackError,
    StackOptions,
    ignore_stop_signals,
    start_stack,
    supervise,
)

__all__ = ["EXPLAIN_MOMENT", "STEPS", "DemoContext", "Outcome", "Step", "run_demo"]

# A fixed moment, so the explain output is the same on every run: a Friday
# afternoon, late enough that business-hours rules roll over to Monday.
EXPLAIN_MOMENT = "2026-03-06T16:30:00+01:00"


def _escalator(ctx: DemoContext, *args: str) -> int:
    """Run an escalator command in this process, as the CLI would; return its exit status.

    In-process rather than a subprocess per command: the explain step runs one
    command per rule, and a fresh interpreter each time costs a second apiece.
    """
    ctx.echo(f"$ escalator {' '.join(args)}")
    sys.stdout.flush()
    try:
        return ctx.run_command(args)
    finally:
        sys.stdout.flush()


def policy_check(ctx: DemoContext) -> tuple[Outcome, str]:
    from escalator.settings import get_settings

    code = _escalator(ctx, "policy", "check", str(get_settings().policy_dir))
    return (
        (Outcome.OK, "the shipped policy set is valid")
        if code == 0
        else (
            Outcome.FAILED,
            f"policy check exited {code}",
        )
    )


def policy_explain(ctx: DemoContext) -> tuple[Outcome, str]:
    from escalator.policies.errors import PolicyError
    from escalator.policy_source import load_configured_policies

    try:
        rules = [rule.name for rule in load_configured_policies().rules]
    except PolicyError as error:
        return (
            Outcome.FAILED,
            f"the policies do not load ({len(error.problems)} problems; see above)",
        )
    failed = [r for r in rules if _escalator(ctx, "policy", "explain", r, "--at", EXPLAIN_MOMENT)]
    if failed:
        return Outcome.FAILED, f"explain failed for {', '.join(failed)}"
    return Outcome.OK, f"explained {len(rules)} rules at {EXPLAIN_MOMENT}"


def stack_up(ctx: DemoContext) -> tuple[Outcome, str]:
    # The worker inherits this environment: it routes the demo's exceptions by error budget.
    routing = routing_env()
    os.environ.update(routing)
    ctx.echo("Routing: " + " ".join(f"{k}={v}" for k, v in routing.items()))
    try:
        ctx.stack = start_stack(ctx.options, ctx.echo)
    except StackError as error:
        return Outcome.FAILED, str(error)
    return Outcome.OK, "Temporal up, search attributes registered"


def temporal_answers(ctx: DemoContext) -> tuple[Outcome, str]:
    if ctx.stack is None:
        return Outcome.FAILED, "the stack did not start"

    async def probe() -> str | None:
        client = await connect(ctx.options.address, ctx.options.namespace)
        if client is None:
            return None
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        count = await client.count_workflows()
        return (
            f"server {info.server_version or '?'}, {count.count} workflows in {client.namespace!r}"
        )

    answer = asyncio.run(probe())
    if answer is None:
        return Outcome.FAILED, f"no answer at {ctx.options.address}"
    return Outcome.OK, answer


def web_ui_answers(ctx: DemoContext) -> tuple[Outcome, str]:
    if ctx.stack is None:
        return Outcome.FAILED, "the stack did not start"
    url = ctx.stack.ui_url
    if url is None:
        return Outcome.SKIPPED, "Temporal runs elsewhere; its Web UI is not managed here"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.status
    except OSError as error:
        return Outcome.FAILED, f"{url}: {error}"
    if status != 200:
        return Outcome.FAILED, f"{url} answered HTTP {status}"
    return Outcome.OK, f"{url} answers (HTTP 200): open it to see the workflows"


STEPS: list[Step] = [
    Step("Check the shipped policy set", policy_check),
    Step(f"Explain each shipped rule for an exception raised at {EXPLAIN_MOMENT}", policy_explain),
    Step("Start the local stack (escalator up)", stack_up),
    Step("Temporal server answers", temporal_answers),
    Step("Temporal Web UI answers", web_ui_answers),
    *LOOP_STEPS,
]


def _run_steps(ctx: DemoContext) -> list[tuple[Step, Outcome, str]]:
    results: list[tuple[Step, Outcome, str]] = []
    for number, step in enumerate(STEPS, start=1):
        ctx.echo(f"\n== Step {number}/{len(STEPS)}: {step.title}")
        try:
            outcome, detail = step.run(ctx)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # a broken step must not hide the others' results
            outcome, detail = Outcome.FAILED, f"{type(error).__name__}: {error}"
        ctx.echo(f"-> {outcome.value}: {detail}")
        results.append((step, outcome, detail))
    ctx.echo("\n== Summary")
    for step, outcome, detail in results:
        ctx.echo(f"  [{outcome.value}] {step.title}: {detail}")
    return results


def run_demo(
    options: StackOptions, run_command: RunCommand, *, exit_after: bool, echo: Echo = print
) -> int:
    """Run every step; then stop (``exit_after``) or stay up until Ctrl-C. 0 only if all worked."""
    ctx = DemoContext(options, echo, run_command)
    try:
        results = _run_steps(ctx)
        failed = any(o is Outcome.FAILED for _, o, _ in results)
        if not exit_after and ctx.stack is not None:
            for line in ctx.loop.get("closing", []):
                echo(line)
            echo("\nThe stack stays up; Ctrl-C stops it.")
            return supervise(ctx.stack, echo) or (1 if failed else 0)
        if ctx.stack is not None:
            ctx.stack.stop()
            echo("Stopped everything the demo started.")
        return 1 if failed else 0
    except KeyboardInterrupt:
        ignore_stop_signals()
        if ctx.stack is not None:
            ctx.stack.stop()
        echo("Interrupted; everything started here is stopped.")
        return 130
