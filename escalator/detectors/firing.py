"""A firing: one moment a rule's condition became true for one subject.

Rules return firings as a polars frame (``FIRING_SCHEMA``) so millions of them stay
cheap; :func:`to_firings` turns a frame into :class:`Firing` models for reports, the
CLI and the watch loop, and :meth:`Firing.to_detection` into the contract the
exception workflow is started with.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from escalator.policies.rules import RuleKind, Severity
from escalator.workflows.contracts import Detection, dedupe_key

__all__ = ["FIRING_SCHEMA", "MAX_EVIDENCE", "Firing", "empty_firings", "to_firings"]

# Evidence is for a person to look at; a window with 50,000 defects lists the first 100.
MAX_EVIDENCE = 100

FIRING_SCHEMA: dict[str, pl.DataType] = {
    "subject": pl.String(),
    "onset": pl.Datetime("us", "UTC"),
    "cleared_at": pl.Datetime("us", "UTC"),
    "evidence": pl.List(pl.Int64()),
    "detail": pl.String(),  # JSON object: what the owner needs to see
}


def empty_firings() -> pl.DataFrame:
    return pl.DataFrame(schema=FIRING_SCHEMA)


class Firing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    journey: str
    kind: RuleKind
    severity: Severity = "medium"
    subject: str  # case id, or "window@<start>" for aggregate rules
    onset: datetime  # when the condition became true, not when it was noticed
    cleared_at: datetime | None = None  # when the case left the state / the window recovered
    evidence: list[int] = Field(
        default_factory=list
    )  # source lines of the events that made it true
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(self.journey, self.rule, self.subject)

    def to_detection(self, detected_at: datetime | None = None) -> Detection:
        return Detection(
            journey=self.journey,
            rule=self.rule,
            subject=self.subject,
            onset=self.onset,
            detected_at=detected_at,
            attributes={"kind": self.kind, "severity": self.severity},
            payload={**self.detail, "evidence_lines": self.evidence},
        )


def to_firings(
    frame: pl.DataFrame, *, rule: str, journey: str, kind: RuleKind, severity: Severity = "medium"
) -> list[Firing]:
    return [
        Firing(
            rule=rule,
            journey=journey,
            kind=kind,
            severity=severity,
            subject=row["subject"],
            onset=row["onset"],
            cleared_at=row["cleared_at"],
            evidence=list(row["evidence"] or []),
            detail=json.loads(row["detail"]) if row["detail"] else {},
        )
        for row in frame.sort("onset", "subject").iter_rows(named=True)
    ]
