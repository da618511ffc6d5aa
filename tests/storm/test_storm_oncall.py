"""A storm pages whoever is on call the way a single exception does: the schedule with the
overrides and vacations in the records (patch ``storm-oncall-resolved``), and the Temporal
UI says who and why. Real worker, time-skipping server, records in SQLite.

With ESCALATOR_RECORD_HISTORIES=1 the storm's history is saved for the replay test
(tests/histories/storm/storm_oncall_override.json)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from fakes.oncall_records import INVENTORY, oncall_store_fixture
from storm_helpers import HISTORIES, StormHarness, storm_harness_fixture, storm_policy
from temporalio.api.sdk.v1 import WorkflowMetadata

from escalator.activities.oncall import store_changes
from escalator.client import raise_exception
from escalator.policies.snapshot import ExceptionPolicy
from escalator.records.oncall import OnCallStore
from escalator.workflows.activity_contracts import ACTIVITY_RESOLVE_ON_CALL
from escalator.workflows.contracts import Detection, StepKind
from escalator.workflows.storm_contracts import StormState, storm_id

storm_harness = pytest.fixture(storm_harness_fixture)
pytestmark = [pytest.mark.temporal, pytest.mark.time_skipping_only]

RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
SID = storm_id("orderToShip", "awaiting_inventory", "inventory")
SUBJECTS = [f"oc-{i}" for i in range(3)]  # threshold 2: oc-0, oc-1 page alone, oc-2 groups

oncall = pytest.fixture(oncall_store_fixture, name="oncall")


def policy() -> ExceptionPolicy:
    """Storm control after 2 first pages; level 1 posts to Slack and DMs the on-call member."""
    base = storm_policy(threshold=2)
    levels = list(base.escalation.levels)
    levels[0] = levels[0].model_copy(update={"channels": ["slack", "slack_dm"]})
    escalation = base.escalation.model_copy(update={"levels": levels})
    return base.model_copy(
        update={"roles": dict(base.roles) | {"inventory": INVENTORY}, "escalation": escalation}
    )


def eid(subject: str) -> str:
    return f"exc:orderToShip:awaiting_inventory:{subject}"


async def test_a_storm_pages_the_member_an_override_put_on_call(
    storm_harness, oncall: OnCallStore
) -> None:
    h: StormHarness = await storm_harness(oncall_changes=store_changes(oncall))
    now = datetime.now(UTC)
    # The test server's clock runs ahead of the wall clock: an override wide enough.
    made = oncall.add(
        kind="override",
        role="inventory",
        member="carol",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=36500),
        created_by="alice",
        now=now,
        reason="covering the storm",
    )
    h.workflow_ids.update([SID, *map(eid, SUBJECTS)])
    for i, s in enumerate(SUBJECTS):
        onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=i)
        d = Detection(journey="orderToShip", rule="awaiting_inventory", subject=s, onset=onset)
        await raise_exception(h.client, d, policy=policy(), task_queue=h.task_queue)

        def joined(s: str = s) -> bool:
            return eid(s) in h.recorded(StepKind.GROUPED) | h.recorded(StepKind.NOTIFIED)

        await h.eventually(joined)
    await h.eventually(lambda: len(h.sends("storm")) == 2)

    # The grouped message: the role's channel, and a DM to carol, not to alice or bob.
    sent = {(m.notification.channel, m.notification.target) for m in h.sends("storm")}
    assert sent == {("slack", "#inventory"), ("slack_dm", "UCAROL1")}
    dm = next(m.notification for m in h.sends("storm") if m.notification.channel == "slack_dm")
    assert dm.member == "carol"

    handle = h.client.get_workflow_handle(SID)
    state = await handle.query("state", result_type=StormState)
    answer = state.on_call["inventory"]
    assert (answer["member"], answer["override"], answer["override_by"]) == (
        "carol",
        made.id,
        "alice",
    )
    assert answer["layer"] == "weekly" and answer["level"] == 1
    events = (await handle.fetch_history()).events
    asked = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert ACTIVITY_RESOLVE_ON_CALL in asked

    # The Temporal UI: who the storm's level reached, and why.
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "- level 1 · inventory: **carol**" in meta.current_details
    assert f"override `{made.id}` by alice over layer weekly" in meta.current_details
    if RECORD:
        path = HISTORIES / "storm" / "storm_oncall_override.json"
        history = await handle.fetch_history()
        await asyncio.to_thread(path.write_text, history.to_json())
