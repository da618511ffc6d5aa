"""The routing decision is a scheduled activity in new runs (patch routing-scheduled-again).

Runs recorded on 7 Dec 2026 under routing-local-activity made it a local activity;
``tests/histories/routing_local_activity.json`` is one, and replays (test_replay.py).
New runs went back to the scheduled activity because a local activity before a
continue-as-new left queries unanswered on the time-skipping server (5 of 12 runs of
test_continue_as_new.py failed with it, none without it)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import HISTORIES, Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from escalator.workflows.activity_contracts import (
    ACTIVITY_DELIVER,
    ACTIVITY_ROUTE,
    RoutingDecision,
    RoutingInput,
)
from escalator.workflows.constants import ROUTING_LOCAL_ACTIVITY, ROUTING_SCHEDULED_AGAIN
from escalator.workflows.contracts import StepKind

pytestmark = pytest.mark.temporal


def _scheduled(events: list[HistoryEvent]) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


def _markers(events: list[HistoryEvent]) -> list[str]:
    return [
        e.marker_recorded_event_attributes.marker_name
        for e in events
        if e.HasField("marker_recorded_event_attributes")
    ]


async def test_the_routing_decision_is_a_scheduled_activity_again(harness: Harness) -> None:
    h = harness
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    status = await h.until(eid, has(StepKind.NOTIFIED))
    assert steps(status, StepKind.ROUTED)[0].detail["decision"] == "page"
    events = list((await h.handle(eid).fetch_history()).events)
    patches = [
        payload.data
        for e in events
        if e.HasField("marker_recorded_event_attributes")
        for details in e.marker_recorded_event_attributes.details.values()
        for payload in details.payloads
    ]
    assert sum(ROUTING_SCHEDULED_AGAIN.encode() in data for data in patches) == 1
    assert not any(ROUTING_LOCAL_ACTIVITY.encode() in data for data in patches)
    assert "core_local_activity" not in _markers(events)
    assert _scheduled(events).count(ACTIVITY_ROUTE) == 1
    assert _scheduled(events).count(ACTIVITY_DELIVER) == 2  # Slack and SMS, one each


def test_the_local_activity_history_is_kept_for_replay() -> None:
    """The one recorded run of the local-activity days: if it went, nothing would check
    that such runs still replay."""
    text = (HISTORIES / "routing_local_activity.json").read_text()
    events = list(WorkflowHistory.from_json("la", text).events)
    assert "core_local_activity" in _markers(events)
    assert ACTIVITY_ROUTE not in _scheduled(events)


async def test_a_routing_decision_that_fails_pages_anyway(harness_factory: Any) -> None:
    async def broken(inp: RoutingInput) -> RoutingDecision:
        raise RuntimeError("routing database gone")

    h: Harness = await harness_factory(decide=broken)
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    status = await h.until(eid, has(StepKind.NOTIFIED), within=30)  # three attempts first
    routed = steps(status, StepKind.ROUTED)[0]
    assert routed.detail["decision"] == "page"
    assert "routing failed" in routed.detail["reason"]
    assert {n.reason for n in h.pages(eid)} == {"first"}
