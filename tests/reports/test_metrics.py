"""Prometheus metrics served over real HTTP, computed from a real store."""

from __future__ import annotations

import urllib.request

from analytics_fixtures import LOG_AS_OF, event_log, journey
from prometheus_client.parser import text_string_to_metric_families
from report_steps import record_fixture

from escalator.records.metrics import start_metrics_server
from escalator.records.store import Store


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_endpoint(store: Store) -> None:
    record_fixture(store)
    store.record_notification_sync(
        idempotency_key="sms-1",
        exception_id="D",
        channel="sms",
        target="+1555",
        status="failed",
        error="x",
    )
    metrics, server, thread = start_metrics_server(0, store=store, addr="127.0.0.1")
    try:
        metrics.update_error_budgets([journey()], {"orderToShip": event_log()}, LOG_AS_OF)
        got = _scrape(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert (
        got[
            (
                "escalator_open_exceptions",
                (("journey", "orderToShip"), ("level", "1"), ("state", "open")),
            )
        ]
        == 1
    )
    assert (
        got[
            (
                "escalator_open_exceptions",
                (("journey", "ticketToResolution"), ("level", "3"), ("state", "acknowledged")),
            )
        ]
        == 1
    )
    assert not any(
        k[0] == "escalator_open_exceptions" and ("state", "resolved") in k[1] for k in got
    )
    ttr = {k[1]: v for k, v in got.items() if k[0].startswith("escalator_time_to_restore_seconds")}
    j = ("journey", "orderToShip")
    # restore times 1800, 3600 and 10800 s
    assert got[("escalator_time_to_restore_seconds_count", (j,))] == 3
    assert got[("escalator_time_to_restore_seconds_sum", (j,))] == 16200
    assert ttr[(j, ("le", "1800.0"))] == 1
    assert ttr[(j, ("le", "3600.0"))] == 2
    assert ttr[(j, ("le", "14400.0"))] == 3
    assert ttr[(j, ("le", "+Inf"))] == 3
    assert got[("escalator_notifications_total", (("channel", "slack"), ("result", "sent")))] == 5
    assert got[("escalator_notifications_total", (("channel", "sms"), ("result", "failed")))] == 1
    budgets = {
        dict(k[1])["sli"]: v for k, v in got.items() if k[0] == "escalator_error_budget_remaining"
    }
    assert budgets == {"shipped": -4.0, "fast": -2.75}
