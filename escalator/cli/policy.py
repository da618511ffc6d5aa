"""`escalator policy check | show | explain`: what the policy files say, and what they would do.

Problems are printed one per line as ``FILE:LINE: field.path: message`` with
plain ``print`` (never wrapped, never a traceback); tables are rich, for
people; ``--json`` is for scripts.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from escalator.policies.duration import format_duration
from escalator.policies.errors import PolicyError
from escalator.policies.explain import ExplainResult, explain, mask_phone
from escalator.policies.journeys import LatencySLI
from escalator.policies.loader import LoadedPolicies, load
from escalator.policies.notify_checks import notify_rule_warnings
from escalator.policies.policy_set import PolicySet
from escalator.policies.schedules import Away, Override
from escalator.settings import Settings

__all__ = ["policy_app", "register", "show_data"]

policy_app = typer.Typer(
    name="policy",
    help="Check, show and explain the policy files (journeys, rules, roles, escalation).",
    no_args_is_help=True,
)

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Policy files or directories (default: ESCALATOR_POLICY_DIR, the shipped starter set).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def register(app: typer.Typer) -> None:
    """Add `escalator policy ...` to the main app."""
    app.add_typer(policy_app, name="policy")


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _load_or_exit(paths: list[Path] | None) -> LoadedPolicies:
    chosen = list(paths) if paths else [Settings().policy_dir]
    try:
        return load(chosen)
    except PolicyError as err:
        for problem in err.problems:
            print(problem)
        sys.stdout.flush()
        files = len({p.file for p in err.problems})
        noun = "problem" if len(err.problems) == 1 else "problems"
        print(f"{len(err.problems)} {noun} in {files} file(s); nothing loaded", file=sys.stderr)
        raise typer.Exit(1) from None
    except Exception as exc:  # a bug of ours must still not look like a user's traceback
        print(f"{chosen[0]}:1: (file): could not load policies: {exc!r}")
        raise typer.Exit(1) from None


# --- check -------------------------------------------------------------------


@policy_app.command("check")
def check(paths: PathsArg = None) -> None:
    """Validate policies: exit 0 when valid, else print EVERY problem (FILE:LINE: field: what).

    Warnings (the policies load, but probably not as meant) are printed the same way and
    do not change the exit status."""
    loaded = _load_or_exit(paths)
    p = loaded.policies
    warnings = notify_rule_warnings(p, loaded.sources["roles"])
    for warning in warnings:
        print(warning)
    said = f"; {len(warnings)} warning(s) above" if warnings else ""
    print(
        f"ok: {len(loaded.files)} file(s), {len(p.journeys)} journeys, {len(p.rules)} rules, "
        f"{len(p.roles)} roles, {len(p.escalation_policies)} escalation policies, "
        f"{len(p.playbooks)} playbooks, {len(p.calendars)} calendars (version {p.version}){said}"
    )


# --- show --------------------------------------------------------------------


def show_data(loaded: LoadedPolicies) -> dict[str, Any]:
    """What `policy show --json` prints: no secrets; phone numbers masked."""
    p = loaded.policies
    return {
        "version": p.version,
        "files": loaded.files,
        "journeys": [
            {
                "name": j.name,
                "description": j.description,
                "window": format_duration(j.window),
                "calendar": j.calendar,
                "slis": [
                    {
                        "name": s.name,
                        "type": s.type,
                        "objective": s.objective,
                        "error_budget": round(100 - s.objective, 6),
                        **(
                            {
                                "threshold": format_duration(s.threshold),
                                "thresholds": {
                                    k: format_duration(v) for k, v in s.thresholds.items()
                                },
                                "threshold_attribute": s.threshold_attribute,
                            }
                            if isinstance(s, LatencySLI)
                            else {}
                        ),
                    }
                    for s in j.slis
                ],
                "routing": [
                    {
                        "action": t.action,
                        "long_window": format_duration(t.long_window),
                        "short_window": format_duration(t.short_window),
                        "burn_rate": round(t.threshold(j.window), 4),
                    }
                    for t in j.routing
                ],
            }
            for j in p.journeys
        ],
        "rules": [
            {
                "name": r.name,
                "kind": r.kind,
                "journey": r.journey,
                "owner": r.owner,
                "escalation": r.escalation,
                "severity": r.severity,
                "playbook": r.playbook,
                "runbook": r.runbook,
            }
            for r in p.rules
        ],
        "roles": [
            {
                "name": r.name,
                "slack_channel": r.slack_channel,
                "members": [
                    {
                        "name": m.name,
                        "slack_user_id": m.slack_user_id,
                        "phone": mask_phone(m.phone) if m.phone else None,
                    }
                    for m in r.members
                ],
                "rotation": (
                    {
                        "start": r.rotation.start.isoformat(),
                        "order": list(r.rotation.order),
                        "handoff_every": format_duration(r.rotation.handoff_every),
                    }
                    if r.rotation
                    else None
                ),
            }
            for r in p.roles
        ],
        "escalation_policies": [
            {
                "name": e.name,
                "levels": [
                    {
                        "role": lvl.role,
                        "channels": list(lvl.channels),
                        "response_time": format_duration(lvl.response_time),
                        "business_hours": lvl.business_hours,
                    }
                    for lvl in e.levels
                ],
                "repeat": e.repeat,
                "on_exhausted": e.on_exhausted,
                "incident_lead_role": e.incident_lead_role,
                "calendar": e.calendar,
                "time_to_restore": format_duration(e.time_to_restore)
                if e.time_to_restore
                else None,
            }
            for e in p.escalation_policies
        ],
        "calendars": [
            {
                "name": c.name,
                "timezone": c.timezone,
                "hours": {day: [_range(r) for r in ranges] for day, ranges in c.hours.items()},
                "holidays": c.holidays.model_dump() if c.holidays else None,
                "closed_dates": [d.isoformat() for d in c.closed_dates],
            }
            for c in p.calendars
        ],
        "playbooks": [
            {
                "name": pb.name,
                "steps": [
                    {
                        "name": s.name,
                        "type": s.type,
                        "action": s.action,
                        "recheck": s.recheck if s.type == "automated" else None,
                        "runbook": s.runbook,
                    }
                    for s in pb.steps
                ],
            }
            for pb in p.playbooks
        ],
    }


def _range(r: Any) -> str:
    end = "24:00" if r.end is None else f"{r.end:%H:%M}"
    return f"{r.start:%H:%M}-{end}"


@policy_app.command("show")
def show(paths: PathsArg = None, as_json: JsonOpt = False) -> None:
    """What loaded: journeys with SLOs, rules, roles with members, escalation, calendars, playbooks."""
    loaded = _load_or_exit(paths)
    data = show_data(loaded)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    _render_show(data, loaded.policies)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column)
    return table


def _render_show(data: dict[str, Any], p: PolicySet) -> None:
    console = _console()
    console.print(f"[bold]Policy version[/] {data['version']} from {len(data['files'])} file(s)")
    t = _table("Journeys", "journey", "window", "SLI", "type", "objective", "error budget")
    for j in data["journeys"]:
        for i, s in enumerate(j["slis"]):
            what = s["type"]
            if s.get("threshold"):
                what += f" ≤ {s['threshold']}"
                if s.get("threshold_attribute"):
                    what += f" (by {s['threshold_attribute']})"
            t.add_row(
                j["name"] if i == 0 else "",
                j["window"] if i == 0 else "",
                s["name"],
                what,
                f"{s['objective']:g} %",
                f"{s['error_budget']:g} %",
            )
    console.print(t)
    t = _table(
        "Rules", "rule", "kind", "journey", "owner role", "escalation", "severity", "runbook"
    )
    for r in data["rules"]:
        t.add_row(
            r["name"],
            r["kind"],
            r["journey"],
            r["owner"],
            r["escalation"],
            r["severity"],
            r["runbook"],
        )
    console.print(t)
    t = _table("Roles", "role", "slack channel", "member", "slack user", "phone", "rotation")
    for r in data["roles"]:
        rot = r["rotation"]
        rota = f"{' → '.join(rot['order'])} every {rot['handoff_every']}" if rot else ""
        for i, m in enumerate(r["members"]):
            t.add_row(
                r["name"] if i == 0 else "",
                (r["slack_channel"] or "") if i == 0 else "",
                m["name"],
                m["slack_user_id"] or "",
                m["phone"] or "",
                rota if i == 0 else "",
            )
    console.print(t)
    t = _table("Escalation policies", "policy", "level", "role", "channels", "response", "then")
    for e in data["escalation_policies"]:
        then = f"repeat {e['repeat']}x, then {e['on_exhausted']}"
        for i, lvl in enumerate(e["levels"], start=1):
            resp = lvl["response_time"] + (" (business hours)" if lvl["business_hours"] else "")
            t.add_row(
                e["name"] if i == 1 else "",
                str(i),
                lvl["role"],
                ", ".join(lvl["channels"]),
                resp,
                then if i == 1 else "",
            )
    console.print(t)
    t = _table("Calendars", "calendar", "time zone", "hours", "holidays")
    for c in data["calendars"]:
        hours = "; ".join(f"{d} {', '.join(r)}" for d, r in c["hours"].items())
        hol = c["holidays"]["country"] if c["holidays"] else ""
        if c["closed_dates"]:
            hol += (" + " if hol else "") + f"{len(c['closed_dates'])} closed date(s)"
        t.add_row(c["name"], c["timezone"], hours, hol)
    console.print(t)
    t = _table("Playbooks", "playbook", "step", "type", "action / runbook")
    for pb in data["playbooks"]:
        for i, s in enumerate(pb["steps"]):
            what = s["action"] or s["runbook"] or ""
            if s["type"] == "automated" and s["recheck"]:
                what += " (re-check after)"
            t.add_row(pb["name"] if i == 0 else "", s["name"], s["type"], what)
    console.print(t)


# --- explain -----------------------------------------------------------------


def _rule_zone(p: PolicySet, rule_name: str) -> ZoneInfo | None:
    rule = p.rule(rule_name)
    names = [
        getattr(rule, "calendar", None),
        p.escalation_policy(rule.escalation).calendar,
        p.journey(rule.journey).calendar,
    ]
    name = next((n for n in names if n), None)
    return ZoneInfo(p.calendar(name).timezone) if name else None


def _parse_at(text: str | None, zone: ZoneInfo | None) -> datetime:
    if text is None or text == "now":
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO timestamp; use e.g. 2026-03-27T16:00:00+01:00",
            param_hint="--at",
        ) from None
    if at.tzinfo is None:  # a wall-clock time where the rule's calendar lives
        at = at.replace(tzinfo=zone or UTC)
    return at


@policy_app.command("explain")
def explain_cmd(
    rule: Annotated[str, typer.Argument(help="The rule to preview, e.g. awaiting_inventory.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="When the exception is raised (ISO 8601; without an offset: the rule's "
            "calendar time zone). Default: now.",
        ),
    ] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option("--policy", help="Policy file or directory (repeatable)."),
    ] = None,
    overrides: Annotated[
        bool,
        typer.Option(
            "--overrides",
            help="Apply the on-call overrides and vacations in the records database.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Records database with the on-call overrides (--overrides) and the rule's "
            "latest scorecard (default: ESCALATOR_DATABASE_URL, else the SQLite file in the "
            "state dir).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Dry run: routing, playbook, who is paged when and how (and why them), what can
    never be reached, and the rule's latest scorecard."""
    loaded = _load_or_exit(policy)
    p = loaded.policies
    if rule not in {r.name for r in p.rules}:
        known = ", ".join(sorted(r.name for r in p.rules)) or "none"
        print(f"unknown rule {rule!r}; known rules: {known}", file=sys.stderr)
        raise typer.Exit(1)
    moment = _parse_at(at, _rule_zone(p, rule))
    changes = _oncall_changes(p, moment, database_url) if overrides else None
    result = explain(p, rule, moment, changes)
    from escalator.cli.kept_scorecards import latest_kept, scorecard_lines
    from escalator.settings import Settings

    kept, problem = latest_kept(database_url or Settings().resolved_database_url, rule)
    if as_json:
        data = json.loads(result.model_dump_json())
        data["scorecard"] = (
            {"scored_at": kept.scored_at.isoformat(), "log": kept.log, **kept.figures}
            if kept
            else None
        )
        data["scorecard_note"] = problem
        print(json.dumps(data, indent=2))
        return
    _render_explain(result)
    for line in scorecard_lines(kept, problem, rule):
        print(line)


