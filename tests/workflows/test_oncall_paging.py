"""Each level pages whoever is on call when it starts: an override made while the
exception is open reaches its next level, and the timeline says who and why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from fakes.oncall_records import INVENTORY, oncall_store_fixture
from harness import Harness, has, steps, subject
from policy_factory import ROLES, detection, make_policy
from temporalio.api.sdk.v1 import WorkflowMetadata

from escalator.activities.oncall import store_changes
from escalator.analytics.oncall_load import on_call_load
from escalator.policies.roles import EscalationLevel
from escalator.records.oncall import OnCallStore
from escalator.records.oncall_pages import load_on_call_pages
from escalator.records.store import Store
from escalator.workflows.activity_contracts import ACTIVITY_RESOLVE_ON_CALL
from escalator.workflows.contracts import StepKind

pytestmark = pytest.mark.temporal

oncall = pytest.fixture(oncall_store_fixture, name="oncall")


async def test_an_override_made_mid_escalation_reaches_the_next_level(
    harness_factory: Callable[..., Awaitable[Harness]], oncall: OnCallStore
) -> None:
    h = await harness_factory(oncall_changes=store_changes(oncall))
    base = make_policy(h.unit, roles=("inventory", "inventory"))
    levels = [
        EscalationLevel(role="inventory", channels=["slack", "sms"], response_time=h.unit * 3),
        EscalationLevel(role="inventory", channels=["slack_dm"], response_time=h.unit * 3),
    ]
    policy = base.model_copy(
        update={
            "roles": dict(ROLES) | {"inventory": INVENTORY},
            "escalation": base.escalation.model_copy(update={"levels": levels}),
        }
    )
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    on_call = first.detail["on_call"]
    scheduled = on_call["member"]
    assert scheduled in ("alice", "bob") and on_call["layer"] == "weekly"
    assert on_call["override"] is None and "layer weekly" in on_call["why"]
    assert on_call["timezone"] == "Europe/Amsterdam"  # where nights are, for the report
    phone = {m.name: m.phone for m in INVENTORY.members}[scheduled]
    firsts = await h.pages_for(eid, "first", 2)
    assert {(n.channel, n.target, n.member) for n in firsts} == {
        ("slack", "#inventory", None),
        ("sms", phone, scheduled),
    }

    # While level 1 waits, carol takes over (made in the records, as `oncall override add`).
    now = datetime.now(UTC)
    made = oncall.add(
        kind="override",
        role="inventory",
        member="carol",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        created_by=scheduled,
        now=now,
        reason="swap",
    )
    await h.advance(3)  # level 1's response time passes: level 2 starts
    status = await h.until(eid, has(StepKind.NOTIFIED, 2))
    second = steps(status, StepKind.NOTIFIED)[1]
    assert second.level == 2
    assert second.detail["on_call"]["member"] == "carol"
    assert second.detail["on_call"]["override"] == made.id
    assert f"made by {scheduled}" in second.detail["on_call"]["why"]
    dm = [n for n in await h.pages_for(eid, "escalated") if n.channel == "slack_dm"]
    assert [(n.target, n.member) for n in dm] == [("UCAROL1", "carol")]

    # The Temporal UI: who was on call at each level paged so far, and why. The UI reads
    # current details with the `__temporal_workflow_metadata` query, through the server
    # (describe carries only the static summary and details in temporalio 1.35).
    meta = await h.handle(eid).query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = meta.current_details
    assert "**On call when paged:**" in details
    assert f"- level 1 · inventory: **{scheduled}**" in details
    assert "— layer weekly" in details
    assert "- level 2 · inventory: **carol**" in details
    assert f"— override `{made.id}` by {scheduled} over layer weekly" in details
    await h.save_history(eid, "oncall_override_mid_escalation")

    # The report's on-call load: the steps as the workflow recorded them, written through
    # the records writer into the records database the overrides live in.
    records = Store(oncall.engine)
    for step in status.timeline:
        records.record_step_sync(step)
    load = on_call_load(load_on_call_pages(oncall.engine))
    people = {p["member"]: p for p in load["people"]}
    assert set(people) == {scheduled, "carol"}
    assert people[scheduled]["pages"] == 1 and people[scheduled]["causes"]["layer"] == 1
    assert people["carol"]["pages"] == 1 and people["carol"]["causes"]["override"] == 1
    assert people["carol"]["overrides_by"] == {scheduled: 1}


async def test_a_role_without_schedule_or_rotation_pages_as_before(harness: Harness) -> None:
    """No schedule, no rotation: no on-call activity, no on-call detail; the first member
    with a phone gets the SMS, as before schedules existed."""
    h = harness
    policy = make_policy(h.unit)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    assert "on_call" not in first.detail
    sms = [n for n in await h.pages_for(eid, "first", count=2) if n.channel == "sms"]
    assert [(n.target, n.member) for n in sms] == [("+31600000001", "alice")]
    events = (await h.handle(eid).fetch_history()).events
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert ACTIVITY_RESOLVE_ON_CALL not in scheduled
