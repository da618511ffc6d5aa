"""What an open exception carries into its next run, without a server."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from policy_factory import detection, make_policy

from escalator.workflows import responses as r
from escalator.workflows.activity_contracts import RoutingDecision
from escalator.workflows.carried import NOT_CARRIED, CarriedRun, CarriedState
from escalator.workflows.contracts import (
    AcknowledgeInput,
    EscalationInput,
    ExceptionState,
    SnoozeInput,
    StepKind,
)
from escalator.workflows.escalation_carry import KEEP_STEPS, carry, resume, trimmed
from escalator.workflows.escalation_inbox import (
    Acknowledged,
    EscalateNow,
    Inbox,
    InboxEvent,
    Occurred,
    StormEscalatedHere,
)
from escalator.workflows.escalation_state import EscalationState
from escalator.workflows.pending_step import PendingStep

MIN = timedelta(minutes=1)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EID = "exc:orderToShip:awaiting_inventory:o-1"
HISTORIES = Path(__file__).parent.parent / "histories"


def _busy_state() -> EscalationState:
    """An exception two runs deep: escalated, repeated, snoozed, messages sent."""
    inp = EscalationInput(
        detection=detection("o-1"),
        policy=make_policy(MIN, on_exhausted="repeat", max_snooze=30),
        reopened_from="run-0",
        rework_count=2,
        previous_resolved_at=T0 - MIN,
    )
    s = EscalationState.start(inp, EID, "run-1", T0)
    s.record(StepKind.DETECTED, T0)
    s.routing, s.routing_reason = "page", "paged: burning 16x"
    s.routing_v2, s.storm_id = False, "storm:x"  # a routing-v1 run, grouped into a storm
    s.start_level(2, T0 + MIN)
    s.round, s.exhausted, s.role_override = 3, True, "it-ops"
    s.add_notified("inventory")
    s.add_notified("billing-leads")
    s.messages = {"inventory|slack|#inventory": "msg-1"}
    s.notify_count = 7
    s.personal_steps = [  # alice's voice call, due after the snooze (a page laid it out)
        PendingStep(
            member="alice",
            role="inventory",
            level=2,
            channel="voice",
            target="+31600000001",
            step=3,
            of=3,
            after_s=300,
            due=T0 + 6 * MIN,
            urgency="page",
            reason="escalated",
        )
    ]
    s.occurrences, s.payload = 4, {"waiting_for": "sku-9"}
    s.last_detection = detection("o-1", waiting_for="sku-9")
    r.apply_acknowledge(s, AcknowledgeInput(actor="alice"), T0 + 2 * MIN)
    r.apply_snooze(s, SnoozeInput(actor="alice", until=T0 + 20 * MIN), T0 + 3 * MIN)
    s.runs = 2
    s.take_unrecorded()
    s.record(StepKind.NOTE, T0 + 4 * MIN, note="not written yet")  # records were down
    return s


def test_every_field_of_an_open_exception_survives_continue_as_new() -> None:
    s = _busy_state()
    assert s.state is ExceptionState.SNOOZED and s.snoozed_from is ExceptionState.ACKNOWLEDGED
    nxt = carry(s, inbox=[("snoozed", "alice")], history_limit=500)
    # Through the data converter and back, as Temporal will hand it to the next run.
    nxt = EscalationInput.model_validate_json(nxt.model_dump_json())
    back = resume(nxt, EID)
    for f in dataclasses.fields(EscalationState):
        if f.name == "runs":
            assert back.runs == s.runs + 1
        else:
            assert getattr(back, f.name) == getattr(s, f.name), f.name
    assert nxt.history_limit == 500 and nxt.carried is not None
    assert nxt.carried.held is None and nxt.carried.holding is None
    assert nxt.carried.inbox == [("snoozed", "alice")]
    assert nxt.carried.headline == s.routing_reason  # under its first name, too


def test_a_held_exception_carries_the_decision_that_holds_it() -> None:
    s = _busy_state()
    decision = RoutingDecision(
        action="suppress", reason="stock count", silence_id="sil-1", recheck_at=T0 + MIN
    )
    nxt = carry(
        s, inbox=[], history_limit=500, held=decision.model_dump(mode="json"), holding="sil-1"
    )
    nxt = EscalationInput.model_validate_json(nxt.model_dump_json())
    assert nxt.carried is not None and nxt.carried.holding == "sil-1"
    assert RoutingDecision.model_validate(nxt.carried.held) == decision


def test_the_busy_state_sets_every_field_so_the_round_trip_checks_it() -> None:
    """A field added to EscalationState without a value here would pass the round trip
    unchecked (its default on both sides): set it in _busy_state, and carry it."""
    never_open = {
        "resolved_by",
        "resolved_at",
        "resolution_note",
        "resolution_real",
    }  # only resolved runs
    s = _busy_state()
    for f in dataclasses.fields(EscalationState):
        if f.name in never_open:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        assert getattr(s, f.name) != default, f"{f.name} keeps its default in _busy_state"


def test_the_next_run_goes_on_numbering_steps_in_the_records_run() -> None:
    s = _busy_state()
    back = resume(carry(s, inbox=[], history_limit=500), EID)
    step = back.record(StepKind.NOTE, T0 + 5 * MIN, note="next")
    assert (step.run_id, step.seq) == ("run-1", s.seq + 1)


def test_a_resolved_exception_is_never_carried() -> None:
    s = _busy_state()
    r.resolve(s, "alice", "done", None, "cli", T0 + 6 * MIN)
    with pytest.raises(ValueError, match="only an open exception"):
        carry(s, inbox=[], history_limit=500)


def test_a_long_timeline_keeps_its_opening_and_its_latest_steps() -> None:
    s = _busy_state()
    s.record(StepKind.ROUTED, T0, decision="page")
    for n in range(3 * KEEP_STEPS):
        s.record(StepKind.ESCALATED, T0 + n * MIN, level=1)
    kept = trimmed(s.timeline)
    assert len(kept) == KEEP_STEPS + 2  # detected and routed, then the latest
    assert [st.kind for st in kept[:2]] == [StepKind.DETECTED, StepKind.ROUTED]
    assert kept[-1] == s.timeline[-1] and kept[2].seq == s.seq - KEEP_STEPS + 1
    assert trimmed(s.timeline[:5]) == s.timeline[:5]


def test_every_state_field_is_carried_or_excluded_by_name() -> None:
    """CarriedState is built from EscalationState: a new state field is carried unless
    NOT_CARRIED names it (with why), and an exclusion that names no field is stale."""
    state = {f.name for f in dataclasses.fields(EscalationState)}
    assert state >= NOT_CARRIED, f"stale exclusions: {sorted(NOT_CARRIED - state)}"
    carried = set(CarriedState.model_fields) - set(CarriedRun.model_fields)
    assert carried == state - NOT_CARRIED
    assert not carried & set(CarriedRun.model_fields)  # no name means two things


def _recorded_carried() -> list[tuple[str, dict[str, Any]]]:
    """Every ``carried`` payload the recorded histories hold (runs started or continued)."""
    found = []
    for path in sorted(HISTORIES.glob("*.json")):
        for event in json.loads(path.read_text())["events"]:
            for key in (
                "workflowExecutionStartedEventAttributes",
                "workflowExecutionContinuedAsNewEventAttributes",
            ):
                for payload in event.get(key, {}).get("input", {}).get("payloads", []):
                    inp = json.loads(base64.b64decode(payload["data"]))
                    if inp.get("carried"):
                        found.append((path.stem, inp))
    return found


def test_recorded_carried_payloads_are_read_and_written_in_the_same_shape() -> None:
    """Continue-as-new payloads of recorded histories still validate (the model refuses
    keys it does not know, so a renamed state field fails here), and what a run carries
    today has every key they have: code that reads those payloads reads ours."""
    recorded = _recorded_carried()
    assert len(recorded) >= 4  # open and held, as continued and as started
    written = carry(_busy_state(), inbox=[], history_limit=500).model_dump(mode="json")
    for name, payload in recorded:
        inp = EscalationInput.model_validate(payload)
        assert inp.carried is not None, name
        assert set(payload["carried"]) <= set(written["carried"]), name


def test_the_inbox_carries_typed_events_as_kind_and_actor_pairs() -> None:
    events: list[InboxEvent] = [
        Acknowledged("alice"),
        Occurred(),
        EscalateNow("bob"),
        StormEscalatedHere(),
    ]
    inbox = Inbox()
    for event in events:
        inbox.put(event)
    pairs = inbox.pairs()
    assert pairs == [
        ("acknowledged", "alice"),
        ("occurred", None),
        ("escalate_now", "bob"),
        ("storm", None),
    ]
    back = Inbox(pairs)
    assert [back.take() for _ in events] == events and not back
    with pytest.raises(ValueError, match="not an inbox event"):
        Inbox([("acknowledged", None)])  # a response without its responder
