"""`escalator detect` (backtest a log, or watch a SQL source) and `escalator scorecard`.

Exit codes: 0 done; 2 the input is unusable (no such file, unknown format, a damaged
file, policy errors, bad options) with a message naming what to fix. Rows the
detectors cannot use go to the quarantine file and are counted; a log with no events
or more than ``--max-quarantine`` of its rows quarantined is refused (exit 2, the top
reasons with their lines) unless ``--allow-quarantine`` (escalator/cli/logs.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from escalator.cli.logs import AllowQuarantine, AssumeTimezone, LogChecks, MaxQuarantine, admit_log
from escalator.detectors.log_checks import DEFAULT_MAX_QUARANTINE
from escalator.detectors.log_errors import LogFormatError
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings

if TYPE_CHECKING:
    from escalator.detectors.watch import WatchConfig
    from escalator.policies.journeys import Journey

__all__ = ["LOG_HELP", "register"]

LOG_HELP = "Event log: .csv .jsonl .parquet .xes (.csv .jsonl .xes also gzipped: .gz)"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _policies(policy: Path | None, settings: Settings) -> PolicySet:
    from escalator.policies.loader import load_policies

    # a PolicyError ends in the root command (cli/main.py): one line, exit 2
    return load_policies([policy or settings.policy_dir])


def _quarantine_path(log: Path, given: Path | None, settings: Settings) -> Path:
    return given or settings.state_dir / "quarantine" / f"{log.name}.jsonl"


def _backtest(
    log: Path,
    policies: PolicySet,
    journey: str | None,
    assume_timezone: str | None,
    quarantine: Path,
    checks: LogChecks,
) -> Any:
    """The backtest of the log, which must be fit to judge (exit 2 with the reasons if not)."""
    from escalator.detectors.backtest import run_backtest

    try:
        result = run_backtest(log, policies, journey=journey, assume_timezone=assume_timezone)
    except (LogFormatError, KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from None
    result.quarantine.write(quarantine)
    admit_log(result.read, result.journey, policies, checks, quarantine)
    return result


def read_journey_log(
    log: Path,
    policies: PolicySet,
    journey: str | None,
    assume_timezone: str | None,
    quarantine: Path,
    checks: LogChecks,
) -> tuple[Journey, Any]:
    """The chosen journey and its log read the way `detect` reads it (quarantine written)."""
    from escalator.detectors.backtest import choose_journey
    from escalator.detectors.readers import read_log

    try:
        chosen = choose_journey(policies, journey)
        read = read_log(log, chosen, assume_timezone=assume_timezone)
    except (LogFormatError, KeyError, ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc).strip("'\"")) from None
    read.quarantine.write(quarantine)
    admit_log(read, chosen, policies, checks, quarantine)
    return chosen, read


def detect(
    log: Path | None = typer.Option(None, "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(
        None, "--journey", help="Journey (if the policy has several)"
    ),
    backtest: bool = typer.Option(False, "--backtest", help="Replay the whole log, no look-ahead"),
    watch: bool = typer.Option(False, "--watch", help="Poll a SQL source and raise exceptions"),
    source: str | None = typer.Option(None, "--source", help="SQLAlchemy URL of the event table"),
    table: str | None = typer.Option(None, "--table", help="Event table ([schema.]name)"),
    id_column: str = typer.Option("id", "--id-column", help="Tie-breaker column of the watermark"),
    poll: str = typer.Option("1s", "--poll", help="Poll interval, e.g. 1s, 30s, 5m"),
    once: bool = typer.Option(False, "--once", help="Watch: one poll, then exit"),
    assume_timezone: AssumeTimezone = None,
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Quarantine JSONL file"),
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Find exceptions: --backtest over a log file, or --watch a SQL table."""
    settings = Settings()
    if backtest == watch:
        raise _fail(
            "give exactly one of --backtest (with --log) or --watch (with --source, --table)"
        )
    policies = _policies(policy, settings)
    if backtest:
        if log is None:
            raise _fail("--backtest needs --log FILE")
        qpath = _quarantine_path(log, quarantine, settings)
        checks = LogChecks(max_quarantine, allow_quarantine)
        result = _backtest(log, policies, journey, assume_timezone, qpath, checks)
        if as_json:
            typer.echo(json.dumps(result.to_json(qpath), default=str))
            return
        firings = [f for r in result.results for f in r.firings()]
        firings.sort(key=lambda f: (f.onset, f.rule, f.subject))
        for f in firings:
            what = (
                f.detail.get("deviation") or f.detail.get("missing") or f.detail.get("state") or ""
            )
            typer.echo(f"{f.onset.isoformat()}  {f.rule:<24} {f.subject:<28} {what}")
        typer.echo(
            f"{result.events.height} events, {len(firings)} firings "
            f"({', '.join(f'{r.rule.name}: {r.frame.height}' for r in result.results)}); "
            f"{len(result.quarantine)} rows quarantined -> {qpath}",
            err=True,
        )
        return
    if source is None or table is None:
        raise _fail("--watch needs --source URL and --table NAME")
    from escalator.detectors.watch import WatchConfig
    from escalator.policies.duration import parse_duration

    try:
        interval = parse_duration(poll)
    except ValueError as exc:
        raise _fail(f"--poll: {exc}") from None
    from escalator.detectors.backtest import choose_journey

    try:
        chosen = choose_journey(policies, journey)
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from None
    config = WatchConfig(
        source_url=source,
        table=table,
        id_column=id_column,
        poll=interval,
        state_file=settings.state_dir / "watch" / f"{chosen.name}.{table}.json",
        quarantine_file=quarantine or settings.state_dir / "quarantine" / f"{table}.jsonl",
        assume_timezone=assume_timezone,
        model_dir=settings.state_dir / "models",  # where `escalator predict train` saves
    )
    from escalator.cli.temporal import run

    async def go(client: Any) -> None:  # connected by run: unreachable is one line, exit 3
        await run_watch(config, policies, chosen, settings=settings, once=once, client=client)

    # Returns normally (no os._exit): tests drive the watch in-process with CliRunner.
    run(go, timeout=None, settings=settings)


