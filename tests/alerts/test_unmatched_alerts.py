"""Alerts that map to no rule, posted to the real receiver over HTTP, are kept in the
records (SQLite and PostgreSQL), repeats counted, and shown by `escalator alerts
unmatched`; a records outage never costs the alerts that did map."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alert_samples import TOKEN, am_alert, am_payload, bearer
from fakes.channel_stack import ChannelStack, channel_stack
from temporalio.client import Client
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent.parent / "records"))
from records_db import db_url, pg_problem, pg_url, sqlite_url  # noqa: F401

from escalator.cli.main import app
from escalator.records.store import Store
from escalator.records.unmatched_alerts import UnmatchedAlertStore
from escalator.workflows.contracts import ExceptionState, dedupe_key

pytestmark = pytest.mark.temporal

Opener = Callable[[], Awaitable[UnmatchedAlertStore]]
# Nothing listens on port 1: opening the records fails at once, as in an outage.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1"


def opener(url: str) -> Opener:
    opened: list[Store] = []

    async def open_store() -> UnmatchedAlertStore:
        if not opened:
            opened.append(Store.open(url))
        return UnmatchedAlertStore(opened[0].engine)

    return open_store


@asynccontextmanager
async def stack_with(client: Client, task_queue: str, url: str) -> AsyncIterator[ChannelStack]:
    async with channel_stack(
        client,
        task_queue,
        alert_secrets={"ESCALATOR_WEBHOOK_TOKEN": TOKEN},
        metrics=lambda: b"",
        unmatched_alerts=opener(url),
    ) as stack:
        yield stack


async def post(stack: ChannelStack, *alerts: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with stack.http.post(
        f"{stack.url}/alerts/alertmanager", data=am_payload(*alerts), headers=bearer()
    ) as resp:
        return resp.status, json.loads(await resp.text())


def stray(fingerprint: str, summary: str) -> dict[str, Any]:
    return am_alert(
        {"alertname": "DiskFull", "instance": "db-1"},
        fingerprint=fingerprint,
        annotations={"summary": summary},
    )


def inventory() -> dict[str, Any]:
    return am_alert(
        {"alertname": "StockStuck", "journey": "orderToShip", "rule": "awaiting_inventory"}
    )


async def test_unmatched_alert_is_recorded_once_and_repeats_counted(
    client: Client,
    task_queue: str,
    db_url: str,  # noqa: F811
) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    good = inventory()
    async with stack_with(client, task_queue, db_url) as stack:
        status, body = await post(stack, stray(fingerprint, "disk 95% full"), good)
        assert status == 422 and body["unmatched_recorded"] is True, body
        assert [u["fingerprint"] for u in body["unmatched"]] == [fingerprint]
        good_id = dedupe_key("orderToShip", "awaiting_inventory", str(good["fingerprint"]))
        assert body["accepted"] == [good_id]
        assert (await stack.status(good_id)).state is ExceptionState.OPEN

        store = Store.open(db_url)
        try:
            kept = UnmatchedAlertStore(store.engine)
            [row] = kept.all()
            assert (row.integration, row.source, row.fingerprint, row.status, row.count) == (
                "prometheus",
                "alertmanager",
                fingerprint,
                "firing",
                1,
            )
            assert row.labels == {"alertname": "DiskFull", "instance": "db-1"}
            assert row.annotations == {"summary": "disk 95% full"}
            assert "none of the 2 routes of integration 'prometheus' matches" in row.reason
            first = row.first_seen

            # Alertmanager repeats it (twice in one payload, even): counted, not new rows.
            again = stray(fingerprint, "disk 97% full")
            status, body = await post(stack, again, again)
            assert status == 422 and body["unmatched_recorded"] is True
            [row] = kept.all()
            assert row.count == 3 and row.first_seen == first and row.last_seen >= first
            assert row.annotations == {"summary": "disk 97% full"}
        finally:
            store.close()

    # The alerting admin sees them with the CLI.
    run = CliRunner().invoke
    shown = run(app, ["alerts", "unmatched", "--json", "--database-url", db_url])
    assert shown.exit_code == 0, shown.output
    [listed] = json.loads(shown.output)
    assert (listed["fingerprint"], listed["count"]) == (fingerprint, 3)
    assert listed["labels"]["alertname"] == "DiskFull"
    text = run(app, ["alerts", "unmatched", "--database-url", db_url])
    assert text.exit_code == 0, text.output
    assert f"prometheus (alertmanager) {fingerprint} firing, 3 times" in text.output
    assert "labels: {alertname=DiskFull, instance=db-1}" in text.output
    assert "why: none of the 2 routes" in text.output
    other = run(app, ["alerts", "unmatched", "--integration", "grafana", "--database-url", db_url])
    assert "no unmatched alerts" in other.output
    # ... and the report counts them.
    report = run(app, ["report", "--json", "--database-url", db_url])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["unmatched_alerts"] == {"prometheus": 3}
    text = run(app, ["report", "--database-url", db_url])
    assert "Alerts that mapped to no rule (repeats included): prometheus 3" in text.output
    # Old ones are forgotten only when asked, and only those not seen since.
    untouched = run(app, ["alerts", "forget-unmatched", "--before", "1d", "--database-url", db_url])
    assert "forgot 0 unmatched alert(s)" in untouched.output
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    gone = run(app, ["alerts", "forget-unmatched", "--before", ahead, "--database-url", db_url])
    assert gone.exit_code == 0 and "forgot 1 unmatched alert(s)" in gone.output, gone.output
    assert (
        json.loads(run(app, ["alerts", "unmatched", "--json", "--database-url", db_url]).output)
        == []
    )


async def test_records_outage_still_answers_422_and_raises_the_mapped_alert(
    client: Client, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    good = inventory()
    caplog.set_level(logging.ERROR, logger="escalator.receiver.alerts")
    async with stack_with(client, task_queue, UNREACHABLE) as stack:
        status, body = await post(stack, stray(fingerprint, "disk 95% full"), good)
        # Not a 5xx: Alertmanager would send the whole payload again.
        assert status == 422, body
        assert body["unmatched_recorded"] is False
        assert "the records database did not take them: OperationalError" in body["records_error"]
        good_id = dedupe_key("orderToShip", "awaiting_inventory", str(good["fingerprint"]))
        assert body["accepted"] == [good_id]
        assert (await stack.status(good_id)).state is ExceptionState.OPEN
        async with stack.http.get(f"{stack.url}/metrics") as resp:
            exposition = await resp.text()
    assert 'escalator_alerts_total{integration="prometheus",outcome="unrecorded"} 1.0' in (
        exposition
    )
    # The log is then the only place it is kept: all of it is there.
    assert f"unmatched alert {fingerprint} from integration 'prometheus' not recorded" in (
        caplog.text
    )
    assert "'alertname': 'DiskFull'" in caplog.text and "disk 95% full" in caplog.text


def test_cli_unreadable_database_is_one_line() -> None:
    result = CliRunner().invoke(app, ["alerts", "unmatched", "--database-url", UNREACHABLE])
    assert result.exit_code == 2
    assert "cannot open the records database" in result.output
    assert "Traceback" not in result.output
