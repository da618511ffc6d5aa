"""Small hand-checked fixtures: five exception runs and an eight-case event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from escalator.analytics.schema import EXCEPTION_SCHEMA, LOG_SCHEMA
from escalator.policies.journeys import Journey

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday of ISO week 2026-W10
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
AS_OF = T + 9 * D + 2 * H

COLUMNS = [
    "exception_id", "run_id", "journey", "rule", "owner_role", "severity",
    "onset", "detected_at", "acknowledged_at", "resolved_at", "highest_level", "reopened_from",
]  # fmt: skip
ROWS = [
    ("A", "r1", "orderToShip", "payment_pending", "billing", "high",
     T - 10 * M, T, T + 5 * M, T + 60 * M, 1, None),
    ("B", "r1", "orderToShip", "payment_pending", "billing", "high",
     T + D - 30 * M, T + D, T + D + 15 * M, T + D + 3 * H, 2, None),
    ("C", "r1", "orderToShip", "awaiting_inventory", "inventory", "medium",
     T + 2 * D - H, T + 2 * D, None, T + 2 * D + 30 * M, 1, None),
    ("C", "r2", "orderToShip", "awaiting_inventory", "inventory", "medium",
     T + 8 * D, T + 8 * D, None, None, 1, "r1"),
    ("D", "r1", "ticketToResolution", "awaiting_customer", "support", "low",
     T + 9 * D - 2 * H, T + 9 * D, T + 9 * D + 40 * M, None, 3, None),
]  # fmt: skip


def exceptions(rows: list[tuple] | None = None) -> pl.DataFrame:
    rows = ROWS if rows is None else rows
    data = {name: [r[i] for r in rows] for i, name in enumerate(COLUMNS)}
    frame = pl.DataFrame(data, schema={n: EXCEPTION_SCHEMA[n] for n in COLUMNS})
    return frame.with_columns(
        pl.when(pl.col("resolved_at").is_not_null())
        .then(pl.lit("resolved"))
        .when(pl.col("acknowledged_at").is_not_null())
        .then(pl.lit("acknowledged"))
        .otherwise(pl.lit("open"))
        .alias("state"),
        # report_steps records every resolution with cause "x" and nothing said of "real"
        pl.when(pl.col("resolved_at").is_not_null())
        .then(pl.lit("x"))
        .otherwise(None)
        .alias("resolution_cause"),
        pl.lit(None, pl.Boolean).alias("resolution_real"),
    ).select(list(EXCEPTION_SCHEMA))


T0 = datetime(2026, 4, 6, 0, 0, tzinfo=UTC)
LOG_AS_OF = T0 + 2 * D


def event_log() -> pl.DataFrame:
    events = [
        ("c1", "order_created", T0, None), ("c1", "order_shipped", T0 + H, None),
        ("c2", "order_created", T0, None), ("c2", "order_cancelled", T0 + 30 * M, None),
        ("c3", "order_created", T0 + D + 20 * H, "express"),
        ("c3", "order_shipped", T0 + D + 23 * H, None),
        ("c4", "order_created", T0 + D + 23 * H, None),
        ("c5", "order_shipped", T0 + D + 23 * H + 30 * M, None),
        ("c6", "order_created", T0 + D + 23 * H + 10 * M, None),
        ("c6", "order_cancelled", T0 + D + 23 * H + 40 * M, None),
        ("c7", "order_created", T0 - 10 * D, None), ("c7", "order_shipped", T0 - 10 * D + H, None),
        ("c8", "order_created", T0 + D, None), ("c8", "order_shipped", T0 + 3 * D, None),
    ]  # fmt: skip
    return pl.DataFrame(
        {
            "case_id": [e[0] for e in events],
            "event_name": [e[1] for e in events],
            "timestamp": [e[2] for e in events],
            "actor": ["clerk"] * len(events),
            "priority": [e[3] for e in events],
        },
        schema={**LOG_SCHEMA, "priority": pl.String()},
    )


def journey(min_volume: int = 2) -> Journey:
    return Journey.model_validate(
        {
            "name": "orderToShip",
            "window": "7d",
            "min_volume": min_volume,
            "completing_events": ["order_shipped", "order_cancelled"],
            "slis": [
                {
                    "type": "availability",
                    "name": "shipped",
                    "valid_events": ["order_created"],
                    "good_events": ["order_shipped"],
                    "bad_events": ["order_cancelled"],
                    "objective": 90,
                },
                {
                    "type": "latency",
                    "name": "fast",
                    "start_event": "order_created",
                    "end_event": "order_shipped",
                    "threshold": "24h",
                    "threshold_attribute": "priority",
                    "thresholds": {"express": "2h"},
                    "objective": 80,
                },
            ],
            "routing": [
                {"long_window": "1h", "short_window": "10m", "burn_rate": 2, "action": "page"},
                {
                    "long_window": "24h",
                    "short_window": "1h",
                    "budget_fraction": 0.5,
                    "action": "ticket",
                },
            ],
        }
    )
