"""`escalator alerts unmatched`: the alerts the receiver answered 422 because they mapped to
no rule, as the records keep them (one line per integration and fingerprint, repeats
counted), so the alerting admin can add a route or fix the labels.

    escalator alerts unmatched [--integration prometheus] [--since 7d] [--limit 50] [--json]
    escalator alerts forget-unmatched --before 90d
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from escalator.cli.records import DbOpt, _open_store, _url, parse_when
from escalator.records.tables import UnmatchedAlertRecord
from escalator.records.unmatched_alerts import UnmatchedAlertStore

__all__ = ["alerts_app", "register"]

alerts_app = typer.Typer(
    name="alerts",
    help="Alerts received from Alertmanager, Grafana and generic senders.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("unmatched")
def unmatched(
    integration: Annotated[
        str | None, typer.Option(help="Only this integration (its name in the policy).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only those seen since: ISO date/time, or a duration back (7d)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, latest first.")] = 100,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Alerts that mapped to no rule: what did not match, how often, first and last seen."""
    start = parse_when(since, datetime.now(UTC), "--since") if since else None
    store = _open_store(_url(database_url))
    try:
        rows = UnmatchedAlertStore(store.engine).all(
            integration=integration, since=start, limit=limit
        )
    finally:
        store.close()
    if json_out:
        print(json.dumps([json.loads(r.model_dump_json()) for r in rows], indent=2))
        return
    if not rows:
        print("no unmatched alerts" + (f" since {start:%Y-%m-%d %H:%M} UTC" if start else ""))
        return
    for r in rows:
        print(_describe(r))


@alerts_app.command("forget-unmatched")
def forget_unmatched(
    before: Annotated[
        str, typer.Option(help="Those last seen before: ISO date/time, or a duration back (90d).")
    ],
    database_url: DbOpt = None,
) -> None:
    """Delete the unmatched alerts last seen before a time (a repeat of one is kept)."""
    when = parse_when(before, datetime.now(UTC), "--before")
    store = _open_store(_url(database_url))
    try:
        gone = UnmatchedAlertStore(store.engine).forget(when)
    finally:
        store.close()
    print(f"forgot {gone} unmatched alert(s) last seen before {when:%Y-%m-%d %H:%M} UTC")


def _describe(r: UnmatchedAlertRecord) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(r.labels.items()))
    times = "once" if r.count == 1 else f"{r.count} times"
    return (
        f"{r.integration} ({r.source}) {r.fingerprint} {r.status}, {times}, "
        f"first {r.first_seen:%Y-%m-%d %H:%M}, last {r.last_seen:%Y-%m-%d %H:%M} UTC\n"
        f"  labels: {{{labels}}}\n"
        f"  why: {r.reason}"
    )
