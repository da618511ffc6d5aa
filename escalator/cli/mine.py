"""`escalator mine`: variants, directly-follows graph, rework, correlations, bottlenecks.

Reads the log through the same helper as `detect` (same options, same quarantine).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from escalator.cli.detect import LOG_HELP, _backtest, _fail, _policies, _quarantine_path
from escalator.cli.logs import (
    AllowQuarantine,
    AssumeTimezone,
    LogChecks,
    MaxQuarantine,
    naming_the_log,
)
from escalator.detectors.log_checks import DEFAULT_MAX_QUARANTINE
from escalator.settings import Settings

__all__ = ["register"]


def mine_command(
    log: Path = typer.Option(..., "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(None, "--journey", help="Journey (if several)"),
    assume_timezone: AssumeTimezone = None,
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Quarantine JSONL file"),
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    outcome_rule: str | None = typer.Option(
        None, "--outcome-rule", help="Judge by this rule's predicts"
    ),
    html: Path | None = typer.Option(None, "--html", help="Write the HTML page here"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Mine the log: real paths, rework, what correlates with the bad outcome."""
    from escalator.analytics.mining.frame import bad_outcome
    from escalator.analytics.mining.mine import mine
    from escalator.analytics.mining.render_html import render_html

    settings = Settings()
    policies = _policies(policy, settings)
    qpath = _quarantine_path(log, quarantine, settings)
    checks = LogChecks(max_quarantine, allow_quarantine)
    result = _backtest(log, policies, journey, assume_timezone, qpath, checks)
    try:
        outcome = bad_outcome(policies, result.journey, outcome_rule)
    except KeyError as exc:
        raise _fail(str(exc).strip("'\"")) from None
    cal = policies.calendar(result.journey.calendar) if result.journey.calendar else None
    with naming_the_log(log):  # no events left (every row quarantined, --allow-quarantine)
        mined = mine(
            result.events,
            result.journey.name,
            outcome,
            cal,
            completing_events=result.journey.completing_events,
        )
    if html is not None:
        html.write_text(render_html(mined), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(mined.data, default=str))
        return
    d = mined.data
    typer.echo(f"{d['events']} events, {d['cases']} cases, {d['variant_count']} variants")
    for v in d["variants"][:10]:
        typer.echo(f"{v['count']:>7} {100 * v['share']:5.1f}%  {' -> '.join(v['activities'])}")


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_command)
