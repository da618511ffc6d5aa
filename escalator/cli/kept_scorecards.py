"""Scorecards kept in the records, from the command line: `escalator scorecard` keeps
each rule's figures, `policy explain RULE` and `review` show the latest.

The records database is optional for both: a scorecard that cannot be kept says so in
one line on stderr and is still printed; `policy explain` without a records database
(or without a scorecard of the rule) says so in its output and explains the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from escalator.analytics.formatting import format_percent, format_seconds
from escalator.analytics.rule_learning import scorecard_view

if TYPE_CHECKING:
    from escalator.records.scorecards import KeptScorecard

__all__ = ["keep_scores", "latest_kept", "scorecard_lines"]

_UNAVAILABLE = (sa.exc.ArgumentError, sa.exc.OperationalError, sa.exc.NoSuchModuleError)


def _sqlite_missing(url: str) -> bool:
    parsed = sa.make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return False
    return not Path(path).exists()


def keep_scores(
    url: str,
    *,
    journey: str,
    log: str,
    figures: list[dict[str, Any]],
    policy_version: str,
    create: bool = False,
) -> None:
    """Keep the figures; without ``create`` only in a records database that exists (a
    scorecard run on a laptop never leaves a database file behind unasked)."""
    from escalator.records.scorecards import keep_scorecards
    from escalator.records.store import Store

    if not create and _sqlite_missing(url):
        print(
            f"note: scorecard not kept: no records database at {sa.make_url(url).database} "
            "yet (--keep creates it; policy explain and review show kept scorecards)",
            file=sys.stderr,
        )
        return
    try:
        store = Store.open(url)
    except _UNAVAILABLE as exc:
        reason = str(exc).splitlines()[0]
        print(
            f"warning: scorecard not kept in the records ({reason}); policy explain and "
            "the report will not show it (set ESCALATOR_DATABASE_URL or --database-url)",
            file=sys.stderr,
        )
        return
    try:
        keep_scorecards(
            store, journey=journey, log=log, figures=figures, policy_version=policy_version
        )
    finally:
        store.close()


def latest_kept(url: str, rule: str) -> tuple[KeptScorecard | None, str | None]:
    """The rule's latest kept scorecard, or why there is none to show."""
    from escalator.records.scorecards import latest_scorecard
    from escalator.records.store import Store

    if _sqlite_missing(url):  # never create a database just to look into it
        return None, "no records database yet"
    try:
        store = Store.open(url)
    except _UNAVAILABLE as exc:
        return None, f"records database unavailable: {str(exc).splitlines()[0]}"
    try:
        kept = latest_scorecard(store, rule)
    finally:
        store.close()
    return kept, None if kept else "none kept yet"


def scorecard_lines(kept: KeptScorecard | None, problem: str | None, rule: str) -> list[str]:
    """The scorecard in a few plain lines (Markdown-safe), or what to run to get one."""
    if kept is None:
        return [
            f"scorecard: {problem or 'none kept yet'} "
            f"(run: escalator scorecard --journey JOURNEY --log FILE, which keeps {rule}'s)"
        ]
    v = scorecard_view(kept.figures)
    lift = (
        "lift not in this scorecard (scored before lift existed: score it again)"
        if not v.has_lift
        else f"lift {'-' if v.lift is None else f'{v.lift:.2f}'}, base rate "
        f"{format_percent(v.base_rate)}"
    )
    lead = format_seconds(v.median_lead_time_s)
    return [
        f"scorecard of {kept.scored_at:%Y-%m-%d %H:%M} UTC over {kept.log} "
        f"(policy version {kept.policy_version or '?'}):",
        f"  firings {v.firings if v.firings is not None else '-'}, precision "
        f"{format_percent(v.precision)}, recall {format_percent(v.recall)}, {lift}, "
        f"median lead time {lead}",
    ]
