"""Rule scorecards kept in the records: each `escalator scorecard` run adds one row per
rule, so `policy explain`, the report and `review` show the latest evidence without
reading the log again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from escalator.records.projection import as_utc
from escalator.records.store import Store
from escalator.records.tables import RuleScorecardRecord

__all__ = ["KeptScorecard", "keep_scorecards", "latest_scorecard", "latest_scorecards"]

CARDS = RuleScorecardRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class KeptScorecard:
    journey: str
    rule: str
    scored_at: datetime
    log: str
    policy_version: str | None
    figures: dict[str, Any]  # RuleScore.to_json(): precision, recall, lift (if scored), ...


def keep_scorecards(
    store: Store,
    *,
    journey: str,
    log: str,
    figures: list[dict[str, Any]],
    policy_version: str | None = None,
    at: datetime | None = None,
) -> int:
    """One row per rule's figures (each with a ``rule`` key); returns how many."""
    scored_at = at or datetime.now(UTC)
    rows = [
        {
            "journey": journey,
            "rule": str(f["rule"]),
            "scored_at": scored_at,
            "log": log,
            "policy_version": policy_version,
            "figures": f,
        }
        for f in figures
    ]
    if rows:
        with store.engine.begin() as conn:
            conn.execute(sa.insert(CARDS), rows)
    return len(rows)


def latest_scorecard(store: Store, rule: str) -> KeptScorecard | None:
    query = (
        sa.select(CARDS)
        .where(CARDS.c.rule == rule)
        .order_by(CARDS.c.scored_at.desc(), CARDS.c.id.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _kept(row) if row else None


def latest_scorecards(store: Store) -> dict[str, KeptScorecard]:
    """The latest scorecard of every rule ever scored."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(CARDS).order_by(CARDS.c.scored_at, CARDS.c.id)).mappings()
        return {row["rule"]: _kept(row) for row in rows}  # later rows win


def _kept(row: Any) -> KeptScorecard:
    at = as_utc(row["scored_at"])
    assert at is not None
    return KeptScorecard(
        journey=row["journey"],
        rule=row["rule"],
        scored_at=at,
        log=row["log"],
        policy_version=row["policy_version"],
        figures=dict(row["figures"] or {}),
    )
