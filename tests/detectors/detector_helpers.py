"""Small hand-made logs and policy sets for detector tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from escalator.detectors.events import LINE, canonicalize
from escalator.policies.journeys import ColumnMapping
from escalator.policies.policy_set import PolicyDocument, PolicySet

JOURNEY = "orders"
OUTCOME = {"description": "order cancelled", "events": ["cancelled"]}


def rule(name: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "journey": JOURNEY,
        "owner": "ops",
        "escalation": "ops-escalation",
        "runbook": "https://runbooks.example/x",
        "predicts": OUTCOME,
        **fields,
    }


def policy_set(
    *rules: dict[str, Any],
    calendar: dict[str, Any] | None = None,
    journey: dict[str, Any] | None = None,
) -> PolicySet:
    j: dict[str, Any] = {
        "name": JOURNEY,
        "slis": [
            {
                "type": "availability",
                "name": "shipped",
                "valid_events": ["created"],
                "good_events": ["shipped"],
                "objective": 99,
            }
        ],
        "completing_events": ["shipped", "cancelled"],
    }
    if calendar is not None:
        j["calendar"] = calendar["name"]
    j.update(journey or {})
    doc = PolicyDocument.model_validate(
        {
            "journeys": [j],
            "rules": list(rules),
            "roles": [{"name": "ops", "members": [{"name": "ann"}]}],
            "escalation_policies": [
                {"name": "ops-escalation", "levels": [{"role": "ops", "response_time": "15m"}]}
            ],
            "calendars": [calendar] if calendar else [],
        }
    )
    return PolicySet.merge([doc])


def events(rows: Sequence[tuple[Any, ...]], **attrs: Sequence[Any]) -> pl.DataFrame:
    """Rows of (case, event, ISO timestamp with offset); line = row number + 1."""
    raw = pl.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": [r[2] for r in rows],
            **{k: pl.Series(k, list(v), dtype=pl.String) for k, v in attrs.items()},
            LINE: list(range(1, len(rows) + 1)),
        },
        schema_overrides={"case:concept:name": pl.String, "concept:name": pl.String},
    )
    result = canonicalize(raw, ColumnMapping(), source="test")
    assert not result.quarantine.rows, result.quarantine.rows
    return result.events


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)
