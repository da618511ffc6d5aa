"""The report: every figure operations teams steer by, as one JSON-able dict.

Terminal tables, the HTML page and the metrics endpoint all render this one
structure, so what a browser shows can be checked against ``--json``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import polars as pl

from escalator.analytics.cases import case_table
from escalator.analytics.leadtime import lead_time_summary
from escalator.analytics.oncall_load import ON_CALL_PAGES_SCHEMA, on_call_load
from escalator.analytics.restore import (
    bucket_counts,
    duration_reports,
    durations,
    open_by_age,
    rework_rate,
)
from escalator.analytics.rule_learning import FALSE_ALARM_SHARE, learning_by_rule
from escalator.analytics.sli import outcomes_from_cases
from escalator.analytics.slo import burn_down, evaluate_tiers, slo_status
from escalator.policies.journeys import Journey

__all__ = ["DORA_LABEL", "OPEN_LIST_LIMIT", "build_report", "workflow_url"]

OPEN_LIST_LIMIT = 200
DORA_LABEL = (
    "DORA measures in their operations form: lead time = first event to completing event of "
    "a case; change failure rate = share of exceptions needing rework (escalated beyond "
    "level 1 or reopened); time to restore = exception detected to resolved."
)


def workflow_url(ui_url: str, namespace: str, workflow_id: str) -> str:
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"


def build_report(
    exceptions: pl.DataFrame,
    *,
    as_of: datetime,
    journeys: list[Journey] | None = None,
    logs: dict[str, pl.DataFrame] | None = None,
    since: datetime | None = None,
    ui_url: str = "http://localhost:8233",
    namespace: str = "default",
    logs_as_of: datetime | None = None,
    scorecards: dict[str, dict[str, Any]] | None = None,
    false_alarm_threshold: float = FALSE_ALARM_SHARE,
    on_call_pages: pl.DataFrame | None = None,
    unmatched_alerts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Figures over the exceptions detected since ``since`` and the journeys' event logs.

    ``logs_as_of`` (default ``as_of``) is the moment SLOs, budgets and lead time are
    computed at: a log replayed from the past (the demo) is judged as of its own time,
    not as of today, when its SLO window would hold no case. ``scorecards``: each rule's
    latest scorecard figures (the records keep them), for the rule flags.
    ``on_call_pages``: who each page reached in person and why
    (``escalator.records.oncall_pages``), for the on-call load per person.
    ``unmatched_alerts``: alerts that mapped to no rule per integration (repeats included),
    as the records keep them.
    """
    log_time = logs_as_of or as_of
    if since is not None:
        exceptions = exceptions.filter(pl.col("detected_at") >= since)
    exceptions = exceptions.filter(
        pl.col("detected_at").is_null() | (pl.col("detected_at") <= as_of)
    )
    timed = durations(exceptions)
    overall_rework = rework_rate(exceptions)[0]
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "logs_as_of": log_time.isoformat(),
        "since": since.isoformat() if since else None,
        "totals": _totals(exceptions),
        **duration_reports(timed),
        "restore_distribution": bucket_counts(timed["time_to_restore"]),
        "open_by_age": open_by_age(exceptions, as_of),
        "rework": {"overall": overall_rework, "by_journey": rework_rate(exceptions, "journey")},
        "exceptions_per_rule_week": _per_rule_week(timed),
        "load_by_owner_role": _load_by_role(exceptions),
        "open_exceptions": _open_list(exceptions, as_of, ui_url, namespace),
        "rule_learning": learning_by_rule(exceptions, scorecards, threshold=false_alarm_threshold),
        "false_alarm_threshold": false_alarm_threshold,
        "on_call_load": on_call_load(_in_period(on_call_pages, since, as_of)),
        "slos": [],
        "dora_operations": {"label": DORA_LABEL, "lead_time": []},
        "unmatched_alerts": dict(unmatched_alerts or {}),
    }
    for journey in journeys or []:
        log = (logs or {}).get(journey.name)
        if log is None:
            continue
        cases = case_table(log, journey.slis, journey.completing_events, log_time)
        summary = lead_time_summary(log, journey, log_time, cases=cases)
        report["dora_operations"]["lead_time"].append(summary)
        for i, sli in enumerate(journey.slis):
            outcomes = outcomes_from_cases(cases, i, sli, log_time)
            status = slo_status(outcomes, journey, sli, log_time).as_dict()
            status["burn_rates"] = [
                t.as_dict() for t in evaluate_tiers(outcomes, journey, sli, log_time)
            ]
            status["burn_down"] = burn_down(outcomes, journey, sli, log_time)
            report["slos"].append(status)
    report["dora_operations"]["change_failure_rate"] = overall_rework["rate"]
    report["dora_operations"]["time_to_restore"] = report["time_to_restore"]["overall"]
    return report


def _in_period(pages: pl.DataFrame | None, since: datetime | None, as_of: datetime) -> pl.DataFrame:
    if pages is None:
        return pl.DataFrame(schema=ON_CALL_PAGES_SCHEMA)
    if since is not None:
        pages = pages.filter(pl.col("at") >= since)
    return pages.filter(pl.col("at") <= as_of)


def _totals(exceptions: pl.DataFrame) -> dict[str, int]:
    resolved = int(exceptions["resolved_at"].is_not_null().sum())
    return {
        "exceptions": exceptions.height,
        "open": exceptions.height - resolved,
        "resolved": resolved,
        "reopened": int(exceptions["reopened_from"].is_not_null().sum()),
        "escalated": int((exceptions["highest_level"] > 1).sum()),
    }


def _per_rule_week(timed: pl.DataFrame) -> list[dict[str, Any]]:
    table = timed.filter(pl.col("week").is_not_null()).group_by("rule", "week").len("count")
    return [
        {**r, "count": int(r["count"])}
        for r in table.sort("week", "rule", nulls_last=True).iter_rows(named=True)
    ]


def _load_by_role(exceptions: pl.DataFrame) -> list[dict[str, Any]]:
    table = exceptions.group_by("owner_role").agg(
        pl.len().alias("exceptions"),
        pl.col("resolved_at").is_null().sum().alias("open"),
        (pl.col("highest_level") > 1).sum().alias("escalated"),
    )
    rows = table.sort("exceptions", "owner_role", descending=[True, False]).iter_rows(named=True)
    return [{k: (int(v) if k != "owner_role" else v) for k, v in r.items()} for r in rows]


def _open_list(exceptions: pl.DataFrame, as_of: datetime, ui: str, ns: str) -> dict[str, Any]:
    open_ = exceptions.filter(pl.col("resolved_at").is_null()).sort("detected_at", nulls_last=True)
    rows = []
    for r in open_.head(OPEN_LIST_LIMIT).iter_rows(named=True):
        detected = r["detected_at"]
        rows.append(
            {
                "exception_id": r["exception_id"],
                "run_id": r["run_id"],
                "journey": r["journey"],
                "rule": r["rule"],
                "severity": r["severity"],
                "owner_role": r["owner_role"],
                "state": r["state"],
                "level": int(r["highest_level"]),
                "detected_at": detected.isoformat() if detected else None,
                "age_seconds": (as_of - detected) / timedelta(seconds=1) if detected else None,
                "url": workflow_url(ui, ns, r["exception_id"]),
            }
        )
    return {"count": open_.height, "shown": len(rows), "oldest_first": rows}
