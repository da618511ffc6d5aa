"""`escalator suggest`: rules proposed from the log, as YAML on stdout or in --out FILE.

`--out` writes the file only once the rules are made: `> policies/proposed.yaml` would
have the shell create an empty file among the policies the command is about to read.

Reads the log as `detect` does (same options and quarantine). The new rules reuse the
owner role and escalation policy of the journey's first rule unless --owner /
--escalation name others; the file then passes `policy check` beside the policies.
"""

from __future__ import annotations

from pathlib import Path

import typer

from escalator.cli.detect import LOG_HELP, _fail, _policies, _quarantine_path, read_journey_log
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


def suggest_command(
    log: Path = typer.Option(..., "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(None, "--journey", help="Journey (if several)"),
    coverage: float = typer.Option(
        0.8, "--coverage", min=0.01, max=1.0, help="Share of cases the reference model covers"
    ),
    owner: str | None = typer.Option(None, "--owner", help="Owner role of the proposed rules"),
    escalation: str | None = typer.Option(None, "--escalation", help="Their escalation policy"),
    outcome_rule: str | None = typer.Option(
        None, "--outcome-rule", help="Predict this rule's outcome (default: the journey's first)"
    ),
    assume_timezone: AssumeTimezone = None,
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Quarantine JSONL file"),
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    out: Path | None = typer.Option(
        None, "--out", help="Write the proposed rules here (may be inside the policy directory)"
    ),
) -> None:
    """Propose rules from the log (latency, conformance, volume, correlated patterns)."""
    from escalator.analytics.mining.frame import bad_outcome
    from escalator.analytics.suggest import suggest

    settings = Settings()
    policies = _policies(policy, settings)
    qpath = _quarantine_path(log, quarantine, settings)
    checks = LogChecks(max_quarantine, allow_quarantine)
    chosen, read = read_journey_log(log, policies, journey, assume_timezone, qpath, checks)
    try:
        outcome = bad_outcome(policies, chosen, outcome_rule)
    except KeyError as exc:
        raise _fail(str(exc).strip("'\"")) from None
    if outcome is None:
        raise _fail(
            f"journey {chosen.name} has no rule and no availability SLI with bad_events: "
            "nothing says what a bad outcome is (add one, or pass --outcome-rule)"
        )
    own = [r for r in policies.rules if r.journey == chosen.name]
    role = owner or (own[0].owner if own else None)
    policy_name = escalation or (own[0].escalation if own else None)
    if role is None or policy_name is None:
        raise _fail(
            f"journey {chosen.name} has no rule to copy from: pass --owner and --escalation"
        )
    with naming_the_log(log):  # no events left (every row quarantined, --allow-quarantine)
        proposed = suggest(
            read.events, policies, chosen, outcome, owner=role, escalation=policy_name,
            coverage=coverage,
        )  # fmt: skip
    text = proposed.to_yaml()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{out}: cannot write the proposed rules ({exc.strerror or exc})") from None
    typer.echo(
        f"wrote the proposed rules to {out}; check them with: escalator policy check", err=True
    )


def register(app: typer.Typer) -> None:
    app.command("suggest")(suggest_command)
