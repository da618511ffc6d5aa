"""The shapes analytics works on: the exceptions frame and the event log frame.

Exceptions frame: one row per exception run, as ``records`` stores them.
Event log frame: ``case_id, event_name, timestamp (tz-aware), actor`` plus any
attribute columns, one frame per journey (the detectors' readers produce it).
"""

from __future__ import annotations

import polars as pl

__all__ = ["EXCEPTION_SCHEMA", "LOG_SCHEMA", "TIME_COLUMNS", "empty_exceptions", "empty_log"]

UTC_TS = pl.Datetime("us", "UTC")

EXCEPTION_SCHEMA: dict[str, pl.DataType] = {
    "exception_id": pl.String(),
    "run_id": pl.String(),
    "journey": pl.String(),
    "rule": pl.String(),
    "severity": pl.String(),
    "owner_role": pl.String(),
    "state": pl.String(),
    "onset": UTC_TS,
    "detected_at": UTC_TS,
    "acknowledged_at": UTC_TS,
    "resolved_at": UTC_TS,
    "highest_level": pl.Int64(),
    "reopened_from": pl.String(),
    "resolution_cause": pl.String(),
    "resolution_real": pl.Boolean(),  # False: a false alarm; null: not said
}
TIME_COLUMNS = [name for name, dtype in EXCEPTION_SCHEMA.items() if dtype == UTC_TS]

LOG_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "event_name": pl.String(),
    "timestamp": UTC_TS,
    "actor": pl.String(),
}


def empty_exceptions() -> pl.DataFrame:
    return pl.DataFrame(schema=EXCEPTION_SCHEMA)


def empty_log() -> pl.DataFrame:
    return pl.DataFrame(schema=LOG_SCHEMA)
