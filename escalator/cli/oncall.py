"""`escalator oncall`: who is on call, and the overrides and vacations that change it.

    escalator oncall [ROLE] [--at TIME] [--json]
    escalator oncall override add ROLE --member dirk [--covers anna]
        --from 2026-03-06T18:00+01:00 --until 2026-03-09T09:00+01:00 --as dirk [--reason ...]
    escalator oncall override list [ROLE] [--all] [--json]
    escalator oncall override remove ov-0123456789 --as dirk
    escalator oncall away add anna --from 2026-07-01 --until 2026-07-15 --as anna

Overrides and vacations live in the records database (`escalator.records.oncall`);
the schedule comes from the policies (ESCALATOR_POLICY_DIR). Times without an offset
are UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from escalator.cli.errors import fail as _fail
from escalator.policies.loader import load_policies
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.policies.schedules import OnCall, next_handoffs
from escalator.records.oncall import OnCallError, OnCallStore, add_override, check_actor
from escalator.records.store import Store
from escalator.records.tables import OnCallChangeRecord
from escalator.settings import Settings

__all__ = ["oncall_app", "open_store", "register"]


class _ShowByDefault(TyperGroup):
    """`escalator oncall [ROLE]` shows who is on call; named subcommands still work."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


oncall_app = typer.Typer(
    name="oncall",
    cls=_ShowByDefault,
    help="Who is on call (now and the next hand-offs); overrides and vacations.",
)
override_app = typer.Typer(help="Overrides: someone covers a shift.", no_args_is_help=True)
away_app = typer.Typer(help="Vacations: a member is skipped by every layer.", no_args_is_help=True)
oncall_app.add_typer(override_app, name="override")
oncall_app.add_typer(away_app, name="away")

DbOpt = Annotated[str | None, typer.Option("--database-url", help="Records database URL.")]
JsonOpt = Annotated[bool, typer.Option("--json")]


def register(app: typer.Typer) -> None:
    app.add_typer(oncall_app, name="oncall")


def open_store(database_url: str | None) -> OnCallStore:
    """The records' overrides and vacations (the state directory made for SQLite)."""
    settings = Settings()
    url = database_url or settings.resolved_database_url
    if url.startswith("sqlite:///"):
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    return OnCallStore(Store.open(url).engine)


def _policies() -> PolicySet:
    # a PolicyError ends in the root command (cli/main.py): one line, exit 2
    return load_policies([Settings().policy_dir])


def _time(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option} {value!r}: give an ISO time, e.g. 2026-03-06T18:00+01:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _roles(policies: PolicySet, name: str | None) -> list[OwnerRole]:
    if name is None:
        return list(policies.roles)
    found = [r for r in policies.roles if r.name == name]
    if not found:
        known = ", ".join(sorted(r.name for r in policies.roles))
        _fail(f"no role {name!r} in the policies (roles: {known})")
    return found


def _who(who: OnCall) -> str:
    return who.member or "nobody"


