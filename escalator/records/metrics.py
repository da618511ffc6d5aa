"""Prometheus metrics for the worker and the receiver, read from the records store.

- ``escalator_open_exceptions{journey,state,level}``: unresolved exception runs;
- ``escalator_time_to_restore_seconds{journey}``: histogram of detected -> resolved;
- ``escalator_notifications_total{channel,result}``: messages by channel and status;
- ``escalator_error_budget_remaining{journey,sli}``: share of the SLO window's budget
  left (set by whoever reads the journey logs, e.g. the detector loop).

Store-backed figures are computed at scrape time with one GROUP BY each (cached
for a few seconds), so any number of workers report the same truth.

Usage::

    metrics, server, thread = start_metrics_server(9464, store=store)
    metrics.update_error_budgets(journeys, logs)    # after each detector pass
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from escalator.analytics.sli import sli_outcomes
from escalator.analytics.slo import SLOStatus, slo_status
from escalator.policies.journeys import Journey
from escalator.records.store import Store

__all__ = ["RESTORE_BUCKETS", "EscalatorMetrics", "RecordsCollector", "start_metrics_server"]

RESTORE_BUCKETS = (
    300.0,
    900.0,
    1800.0,
    3600.0,
    4 * 3600.0,
    8 * 3600.0,
    86400.0,
    3 * 86400.0,
    7 * 86400.0,
)


def _restore_seconds(dialect: str) -> str:
    if dialect == "postgresql":
        return "extract(epoch from (resolved_at - detected_at))"
    # julianday is a float of days: round away its error so 1800 s lands in le=1800.
    return "ROUND((julianday(resolved_at) - julianday(detected_at)) * 86400.0, 3)"


class RecordsCollector(Collector):
    """Reads the store on scrape; results are reused for ``cache_seconds``."""

    def __init__(self, store: Store, cache_seconds: float = 5.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[Any]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.cache_seconds:
                self._cached = (time.monotonic(), self._families())
            yield from self._cached[1]

    def _families(self) -> list[Any]:
        dialect = self.store.dialect
        seconds = _restore_seconds(dialect)
        buckets = ", ".join(
            f"SUM(CASE WHEN {seconds} <= {b} THEN 1 ELSE 0 END)" for b in RESTORE_BUCKETS
        )
        with self.store.engine.connect() as conn:
            open_rows = conn.execute(
                sa.text(
                    "SELECT COALESCE(journey, ''), state, highest_level, COUNT(*) FROM exceptions "
                    "WHERE state <> 'resolved' GROUP BY journey, state, highest_level"
                )
            ).all()
            restore_rows = conn.execute(
                sa.text(
                    f"SELECT COALESCE(journey, ''), COUNT(*), SUM({seconds}), {buckets} FROM exceptions "
                    "WHERE resolved_at IS NOT NULL AND detected_at IS NOT NULL GROUP BY journey"
                )
            ).all()
            note_rows = conn.execute(
                sa.text(
                    "SELECT channel, status, COUNT(*) FROM notifications GROUP BY channel, status"
                )
            ).all()
        open_ = GaugeMetricFamily(
            "escalator_open_exceptions",
            "Unresolved exception runs.",
            labels=["journey", "state", "level"],
        )
        for journey, state, level, count in open_rows:
            open_.add_metric([journey, state, str(level)], float(count))
        restore = HistogramMetricFamily(
            "escalator_time_to_restore_seconds",
            "Exception detected to resolved, seconds.",
            labels=["journey"],
        )
        for journey, count, total, *cumulative in restore_rows:
            pairs = [
                (floatToGoString(b), float(c or 0))
                for b, c in zip(RESTORE_BUCKETS, cumulative, strict=True)
            ]
            pairs.append(("+Inf", float(count)))
            restore.add_metric([journey], pairs, sum_value=float(total or 0.0))
        notes = CounterMetricFamily(
            "escalator_notifications",
            "Notifications by channel and result.",
            labels=["channel", "result"],
        )
        for channel, status, count in note_rows:
            notes.add_metric([channel, status], float(count))
        return [open_, restore, notes]


class EscalatorMetrics:
    """The metrics of one process: store-backed collectors plus the error-budget gauge."""

    def __init__(self, registry: CollectorRegistry, store: Store | None = None) -> None:
        self.registry = registry
        self.error_budget = Gauge(
            "escalator_error_budget_remaining",
            "Share of the SLO window's error budget left (1 = untouched, < 0 = overspent).",
            ["journey", "sli"],
            registry=registry,
        )
        if store is not None:
            registry.register(RecordsCollector(store))

    def set_error_budgets(self, statuses: Iterable[SLOStatus]) -> None:
        for status in statuses:
            self.error_budget.labels(status.journey, status.sli).set(status.error_budget_remaining)

    def update_error_budgets(
        self,
        journeys: Iterable[Journey],
        logs: dict[str, pl.DataFrame],
        as_of: datetime | None = None,
    ) -> list[SLOStatus]:
        """Compute every SLI's budget from the journeys' logs and publish it."""
        when = as_of or datetime.now(UTC)
        statuses = [
            slo_status(sli_outcomes(logs[j.name], sli, when), j, sli, when)
            for j in journeys
            if j.name in logs
            for sli in j.slis
        ]
        self.set_error_budgets(statuses)
        return statuses


def start_metrics_server(
    port: int,
    *,
    store: Store | None = None,
    addr: str = "0.0.0.0",
    registry: CollectorRegistry | None = None,
) -> tuple[EscalatorMetrics, Any, threading.Thread]:
    """Serve /metrics on ``addr:port`` (0 picks a free port: see ``server.server_port``)."""
    registry = registry or CollectorRegistry()
    metrics = EscalatorMetrics(registry, store)
    server, thread = start_http_server(port, addr=addr, registry=registry)
    return metrics, server, thread
