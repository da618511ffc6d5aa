"""Synthetic data for bench_report.py: exception records and an orderToShip event log.

Generated column-wise with numpy and polars (no per-row Python), loaded with
executemany (SQLite) or COPY (PostgreSQL).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

RULES = [
    ("orderToShip", "awaiting_inventory", "inventory"),
    ("orderToShip", "payment_pending", "billing"),
    ("orderToShip", "label_print_failed", "it-ops"),
    ("ticketToResolution", "awaiting_customer", "support"),
    ("ticketToResolution", "reopened_ticket", "support"),
    ("claimsToPayout", "missing_documents", "claims"),
]
SEVERITIES = ["critical", "high", "medium", "low"]


def exceptions_frame(n: int, as_of: datetime, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    rule_ix = rng.integers(0, len(RULES), n)
    reopened = idx % 20 == 19  # every 20th row is a second run of the row before
    base = np.where(reopened, idx - 1, idx)
    rule_ix = rule_ix[base]
    us = 1_000_000
    detected = int(as_of.timestamp() * us) - rng.integers(0, 90 * 86400 * us, n)
    onset = detected - rng.integers(0, 2 * 3600 * us, n)
    acked = rng.random(n) < 0.9
    ack = detected + rng.integers(60 * us, 3600 * us, n)
    resolved_mask = rng.random(n) < 0.95
    restore = (rng.lognormal(mean=8.5, sigma=1.0, size=n) * us).astype(np.int64)
    resolved = detected + restore
    level = rng.choice([1, 1, 1, 1, 2, 2, 3], n)
    journeys = np.array([r[0] for r in RULES])[rule_ix]
    rules = np.array([r[1] for r in RULES])[rule_ix]
    roles = np.array([r[2] for r in RULES])[rule_ix]

    def ts(values: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
        s = pl.Series(values).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        return s if mask is None else s.set(pl.Series(~mask), None)

    frame = pl.DataFrame(
        {
            "exception_id": [
                f"exc:{j}:{r}:s-{b}" for j, r, b in zip(journeys, rules, base, strict=True)
            ],
            "run_id": np.where(reopened, "r2", "r1"),
            "journey": journeys,
            "rule": rules,
            "kind": "latency",
            "subject": [f"s-{b}" for b in base],
            "severity": np.array(SEVERITIES)[rng.integers(0, 4, n)],
            "policy_version": "bench",
            "owner_role": roles,
            "onset": ts(onset),
            "detected_at": ts(detected),
            "first_notified_at": ts(detected + 5 * us),
            "acknowledged_at": ts(ack, acked),
            "resolved_at": ts(resolved, resolved_mask),
            "highest_level": level,
            "occurrences": 1,
            "reopened_from": pl.Series(np.where(reopened, "r1", "")).replace("", None),
        }
    )
    return frame.with_columns(
        pl.when(pl.col("resolved_at").is_not_null())
        .then(pl.lit("resolved"))
        .when(pl.col("acknowledged_at").is_not_null())
        .then(pl.lit("acknowledged"))
        .otherwise(pl.lit("open"))
        .alias("state")
    )


TIME_COLS = ["onset", "detected_at", "first_notified_at", "acknowledged_at", "resolved_at"]


def load_sqlite(engine: sa.Engine, frame: pl.DataFrame, batch: int = 200_000) -> None:
    text = frame.with_columns(
        pl.col(c).dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S%.6f") for c in TIME_COLS
    )
    cols = text.columns
    sql = f"INSERT INTO exceptions ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for start in range(0, text.height, batch):
            cur.executemany(sql, text.slice(start, batch).rows())
        raw.commit()
    finally:
        raw.close()


def load_postgres(engine: sa.Engine, frame: pl.DataFrame, batch: int = 200_000) -> None:
    text = frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00") for c in TIME_COLS)
    cols = ", ".join(text.columns)
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY exceptions ({cols}) FROM STDIN WITH (FORMAT csv)") as copy,
        ):
            for start in range(0, text.height, batch):
                buf = io.BytesIO()
                text.slice(start, batch).write_csv(buf, include_header=False)
                copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()


def event_log(cases: int, as_of: datetime, seed: int = 2) -> pl.DataFrame:
    """Five events per order (created, payment confirmed, allocated, label printed,
    shipped or cancelled), in the XES column names the shipped journey reads."""
    rng = np.random.default_rng(seed)
    us = 1_000_000
    created = int((as_of - timedelta(days=35)).timestamp() * us) + rng.integers(
        0, 35 * 86400 * us, cases
    )
    steps = np.cumsum(rng.exponential(3 * 3600 * us, size=(4, cases)).astype(np.int64), axis=0)
    cancelled = rng.random(cases) < 0.004
    names = ["order_created", "payment_confirmed", "inventory_allocated", "label_printed"]
    parts = []
    case_ids = pl.Series([f"o-{i}" for i in range(cases)])
    for k in range(5):
        if k == 0:
            t = created
            name = pl.lit(names[0])
        elif k < 4:
            t = created + steps[k - 1]
            name = pl.lit(names[k])
        else:
            t = created + steps[3]
            name = (
                pl.when(pl.Series(cancelled))
                .then(pl.lit("order_cancelled"))
                .otherwise(pl.lit("order_shipped"))
            )
        parts.append(
            pl.DataFrame({"case:concept:name": case_ids, "t": t}).with_columns(
                name.alias("concept:name"), pl.lit("clerk").alias("org:resource")
            )
        )
    log = pl.concat(parts).with_columns(
        pl.col("t").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("time:timestamp")
    )
    return log.select("case:concept:name", "concept:name", "time:timestamp", "org:resource").filter(
        pl.col("time:timestamp") <= as_of
    )