@oncall_app.command("show", hidden=True)
def show(
    role: Annotated[str | None, typer.Argument(help="One role; every role without it.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO time; now without it.")] = None,
    count: Annotated[int, typer.Option(help="How many next hand-offs.")] = 3,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Who is on call for each role now (or at --at), why, and the next hand-offs."""
    moment = _time(at, "--at") if at else datetime.now(UTC)
    policies = _policies()
    store = open_store(database_url)
    out: list[dict[str, Any]] = []
    for r in _roles(policies, role):
        changes = store.for_role(r, moment - timedelta(days=1))
        now = r.who(moment, changes)
        nxt = next_handoffs(r.effective_schedule(moment), changes, moment, count)
        out.append(
            {
                "role": r.name,
                "at": moment.isoformat(),
                "on_call": now.as_dict(),
                "next": [{"at": t.isoformat(), **w.as_dict()} for t, w in nxt],
            }
        )
    if json_out:
        print(json.dumps(out, indent=2))
        return
    for item, r in zip(out, _roles(policies, role), strict=True):
        zone = r.effective_schedule(moment).layers[-1].zone
        print(f"{item['role']}: {item['on_call']['member'] or 'nobody'} ({item['on_call']['why']})")
        for n in item["next"]:
            t = datetime.fromisoformat(n["at"]).astimezone(zone)
            print(f"  from {t:%a %Y-%m-%d %H:%M %Z}: {n['member'] or 'nobody'} ({n['why']})")


def _describe(r: OnCallChangeRecord) -> str:
    span = f"{r.starts_at:%Y-%m-%d %H:%M} until {r.ends_at:%Y-%m-%d %H:%M} UTC"
    made = f"made by {r.created_by} at {r.created_at:%Y-%m-%d %H:%M} UTC"
    removed = f", removed by {r.removed_by}" if r.removed_at else ""
    why = f": {r.reason}" if r.reason else ""
    if r.kind == "away":
        return f"{r.id}  {r.member} away {span} ({made}{removed}){why}"
    instead = f" in place of {r.covers}" if r.covers else ""
    return f"{r.id}  {r.role}: {r.member}{instead} {span} ({made}{removed}){why}"


@override_app.command("add")
def override_add(
    role: Annotated[str, typer.Argument(help="The role whose on-call member changes.")],
    member: Annotated[str, typer.Option(help="Who is on call instead.")],
    start: Annotated[str, typer.Option("--from", help="ISO time it starts.")],
    until: Annotated[str, typer.Option(help="ISO time it ends.")],
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
    covers: Annotated[
        str | None, typer.Option(help="Only while this member would be on call.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the people on the rota.")] = "",
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Put MEMBER on call for ROLE from --from until --until."""
    policies = _policies()
    try:
        made = add_override(
            open_store(database_url),
            policies,
            role=role,
            member=member,
            actor=actor,
            covers=covers,
            starts_at=_time(start, "--from"),
            ends_at=_time(until, "--until"),
            now=datetime.now(UTC),
            reason=reason,
        )
    except OnCallError as err:
        _fail(str(err))
    print(made.model_dump_json() if json_out else f"override: {_describe(made)}")


@away_app.command("add")
def away_add(
    member: Annotated[str, typer.Argument(help="Who is away.")],
    start: Annotated[str, typer.Option("--from", help="ISO time it starts.")],
    until: Annotated[str, typer.Option(help="ISO time it ends.")],
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
    reason: Annotated[str, typer.Option(help="Why (optional).")] = "",
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark MEMBER away: every layer skips them, the next in order covers."""
    try:
        check_actor(_policies(), "away", actor, member, None)
        made = open_store(database_url).add(
            kind="away",
            member=member,
            starts_at=_time(start, "--from"),
            ends_at=_time(until, "--until"),
            created_by=actor,
            now=datetime.now(UTC),
            reason=reason,
        )
    except OnCallError as err:
        _fail(str(err))
    print(made.model_dump_json() if json_out else f"away: {_describe(made)}")


@override_app.command("list")
def override_list(
    role: Annotated[
        str | None, typer.Argument(help="One role's (and its members' vacations).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include ended and removed ones.")] = False,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Overrides and vacations that have not ended (or all of them)."""
    store = open_store(database_url)
    members = None
    if role is not None:
        members = [m.name for r in _roles(_policies(), role) for m in r.members]
    rows = store.current(
        after=None if all_ else datetime.now(UTC), role=role, members=members, with_removed=all_
    )
    if json_out:
        print(json.dumps([json.loads(r.model_dump_json()) for r in rows], indent=2))
        return
    for r in rows:
        print(_describe(r))
    if not rows:
        print("no overrides or vacations" if all_ else "no current overrides or vacations")


@override_app.command("remove")
def override_remove(
    change_id: Annotated[str, typer.Argument(help="The id, e.g. ov-0123456789 or away-….")],
    actor: Annotated[str, typer.Option("--as", help="Your member name in the policy.")],
    database_url: DbOpt = None,
) -> None:
    """Remove an override or a vacation (kept in the records, marked removed)."""
    store = open_store(database_url)
    try:
        row = store.get(change_id)
        if row.kind == "override":
            check_actor(_policies(), "override", actor, row.member, row.role)
        else:
            check_actor(_policies(), "away", actor, row.member, None)
        done = store.remove(change_id, by=actor, now=datetime.now(UTC))
    except OnCallError as err:
        _fail(str(err))
    print(f"removed: {_describe(done)}")
