"""`escalator silence add|list|expire`: silences and maintenance windows.

    escalator silence add --journey orderToShip [--rule awaiting_inventory] [--label site=ams]
        (--until 2026-03-02T18:00 | --for 2h | --until-resolved EXCEPTION_ID)
        --reason "stock count" --as anna
    escalator silence list [--all] [--json]
    escalator silence expire sil-0123456789 --as anna

The journey, rule and member are checked against the policies (ESCALATOR_POLICY_DIR)
so a typo cannot silence nothing. Silences live in the records database
(`escalator.records.silences`); routing suppresses matching exceptions while one is active,
and releases them when it ends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from escalator.cli.errors import fail as _fail
from escalator.policies.loader import load_policies
from escalator.policies.policy_set import PolicySet
from escalator.records.silence_requests import SilenceRequest, add_silence, describe
from escalator.records.silences import SilenceError, SilenceStore
from escalator.records.store import Store
from escalator.settings import Settings

__all__ = ["SilenceRequest", "add_silence", "register", "silence_app"]

silence_app = typer.Typer(
    name="silence",
    help="Silences and maintenance windows: suppress matching exceptions until an end.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(silence_app, name="silence")


def _store(database_url: str | None) -> SilenceStore:
    settings = Settings()
    url = database_url or settings.resolved_database_url
    if url.startswith("sqlite:///"):
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    return SilenceStore(Store.open(url).engine)


def _policies() -> PolicySet | None:
    # a PolicyError ends in the root command (cli/main.py): one line, exit 2
    return load_policies([Settings().policy_dir])


DbOpt = Annotated[str | None, typer.Option("--database-url", help="Records database URL.")]


@silence_app.command("add")
def add(
    journey: Annotated[str, typer.Option(help="The journey to silence.")],
    reason: Annotated[str, typer.Option(help="Why: shown wherever something is suppressed.")],
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    label: Annotated[list[str] | None, typer.Option(help="key=value, repeatable.")] = None,
    until: Annotated[str | None, typer.Option(help="End time (ISO).")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="Duration, e.g. 2h.")] = None,
    until_resolved: Annotated[
        str | None, typer.Option(help="Until this exception id resolves.")
    ] = None,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Silence a journey (or one rule, or labels) until a time or until an exception resolves."""
    request = SilenceRequest(
        journey=journey,
        reason=reason,
        actor=actor,
        rule=rule,
        labels=label,
        until=until,
        for_=for_,
        until_resolved=until_resolved,
    )
    try:
        created = add_silence(_store(database_url), request, _policies(), datetime.now(UTC))
    except SilenceError as err:
        _fail(str(err))
    print(created.model_dump_json() if json_out else f"silenced: {describe(created)}")


@silence_app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include ended and expired ones.")] = False,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Active silences (or all of them)."""
    store = _store(database_url)
    rows = store.all() if all_ else store.all(active_at=datetime.now(UTC))
    if json_out:
        print(json.dumps([json.loads(r.model_dump_json()) for r in rows], indent=2))
        return
    for r in rows:
        print(describe(r))
    if not rows:
        print("no silences" if all_ else "no active silences")


@silence_app.command("expire")
def expire(
    silence_id: Annotated[str, typer.Argument(help="The silence id, e.g. sil-0123456789.")],
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
    database_url: DbOpt = None,
) -> None:
    """End a silence now: what it held back is routed again at its next re-check."""
    try:
        done = _store(database_url).expire(silence_id, by=actor, now=datetime.now(UTC))
    except SilenceError as err:
        _fail(str(err))
    print(f"expired: {describe(done)}")
