"""`escalator scorecard`: every rule as a hypothesis, or one rule swept over thresholds.

Reads the log as `detect` does (same options, same quarantine, exit 2 on an unusable
log or bad options). The figures and their definitions: escalator/detectors/scorecard.py;
the sweep: escalator/detectors/sweep.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from escalator.cli.detect import LOG_HELP, _backtest, _fail, _policies, _quarantine_path
from escalator.cli.logs import AllowQuarantine, AssumeTimezone, LogChecks, MaxQuarantine
from escalator.detectors.log_checks import DEFAULT_MAX_QUARANTINE
from escalator.settings import Settings

__all__ = ["register"]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None, fmt: str = ".2f") -> str:
    return "-" if v is None else format(v, fmt)


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f}"


def _ci(ci: list[float] | None) -> str:
    return "" if ci is None else f"[{100 * ci[0]:.0f}-{100 * ci[1]:.0f}]"


def _table(rows: list[tuple[Any, Any]], first: str) -> list[str]:
    """One line per score: the figures a reader compares, intervals beside precision."""
    head = (
        f"{first}",
        "kind",
        "firings",
        "/day",
        "base",
        "precision [95% CI]",
        "lift",
        "recall",
        "late",
        "censored",
        "lead (h)",
        "attention",
    )
    body = [
        (
            str(label),
            s.kind,
            str(s.firings),
            f"{s.firings_per_day:.2f}",
            _pct(s.base_rate),
            f"{_pct(s.precision)} {_ci(s.precision_ci)}".strip(),
            _num(s.lift),
            _pct(s.recall),
            str(s.late),
            str(s.censored),
            _hours(s.median_lead_time_s),
            _num(s.attention_cost),
        )
        for label, s in rows
    ]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    out = []
    for r in [head, *body]:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
        out.append("  ".join(cells))
    return out


def scorecard(
    log: Path = typer.Option(..., "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(
        None, "--journey", help="Journey (if the policy has several)"
    ),
    sweep_rule: str | None = typer.Option(
        None, "--sweep", metavar="RULE", help="Score RULE over a range of thresholds"
    ),
    values: str | None = typer.Option(
        None, "--values", help="Sweep these values (comma-separated; durations for latency)"
    ),
    goal: str | None = typer.Option(
        None, "--goal", help='Sweep: constraints to meet, e.g. "precision>=0.6" (lead_time in h)'
    ),
    prefer: str = typer.Option(
        "lead_time", "--prefer", help="Sweep: among values meeting the goal, the best of this"
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
    """Score every rule as a hypothesis: base rate, precision, lift, recall, lead time, cost."""
    from escalator.detectors.scorecard import score_rules

    settings = Settings()
    policies = _policies(policy, settings)
    if sweep_rule is None and (values or goal):
        raise _fail("--values and --goal go with --sweep RULE")
    qpath = _quarantine_path(log, quarantine, settings)
    checks = LogChecks(max_quarantine, allow_quarantine)
    result = _backtest(log, policies, journey, assume_timezone, qpath, checks)
    if sweep_rule is not None:
        _sweep(result, policies, sweep_rule, values, goal, prefer, as_json)
        return
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
    for line in _table([(s.rule, s) for s in scores], "rule"):
        typer.echo(line)
    for s in scores:
        if s.lift is not None and s.lift <= 1:
            typer.echo(
                f"{s.rule}: lift {s.lift:.2f} - no better than chance "
                f"(base rate {_pct(s.base_rate)})"
            )


def _sweep(
    result: Any,
    policies: Any,
    name: str,
    values: str | None,
    goal: str | None,
    prefer: str,
    as_json: bool,
) -> None:
    from escalator.detectors.backtest import backtest_models
    from escalator.detectors.sweep import parse_goal, parse_values, show_value, sweep

    try:
        rule = policies.rule(name)
    except KeyError:
        raise _fail(f"--sweep: no rule named {name!r}") from None
    if rule.journey != result.journey.name:
        raise _fail(f"--sweep: rule {name} belongs to journey {rule.journey}; pass --journey")
    try:
        chosen = parse_values(rule, values) if values else None
        constraints = parse_goal(goal)
        swept = sweep(
            result.events,
            policies,
            result.journey,
            rule,
            chosen,
            goal=constraints,
            prefer=prefer,
            models=backtest_models(result.events, policies, result.journey),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(swept.to_json(), default=str))
        return
    typer.echo(f"{swept.rule}: {swept.parameter} (now {show_value(swept.current)})")
    for line in _table([(show_value(v), s) for v, s in swept.rows], swept.parameter):
        typer.echo(line)
    wanted = ", ".join(str(c) for c in swept.goal) or "no constraint"
    if swept.recommended is None:
        typer.echo(f"no value meets {wanted} with a known {prefer}")
        return
    value, score = swept.recommended
    typer.echo(
        f"recommended for {wanted}, best {prefer}: {swept.parameter} {show_value(value)} "
        f"(precision {_pct(score.precision)}, lift {_num(score.lift)}, "
        f"lead {_hours(score.median_lead_time_s)} h, attention {_num(score.attention_cost)})"
    )


def register(app: typer.Typer) -> None:
    app.command("scorecard")(scorecard)
