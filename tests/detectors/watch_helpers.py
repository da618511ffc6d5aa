"""A SQL event table, a recording sink and a policy set for watch-mode tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from escalator.detectors.firing import Firing
from escalator.detectors.watch import WatchConfig
from escalator.policies.policy_set import PolicyDocument, PolicySet

WATCH_POLICY = {
    "journeys": [
        {
            "name": "orders",
            "events": ["created", "waiting", "allocated", "shipped"],
            "columns": {
                "case_id": "case_id",
                "event_name": "event",
                "timestamp": "ts",
                "actor": "actor",
            },
            "slis": [
                {
                    "type": "availability",
                    "name": "shipped",
                    "valid_events": ["created"],
                    "good_events": ["shipped"],
                    "objective": 99,
                }
            ],
        }
    ],
    "rules": [
        {
            "name": "stuck",
            "kind": "latency",
            "journey": "orders",
            "owner": "ops",
            "escalation": "ops-escalation",
            "state": "waiting",
            "threshold": "1h",
            "predicts": {
                "description": "not shipped in a day",
                "not_reached": "shipped",
                "within": "1d",
            },
            "runbook": "https://runbooks.example/stuck",
        }
    ],
    "roles": [{"name": "ops", "slack_channel": "#ops", "members": [{"name": "ann"}]}],
    "escalation_policies": [
        {"name": "ops-escalation", "levels": [{"role": "ops", "response_time": "15m"}]}
    ],
}


def watch_policies() -> PolicySet:
    return PolicySet.merge([PolicyDocument.model_validate(WATCH_POLICY)])


def create_table(url: str, table: str, *, timestamptz: bool = False) -> sa.Engine:
    engine = sa.create_engine(url)
    schema, _, name = table.rpartition(".")
    ts_type: sa.types.TypeEngine[Any] = sa.DateTime(timezone=True) if timestamptz else sa.Text()
    sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Text),
        sa.Column("event", sa.Text),
        sa.Column("ts", ts_type),
        sa.Column("actor", sa.Text),
        schema=schema or None,
    ).create(engine)
    return engine


def insert(engine: sa.Engine, table: str, *rows: tuple[str | None, str, object]) -> None:
    schema, _, name = table.rpartition(".")
    t = sa.Table(name, sa.MetaData(), autoload_with=engine, schema=schema or None)
    with engine.begin() as conn:
        conn.execute(
            t.insert(),
            [
                {
                    "case_id": c,
                    "event": e,
                    "ts": ts.isoformat()
                    if isinstance(ts, datetime) and not isinstance(t.c.ts.type, sa.DateTime)
                    else ts,
                    "actor": "sys",
                }
                for c, e, ts in rows
            ],
        )


def config(tmp: Path, url: str, table: str) -> WatchConfig:
    return WatchConfig(
        source_url=url,
        table=table,
        state_file=tmp / "state" / "watch.json",
        quarantine_file=tmp / "quarantine.jsonl",
    )


@dataclass
class Recorder:
    """The ExceptionSink protocol, remembering what was raised and cleared."""

    raised: list[tuple[str, datetime]] = field(default_factory=list)
    cleared: list[tuple[str, datetime]] = field(default_factory=list)

    async def raise_(self, firing: Firing, detected_at: datetime) -> None:
        self.raised.append((firing.dedupe_key, firing.onset))

    async def clear(self, journey: str, rule: str, subject: str, at: datetime) -> None:
        self.cleared.append((f"exc:{journey}:{rule}:{subject}", at))
