"""`escalator report` and `escalator db upgrade|current`: the records and what they say.

The report reads the exceptions from the records database and, for SLOs, each
journey's event log given as ``--log JOURNEY=FILE``; terminal tables by
default, ``--json`` for scripts, ``--html FILE`` for a self-contained page.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from escalator.cli.errors import fail as _fail
from escalator.cli.logs import AllowQuarantine, AssumeTimezone, LogChecks, MaxQuarantine, admit_log
from escalator.detectors.log_checks import DEFAULT_MAX_QUARANTINE
from escalator.policies.duration import parse_duration
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings

__all__ = ["db_app", "parse_when", "register"]

db_app = typer.Typer(
    name="db", help="The records database: migrate it, show its revision.", no_args_is_help=True
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Records database (default: ESCALATOR_DATABASE_URL, else the SQLite file in the state dir).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add `escalator report` and `escalator db ...` to the main app."""
    app.command("report")(report)
    app.add_typer(db_app, name="db")


def parse_when(value: str, now: datetime, option: str) -> datetime:
    """An ISO date/time (UTC unless it says otherwise) or a duration back from ``now``."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return now - parse_duration(value)
    except ValueError:
        _fail(
            f"{option} {value!r}: give an ISO date or time (2026-03-01, 2026-03-01T09:00Z) "
            "or a duration back from now (7d, 12h)"
        )


def _url(database_url: str | None) -> str:
    return database_url or Settings().resolved_database_url


def _policies(policy: list[Path] | None) -> PolicySet:
    from escalator.policies.loader import load_policies

    # a PolicyError ends in the root command (cli/main.py): one line, exit 2
    return load_policies(list(policy) if policy else [Settings().policy_dir])


def _check_log_specs(specs: list[str], journeys: dict[str, Journey]) -> None:
    """Refuse a bad ``--log`` before any work starts."""
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            _fail(f"--log {spec!r}: write JOURNEY=FILE, e.g. --log orderToShip=orders.parquet")
        if name not in journeys:
            known = ", ".join(sorted(journeys)) or "none"
            _fail(f"--log {spec!r}: no journey {name!r} in the policies (known: {known})")
        if not Path(path).exists():
            _fail(f"--log {spec!r}: file {path} does not exist")


def _logs(
    specs: list[str],
    journeys: dict[str, Journey],
    policies: PolicySet | None,
    assume_timezone: str | None,
    checks: LogChecks,
) -> dict[str, pl.DataFrame]:
    """Each ``--log`` read in its journey's zone and admitted as `detect` admits a log."""
    from escalator.detectors.log_errors import LogFormatError
    from escalator.detectors.readers import read_log

    logs: dict[str, pl.DataFrame] = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        try:
            result = read_log(Path(path), journeys[name], assume_timezone=assume_timezone)
        except LogFormatError as exc:
            _fail(f"--log {spec}: {exc}")
        admit_log(result, journeys[name], policies, checks)
        logs[name] = result.events
    return logs


def _open_store(url: str) -> Any:
    """The store, or a one-line error naming the database and what to do."""
    import sqlalchemy as sa

    from escalator.records.store import Store

    shown = sa.make_url(url).render_as_string(hide_password=True) if "://" in url else url
    try:
        return Store.open(url)
    except (sa.exc.ArgumentError, sa.exc.OperationalError, sa.exc.NoSuchModuleError) as exc:
        reason = str(exc).splitlines()[0]
        _fail(
            f"cannot open the records database {shown}: {reason} "
            "(set ESCALATOR_DATABASE_URL or --database-url, e.g. sqlite:///records.db or "
            "postgresql+psycopg://user@host:5432/db)"
        )