async def run_watch(
    config: WatchConfig,
    policies: PolicySet,
    journey: Journey,
    *,
    settings: Settings,
    once: bool = False,
    client: Any = None,
) -> None:
    """Connect to Temporal (wiring lives here, not in escalator/detectors/) and poll until stopped."""
    from escalator.client import connect
    from escalator.detectors.watch import TemporalSink, Watcher

    if client is None:
        client = await connect(settings.temporal_address, namespace=settings.temporal_namespace)
    watcher = Watcher(
        config, policies, journey, TemporalSink(client, policies, settings.temporal_task_queue)
    )
    try:
        await watcher.run(once=once)
    finally:
        watcher.close()


def scorecard(
    log: Path = typer.Option(..., "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(
        None, "--journey", help="Journey (if the policy has several)"
    ),
    assume_timezone: AssumeTimezone = None,
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Quarantine JSONL file"),
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    keep: bool | None = typer.Option(
        None,
        "--keep/--no-keep",
        help="Keep each rule's scorecard in the records for policy explain, the report and "
        "review (default: when the records database exists).",
        show_default=False,
    ),
) -> None:
    """Score every rule as a hypothesis: precision, recall, lead time, attention cost."""
    from escalator.detectors.scorecard import score_rules

    settings = Settings()
    policies = _policies(policy, settings)
    qpath = _quarantine_path(log, quarantine, settings)
    checks = LogChecks(max_quarantine, allow_quarantine)
    result = _backtest(log, policies, journey, assume_timezone, qpath, checks)
    scores = score_rules(result.events, result.journey, result.results)
    if keep is not False:
        from escalator.cli.kept_scorecards import keep_scores

        keep_scores(
            settings.resolved_database_url,
            journey=result.journey.name,
            log=str(log),
            figures=[s.to_json() for s in scores],
            policy_version=policies.version,
            create=keep is True,
        )
    if as_json:
        payload = {
            "log": str(log),
            "journey": result.journey.name,
            "events": result.events.height,
            "quarantined": len(result.quarantine),
            "rules": [s.to_json() for s in scores],
        }
        typer.echo(json.dumps(payload, default=str))
        return

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:5.1f}%"

    width = max([len("rule"), *(len(s.rule) for s in scores)])
    typer.echo(
        f"{'rule':<{width}} {'kind':<12} {'firings':>8} {'/day':>7} {'precision':>9} "
        f"{'recall':>7} {'lead (h)':>9} {'attention':>9}"
    )
    for s in scores:
        lead = "-" if s.median_lead_time_s is None else f"{s.median_lead_time_s / 3600:.1f}"
        cost = "-" if s.attention_cost is None else f"{s.attention_cost:.2f}"
        typer.echo(
            f"{s.rule:<{width}} {s.kind:<12} {s.firings:>8} {s.firings_per_day:>7.2f} "
            f"{pct(s.precision):>9} {pct(s.recall):>7} {lead:>9} {cost:>9}"
        )


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("detect")(detect)
    app.command("scorecard")(scorecard)
