"""`escalator slo export --openslo` and `escalator slo import FILE`: journeys' SLOs in
and out as OpenSLO v1 documents (docs/integrations.md, "OpenSLO").

    escalator slo export --openslo > slos.yaml          # every journey of the policies
    escalator slo export --openslo --journey orderToShip -o order.yaml
    escalator slo import slos.yaml -o journeys.yaml      # journeys for a policy directory
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from ruamel.yaml import YAML

from escalator.cli.errors import fail
from escalator.cli.policy import _load_or_exit
from escalator.policies.openslo_export import openslo_documents
from escalator.policies.openslo_import import import_openslo

__all__ = ["register", "slo_app"]

slo_app = typer.Typer(
    name="slo",
    help="Journeys' SLOs in and out as OpenSLO v1 documents.",
    no_args_is_help=True,
)
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(slo_app, name="slo")


def _dump(documents: list[Any], header: str = "") -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    out.write(header)
    yaml.dump_all(documents, out)
    return out.getvalue()


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        fail(f"{output}: cannot write: {err.strerror or err}")
    print(f"wrote {output}", file=sys.stderr)


@slo_app.command("export")
def export_cmd(
    openslo: Annotated[
        bool, typer.Option("--openslo", help="OpenSLO v1 documents (the one format so far).")
    ] = False,
    journey: Annotated[
        list[str] | None, typer.Option("--journey", help="Only this journey (repeatable).")
    ] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option("--policy", help="Policy file or directory (repeatable)."),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Each journey's SLIs, SLOs and burn-rate tiers as OpenSLO v1 YAML documents."""
    if not openslo:
        fail("say which format: --openslo (OpenSLO v1) is the one there is")
    policies = _load_or_exit(policy).policies
    chosen = policies.journeys
    if journey:
        known = {j.name for j in policies.journeys}
        unknown = [name for name in journey if name not in known]
        if unknown:
            fail(
                f"--journey {unknown[0]}: no such journey; "
                f"known: {', '.join(sorted(known)) or 'none'}"
            )
        chosen = [j for j in policies.journeys if j.name in journey]
    _write(_dump(openslo_documents(chosen)), output)


@slo_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="OpenSLO v1 YAML (SLO, SLI, alert documents).")],
    output: OutputOpt = None,
) -> None:
    """OpenSLO SLO and SLI documents as journeys (YAML for the policy directory);
    SLIs from other sources get TODO events to complete, listed at the top."""
    imported = import_openslo(file)
    lines = [f"# Imported from {file.name} by `escalator slo import`.\n"]
    if imported.todo:
        lines.append("# TODO: complete before use (`escalator policy check` then loads it):\n")
        lines += [f"#   - {item}\n" for item in imported.todo]
    journeys = [j.model_dump(mode="json", exclude_defaults=True) for j in imported.journeys]
    _write(_dump([{"journeys": journeys}], "".join(lines)), output)
    for item in imported.ignored:
        print(f"ignored {item}: escalator has no use for its kind", file=sys.stderr)
    if imported.todo:
        print(
            f"{len(imported.todo)} item(s) marked TODO to complete (listed at the top)",
            file=sys.stderr,
        )
