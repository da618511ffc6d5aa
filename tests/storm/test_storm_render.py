"""The grouped message reads as one message about many exceptions, on every channel."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from storm_helpers import storm_policy

from escalator.activities.channels import ConsoleSender
from escalator.activities.slack_blocks import MessageContext, render_message
from escalator.activities.storm_blocks import STORM_ACK, STORM_RESOLVE, StormButtonValue
from escalator.workflows.activity_contracts import Notification
from escalator.workflows.contracts import ExceptionState, ExceptionStatus
from escalator.workflows.storm import storm_summary
from escalator.workflows.storm_contracts import StormInput, StormMember, StormState

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def storm_state(n: int) -> tuple[StormInput, StormState]:
    inp = StormInput(
        journey="orderToShip",
        rule="awaiting_inventory",
        role="inventory",
        policy=storm_policy(threshold=10),
    )
    members = [
        StormMember(
            exception_id=f"exc:o:{i}",
            subject=f"o-{i}",
            onset=T0,
            detected_at=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]
    return inp, StormState(members=members, resolved=["exc:o:0", "exc:o:0", "exc:o:1"])


def test_summary_counts_lists_and_bounds_the_subjects() -> None:
    inp, state = storm_state(512)
    text = storm_summary(inp, state)
    assert text.startswith("512 exceptions of awaiting_inventory (orderToShip) for inventory")
    assert "first at 2026-03-02 07:00:00 UTC, newest 2026-03-02 07:08:31 UTC" in text
    assert "2 resolved, 510 open" in text  # a resolution told twice counts once
    assert "o-49 and 462 more" in text and "o-50," not in text
    assert storm_summary(inp, state, over=True).count("storm over") == 1


def test_console_and_slack_show_the_summary() -> None:
    inp, state = storm_state(3)
    summary = storm_summary(inp, state)
    status = ExceptionStatus(
        exception_id="storm:orderToShip:awaiting_inventory:inventory",
        journey="orderToShip",
        rule="awaiting_inventory",
        kind="latency",
        subject="3 subjects",
        severity="high",
        state=ExceptionState.OPEN,
        level=1,
        owner_role="inventory",
        onset=T0,
        detected_at=T0,
        policy_version="v1",
        payload={"storm": True, "summary": summary, "count": 3},
    )
    message = Notification(
        exception_id=status.exception_id,
        idempotency_key="storm/run/n1/slack/#inventory",
        level=1,
        role="inventory",
        channel="slack",
        target="#inventory",
        reason="storm",
        status=status,
    )
    out = io.StringIO()
    asyncio.run(ConsoleSender(stream=out).send(message))
    assert f"[Storm] {summary}" in out.getvalue()
    blocks = render_message(status, MessageContext(), T0)
    assert blocks[0]["text"]["text"] == "Storm: orderToShip awaiting_inventory (3)"
    assert blocks[1]["text"]["text"] == summary
    # A storm from before the buttons (no "open" count in its status) keeps a plain message.
    assert not [b for b in blocks if b["type"] == "actions"]
    # With open members: Acknowledge all and Resolve all, carrying the storm id only.
    open_ = status.model_copy(update={"payload": {**status.payload, "open": 2}})
    actions = next(b for b in render_message(open_, MessageContext(), T0) if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [STORM_ACK, STORM_RESOLVE]
    value = StormButtonValue.decode(actions["elements"][0]["value"])
    assert value.storm_id == status.exception_id
    taken = open_.model_copy(update={"acknowledged_by": "alice"})
    actions = next(b for b in render_message(taken, MessageContext(), T0) if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [STORM_RESOLVE]
    for forged in ('{"s": "exc:o:1"}', '{"s": "storm:a", "x": 1}', ""):
        with pytest.raises(ValueError):
            StormButtonValue.decode(forged)