def _oncall_changes(
    p: PolicySet, moment: datetime, database_url: str | None
) -> dict[str, list[Override | Away]]:
    """Each role's overrides and vacations from the records (still running at ``moment``)."""
    from escalator.cli.oncall import open_store

    store = open_store(database_url)
    return {r.name: store.for_role(r, moment) for r in p.roles}


def _clock(t: datetime) -> str:
    return f"{t:%a %Y-%m-%d %H:%M} {t.tzname()}"


def _render_explain(r: ExplainResult) -> None:
    console = _console()
    console.print(
        f"[bold]{r.rule}[/] ({r.kind}, {r.severity}) on journey [bold]{r.journey}[/]: "
        f"owner {r.owner}, escalation policy {r.escalation_policy}, policy version {r.policy_version}"
    )
    console.print(f"predicts: {r.predicts}; runbook: {r.runbook}")
    where = f"calendar {r.calendar}, {'open' if r.calendar_open_at_raise else 'closed'}"
    console.print(
        f"raised at {_clock(r.raised_at)} ({r.timezone}; {where if r.calendar else 'no calendar: always open'})"
    )
    console.print(f"routing: {r.routing} ({r.routing_note})", markup=False)
    if r.playbook_steps:
        t = _table(
            f"Playbook {r.playbook} (runs before anyone is paged)", "#", "step", "type", "what"
        )
        for i, s in enumerate(r.playbook_steps, start=1):
            if s.type == "automated":
                timeout = format_duration(s.timeout) if s.timeout else "?"
                what = f"{s.action}, up to {timeout}" + (
                    "; re-checks the condition (resolves if cleared)" if s.recheck else ""
                )
            else:
                what = f"runbook {s.runbook}"
            t.add_row(str(i), s.name, s.type, what)
        console.print(t)
    else:
        console.print("playbook: none")
    t = _table(
        f"Escalation (nobody responds; first page at {_clock(r.first_page_at)})",
        "round",
        "level",
        "paged at",
        "role",
        "on call",
        "channels",
        "no ack by",
    )
    for lvl in r.levels:
        channels = []
        for target in lvl.targets:
            if target.reachable:
                who = f" ({target.member})" if target.member else ""
                channels.append(f"{target.channel}: {target.address}{who}")
            else:
                channels.append(f"{target.channel}: UNREACHABLE ({target.reason})")
        for step in lvl.steps:  # the on-call member's own rule, within the level's channels
            when = "at once" if not step.after else f"after {format_duration(step.after)}"
            goes = f"SKIPPED ({step.skipped})" if step.skipped else _clock(step.at)
            channels.append(
                f"{lvl.on_call}'s step {step.step}: {step.channel} {step.address} {when}: {goes}"
            )
        if lvl.console_fallback:
            channels.append("console only")
        if lvl.informed:
            channels.append(f"informed: {', '.join(lvl.informed)}")
        deadline = format_duration(lvl.response_time) + (" business" if lvl.business_hours else "")
        t.add_row(
            str(lvl.round),
            str(lvl.level),
            _clock(lvl.notify_at),
            lvl.role,
            f"{lvl.on_call}\n({lvl.on_call_why})" if lvl.on_call_why else lvl.on_call,
            "\n".join(channels),
            f"{_clock(lvl.escalates_at)} ({deadline})",
        )
    console.print(t)
    console.print(f"at {_clock(r.exhausted_at)}: {r.exhausted}", markup=False)
    for target in r.broadcast:
        state = target.address if target.reachable else f"UNREACHABLE ({target.reason})"
        console.print(f"  broadcast {target.channel}: {state}", markup=False)
    if r.time_to_restore:
        console.print(
            f"once acknowledged: restore within {format_duration(r.time_to_restore)}", markup=False
        )
    if r.never_reached:
        console.print("[bold]never reached:[/]")
        for line in r.never_reached:
            console.print(f"  - {line}", markup=False)
    else:
        console.print("never reached: nothing; every level reaches someone", markup=False)


# --- schema ------------------------------------------------------------------


@policy_app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of a policy YAML document (committed as escalator/policies/policy.schema.json)."""
    from escalator.policies.reference import schema_text

    sys.stdout.write(schema_text())
