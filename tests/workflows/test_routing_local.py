"""The routing decision runs as a local activity in new runs (patch routing-local-activity);
the deliveries after it stay activities of their own. Recorded histories without the
patch replay with the routing activity they scheduled (test_replay.py)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.api.history.v1 import HistoryEvent

from escalator.workflows.activity_contracts import (
    ACTIVITY_DELIVER,
    ACTIVITY_ROUTE,
    RoutingDecision,
    RoutingInput,
)
from escalator.workflows.constants import ROUTING_LOCAL_ACTIVITY
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


async def test_the_routing_decision_is_a_local_activity_the_pages_are_not(
    harness: Harness,
) -> None:
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
    assert sum(ROUTING_LOCAL_ACTIVITY.encode() in data for data in patches) == 1
    assert "core_local_activity" in _markers(events)
    assert ACTIVITY_ROUTE not in _scheduled(events)
    assert _scheduled(events).count(ACTIVITY_DELIVER) == 2  # Slack and SMS, one each


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
