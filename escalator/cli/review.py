"""`escalator review EXCEPTION_ID`: a post-incident review in Markdown from the records,
ready to paste into a team's review document (``--output FILE`` writes it there)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from escalator.cli.records import DbOpt, _open_store, _url

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("review")(review)


def review(
    exception_id: Annotated[
        str, typer.Argument(help="The exception, e.g. exc:orderToShip:payment_pending:o-17.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the Markdown to FILE.", metavar="FILE"),
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """A post-incident review: timeline, pages and answers, times, cause, notes, the rule's
    scorecard and suggested follow-ups."""
    from escalator.records.review import build_review

    store = _open_store(_url(database_url))
    try:  # no such exception: an InputError, one line and exit 2 (cli/main.py)
        text = build_review(store, exception_id)
    finally:
        store.close()
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)
