"""The per-role digest: the DigestWorkflow on the session's server (tickets from a real SQLite
records database, SLO status from a simulated event log), and the digest schedules on a dev
server (the time-skipping server has no schedules)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).parent.parent / "routing"))
from digest_helpers import policy_dir, without_digests
from routing_scenario import START, Period, simulate

from escalator.activities.channels import CapturingSender
from escalator.activities.digest import StoreDigestSource
from escalator.client import with_pydantic
from escalator.policies.loader import load_policies
from escalator.records.store import Store
from escalator.settings import SHIPPED_POLICY_DIR
from escalator.worker.digest_schedules import digest_request, install_digests
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import StepKind, TimelineStep
from escalator.workflows.digest_contracts import DIGEST_WORKFLOW, DigestResult, digest_schedule_id

D = timedelta(days=1)
LOG = simulate([Period(7 * D, 30, 0.002)])  # 0.2 % bad: budget 0.5 %, 60 % left
AS_OF = START + 7 * D


def _exception(store: Store, xid: str, role: str, decision: str, resolved: bool = False) -> None:
    detail = {"journey": "orderToShip", "rule": "payment_pending", "subject": xid[-3:],
              "owner_role": role, "detected_at": (AS_OF - D).isoformat()}  # fmt: skip
    kinds = [(StepKind.DETECTED, detail), (StepKind.ROUTED, {"decision": decision, "reason": "r"})]
    if resolved:
        kinds.append((StepKind.RESOLVED, {}))
    for seq, (kind, d) in enumerate(kinds, 1):
        store.record_step_sync(
            TimelineStep(exception_id=xid, run_id="r1", seq=seq, kind=kind, at=AS_OF - D, detail=d)
        )


@pytest.mark.temporal
@pytest.mark.time_skipping_only
async def test_digest_workflow_posts_tickets_and_slo_status(client: Client, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    _exception(store, "exc:orderToShip:payment_pending:o-1", "billing", "ticket")
    _exception(store, "exc:orderToShip:payment_pending:o-2", "billing", "ticket")
    _exception(store, "exc:orderToShip:payment_pending:o-3", "billing", "ticket", resolved=True)
    _exception(store, "exc:orderToShip:payment_pending:o-4", "billing", "page")
    _exception(store, "exc:orderToShip:payment_pending:o-5", "inventory", "ticket")
    slack = CapturingSender(name="slack")
    wiring = Wiring(
        senders={"slack": slack},
        digest_source=StoreDigestSource(store.engine, {"orderToShip": lambda: LOG.frame}),
    )
    policies = load_policies([policy_dir(tmp_path, {})])  # the shipped roles, no digests
    req = digest_request(policies.role("billing"), policies).model_copy(update={"as_of": AS_OF})
    task_queue = f"tq-{uuid.uuid4()}"
    client = with_pydantic(client)
    async with build_worker(client, task_queue, wiring):
        result = await client.execute_workflow(
            DIGEST_WORKFLOW, req, id=f"digest-{uuid.uuid4()}", task_queue=task_queue,
            result_type=DigestResult,
        )  # fmt: skip
    # billing has no digest time: the window is the last 24 h, so o-3 (raised then,
    # resolved since) is listed too, marked resolved.
    assert (result.ok, result.tickets, result.channel, result.target) == (
        True, 3, "slack", "#ops-billing",
    )  # fmt: skip
    [sent] = slack.sent
    assert sent.notification.reason == "digest" and sent.notification.target == "#ops-billing"
    text = sent.notification.status.payload["summary"]
    assert text == result.text
    assert "o-1" in text and "o-2" in text
    [o3] = [line for line in text.splitlines() if "o-3" in line]
    assert o3.endswith("(r, new, resolved)")
    assert "o-4" not in text and "o-5" not in text
    assert "orderToShip/orders_shipped: 99.80% (objective 99.5 %), error budget left 60%" in text
    store.close()


@pytest.mark.temporal
@pytest.mark.own_dev_server
async def test_digest_schedules_install_idempotently(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    shipped = without_digests((SHIPPED_POLICY_DIR / "roles.yaml").read_text())
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    for f in SHIPPED_POLICY_DIR.glob("*.yaml"):
        (policy_dir / f.name).write_text(f.read_text())
    with_digest = shipped.replace(
        'slack_channel: "#ops-inventory"',
        'slack_channel: "#ops-inventory"\n    digest: {at: "09:15", calendar: nl-warehouse}',
    )
    (policy_dir / "roles.yaml").write_text(with_digest)
    client = with_pydantic(dev_server.client)
    task_queue = f"tq-{uuid.uuid4()}"
    policies = load_policies([policy_dir])
    # The dev server is shared: a worker started by another test (test_worker_process.py)
    # installs the shipped policy's digest schedule too, so start from none.
    with contextlib.suppress(RPCError):  # none there: the usual case
        await client.get_schedule_handle(digest_schedule_id("inventory")).delete()
    first = await install_digests(client, policies, task_queue)
    assert [(d.role, d.created, d.at, d.time_zone) for d in first] == [
        ("inventory", True, "09:15", "Europe/Amsterdam")
    ]
    handle = client.get_schedule_handle(digest_schedule_id("inventory"))
    described = await handle.describe()
    [cal] = described.schedule.spec.calendars
    assert ([r.start for r in cal.hour], [r.start for r in cal.minute]) == ([9], [15])
    assert sorted(r.start for r in cal.day_of_week) == [1, 2, 3, 4, 5, 6]  # mon-sat, no sunday
    assert described.schedule.spec.time_zone_name == "Europe/Amsterdam"
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == DIGEST_WORKFLOW

    # Without the calendar: every day in UTC (so the trigger below posts whatever today is;
    # with the calendar a Sunday or holiday run is skipped, see test_digest_holidays.py).
    no_calendar = with_digest.replace('{at: "09:15", calendar: nl-warehouse}', '{at: "07:30"}')
    (policy_dir / "roles.yaml").write_text(no_calendar)
    again = await install_digests(client, load_policies([policy_dir]), task_queue)
    assert [(d.role, d.created) for d in again] == [("inventory", False)]
    spec = (await handle.describe()).schedule.spec
    [cal] = spec.calendars
    assert ([r.start for r in cal.hour], [r.start for r in cal.minute]) == ([7], [30])
    assert len(cal.day_of_week) == 7 and spec.time_zone_name == "UTC"

    # The schedule really starts the DigestWorkflow: trigger it with a worker polling.
    slack = CapturingSender(name="slack")
    async with build_worker(client, task_queue, Wiring(senders={"slack": slack})):
        await handle.trigger()
        for _ in range(200):
            if slack.sent:
                break
            await asyncio.sleep(0.05)
    assert [s.notification.target for s in slack.sent] == ["#ops-inventory"]
    assert "Digest for inventory" in slack.sent[0].notification.status.payload["summary"]
    await handle.delete()


def test_a_log_that_stopped_reports_its_slo_as_of_its_newest_event(tmp_path: Path) -> None:
    """A digest a month after the log's last event says so, with the figures of that end,
    instead of "no cases" over windows the log never reached."""
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    source = StoreDigestSource(store.engine, {"orderToShip": lambda: LOG.frame})
    journeys = [load_policies([SHIPPED_POLICY_DIR]).journey("orderToShip")]
    newest = cast(datetime, LOG.frame["timestamp"].max())
    current = asyncio.run(source.slo_lines(journeys, newest))
    later = asyncio.run(source.slo_lines(journeys, newest + 30 * D))
    stamp = f" (as of the log's newest event, {newest:%Y-%m-%d %H:%M} UTC)"
    assert later == [line + stamp for line in current]
    assert "orderToShip/orders_shipped: 99.80%" in later[0]
    store.close()