def report(
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report to FILE.", metavar="FILE"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only exceptions detected since: ISO date/time, or a duration back from now (7d).",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute as of this ISO time (default: now).")
    ] = None,
    logs_as_of: Annotated[
        str | None,
        typer.Option(
            "--logs-as-of",
            help="Compute SLOs, budgets and lead time as of this ISO time, or 'end' (the "
            "logs' last event: for a log replayed from the past); default: --as-of.",
        ),
    ] = None,
    log: Annotated[
        list[str] | None,
        typer.Option(
            "--log",
            help="JOURNEY=FILE: the journey's event log, for SLOs, budgets and lead time (repeatable).",
        ),
    ] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option(
            "--policy", help="Policy files or directories (default: ESCALATOR_POLICY_DIR)."
        ),
    ] = None,
    assume_timezone: AssumeTimezone = None,
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    database_url: DbOpt = None,
    false_alarm_threshold: Annotated[
        float,
        typer.Option(
            "--false-alarm-threshold",
            min=0.0,
            max=1.0,
            help="Flag a rule when false alarms are at least this share of the exceptions "
            "owners judged.",
        ),
    ] = 0.5,
) -> None:
    """Time to restore, SLOs, error budgets, burn rates, rework, open exceptions and rules to change."""
    from escalator.analytics.render_html import render_html
    from escalator.analytics.render_text import print_report
    from escalator.analytics.report import build_report
    from escalator.records.frames import load_exceptions
    from escalator.records.oncall_pages import load_on_call_pages
    from escalator.records.scorecards import latest_scorecards
    from escalator.records.unmatched_alerts import UnmatchedAlertStore

    now = datetime.now(UTC)
    when = parse_when(as_of, now, "--as-of") if as_of else now
    start = parse_when(since, when, "--since") if since else None
    policies = _policies(policy) if log else None
    journeys = {j.name: j for j in policies.journeys} if policies else {}
    _check_log_specs(log or [], journeys)
    settings = Settings()
    store = _open_store(_url(database_url))
    try:
        # The event logs (polars) and the records (the database) load at the same
        # time: both release the GIL, so two cores share the wait.
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = pool.submit(load_exceptions, store.engine, since=start)
            checks = LogChecks(max_quarantine, allow_quarantine)
            logs = _logs(log or [], journeys, policies, assume_timezone, checks)
            exceptions = pending.result()
        kept = {rule: card.figures for rule, card in latest_scorecards(store).items()}
        pages = load_on_call_pages(store.engine, since=start)
        unmatched = UnmatchedAlertStore(store.engine).summary(since=start)
    finally:
        store.close()
    log_time = None
    if logs_as_of == "end":
        ends = [f["timestamp"].max() for f in logs.values() if f.height]
        log_time = max(e for e in ends if isinstance(e, datetime)) if ends else None
    elif logs_as_of is not None:
        log_time = parse_when(logs_as_of, now, "--logs-as-of")
    data = build_report(
        exceptions,
        as_of=when,
        logs_as_of=log_time,
        journeys=[journeys[name] for name in logs],
        logs=logs,
        since=start,
        ui_url=settings.temporal_ui_url,
        namespace=settings.temporal_namespace,
        scorecards=kept,
        false_alarm_threshold=false_alarm_threshold,
        on_call_pages=pages,
        unmatched_alerts=unmatched,
    )
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(data), encoding="utf-8")
        print(f"wrote {html}", file=sys.stderr)
    if json_out:
        print(json.dumps(data, indent=2, default=str))
    elif html is None:
        print_report(data)


@db_app.command("upgrade")
def db_upgrade(database_url: DbOpt = None) -> None:
    """Create the records database or bring its schema to the newest revision (data kept)."""
    from escalator.records.engine import current_revision, make_engine, upgrade

    engine = make_engine(_url(database_url))
    try:
        before = current_revision(engine)
        upgrade(engine)
        print(f"records database at revision {current_revision(engine)} (was {before or 'empty'})")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current(database_url: DbOpt = None) -> None:
    """Show the schema revision of the records database and the newest one available."""
    from escalator.records.engine import current_revision, head_revision, make_engine

    engine = make_engine(_url(database_url))
    try:
        info: dict[str, Any] = {"current": current_revision(engine), "head": head_revision()}
        print(json.dumps(info))
    finally:
        engine.dispose()
