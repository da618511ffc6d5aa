"""`escalator predict train|evaluate`: remaining-time and breach-risk models of a journey.

Logs are read exactly as `escalator detect` reads them (same options, same
quarantine). Exit codes: 0 done; 2 unusable input, with a message naming what to fix.
"""

from __future__ import annotations

import json
from datetime import datetime
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

__all__ = ["default_model_path", "register"]

app = typer.Typer(help="Predict remaining time and SLI breach risk for cases in flight.")


def default_model_path(settings: Settings, journey: str) -> Path:
    return settings.state_dir / "models" / f"{journey}.json"


def _until(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--until {value!r}: expected ISO-8601, e.g. 2026-03-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise _fail(f"--until {value!r}: give an offset (e.g. Z or +01:00)")
    return moment


@app.command("train")
def train(
    log: Path = typer.Option(..., "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(None, "--journey", help="Journey (if several)"),
    until: str | None = typer.Option(None, "--until", help="Learn only from events up to T"),
    out: Path | None = typer.Option(None, "--out", help="Model file (default: state dir)"),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same model)"),
    assume_timezone: AssumeTimezone = None,
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Quarantine JSONL file"),
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Train the models on completed cases (80/20 chronological train/validation)."""
    from escalator.detectors.prediction.protocol import train_predictor

    settings = Settings()
    policies = _policies(policy, settings)
    qpath = _quarantine_path(log, quarantine, settings)
    checks = LogChecks(max_quarantine, allow_quarantine)
    chosen, read = read_journey_log(log, policies, journey, assume_timezone, qpath, checks)
    try:
        predictor = train_predictor(read.events, policies, chosen, until=_until(until), seed=seed)
    except ValueError as exc:  # too few completed cases: the message says what to do
        raise _fail(f"{log}: {exc}") from None
    path = out or default_model_path(settings, chosen.name)
    predictor.save(path)
    summary = {
        "model": str(path),
        "journey": chosen.name,
        "model_version": predictor.version,
        "training_window": predictor.meta["training_window"],
        "slis": predictor.meta["slis"],
        "bytes": path.stat().st_size,
        "quarantined": len(read.quarantine),
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    window = predictor.meta["training_window"]
    typer.echo(
        f"model {predictor.version} for {chosen.name}: {window['cases']} cases, "
        f"{window['prefixes']} prefixes, breach risk for {', '.join(summary['slis']) or 'no SLI'}"
        f" -> {path} ({summary['bytes'] / 1e6:.1f} MB)"
    )


@app.command("evaluate")
def evaluate(
    log: Path = typer.Option(..., "--log", help=LOG_HELP),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file or directory"),
    journey: str | None = typer.Option(None, "--journey", help="Journey (if several)"),
    seed: int = typer.Option(7, "--seed", help="Random seed"),
    assume_timezone: AssumeTimezone = None,
    quarantine: Path | None = typer.Option(None, "--quarantine", help="Quarantine JSONL file"),
    max_quarantine: MaxQuarantine = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: AllowQuarantine = False,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    html: Path | None = typer.Option(None, "--html", help="Write an HTML report here"),
) -> None:
    """The published protocol: 64/16/20 by case start, prefixes 2..n-1, MAE in days."""
    from escalator.detectors.prediction.protocol import evaluate_protocol

    settings = Settings()
    policies = _policies(policy, settings)
    qpath = _quarantine_path(log, quarantine, settings)
    checks = LogChecks(max_quarantine, allow_quarantine)
    chosen, read = read_journey_log(log, policies, journey, assume_timezone, qpath, checks)
    try:
        with naming_the_log(log):  # too few cases to evaluate (e.g. every row quarantined)
            result = evaluate_protocol(read.events, policies, chosen, seed=seed)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    result = {"log": str(log), "quarantined": len(read.quarantine), **result}
    if html is not None:
        from escalator.analytics.predict_report import render_evaluation

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_evaluation(result), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(
        f"{chosen.name}: MAE {result['mae_days']} days over {result['test_prefixes']} test "
        f"prefixes (baseline {result['baseline_mae_days']}); trained in {result['train_seconds']} s"
    )
    for sli, b in result["breach"].items():
        typer.echo(
            f"  breach {sli}: base rate {b['base_rate']}, Brier {b['brier']}, AUC {b['auc']}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="predict")
