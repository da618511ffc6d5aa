"""An exception nobody resolves continues as new while open, and stays the same exception.

Each scenario sets a small ``history_limit`` so a run fills up within a few
pages; the checks are what a responder, the records and the UI would notice
if anything were lost or repeated between runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from harness import HISTORIES, RECORD, Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHistory

from escalator.records.store import Store
from escalator.workflows import search_attributes as sa
from escalator.workflows.activity_contracts import RoutingDecision, RoutingInput
from escalator.workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    EscalationInput,
    ExceptionState,
    ResolveInput,
    SnoozeInput,
    StepKind,
    TimelineStep,
)
from escalator.workflows.presentation import static_summary

pytestmark = pytest.mark.temporal

LIMIT = 60  # history events per run: a few pages
# The limit is checked each time the run wakes: the wake that crosses it (a page is about
# 18 events: timer, notify, record, workflow tasks) and the continue-as-new itself (patch
# marker, search attributes, a last record) may pass it by this much. Per-target delivery
# adds three events per target and a workflow task per answer, and a continue-as-new
# waits for the messages on their way. Asking who is on call when a level starts (an
# activity: three events and a workflow task) adds ~6 more per page.
MARGIN = 80


async def _runs(h: Harness, eid: str) -> list[WorkflowHistory]:
    """Every run of the exception, first to latest, following the continue-as-new links."""
    found: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await h.client.get_workflow_handle(eid, run_id=run_id).fetch_history()
        found.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return found[::-1]
        run_id = started.continued_execution_run_id


def _first_run_id(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.first_execution_run_id


async def _recorded(h: Harness, eid: str, count: int) -> list[TimelineStep]:
    for _ in range(200):
        found = h.recorder.timeline(eid)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return h.recorder.timeline(eid)


async def _until_continued(
    h: Harness, eid: str, runs: int, act: Callable[[int], Awaitable[None]], tries: int = 40
) -> list[WorkflowHistory]:
    """Do ``act`` (a page, a note) until the exception has gone through ``runs`` runs."""
    for n in range(1, tries + 1):
        found = await _runs(h, eid)
        if len(found) >= runs:
            return found
        await act(n)
    raise AssertionError(f"still {len(await _runs(h, eid))} run(s) after {tries} tries")


async def test_repeat_forever_continues_as_new_and_is_answered_by_its_id(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    policy = make_policy(
        h.unit, response=(2, 2), on_exhausted="repeat", time_to_restore=6, ack_timeout=None
    )
    d = detection(subject())
    eid = (await h.raise_(d, policy, history_limit=LIMIT)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))

    async def one_more_page(n: int) -> None:
        await h.advance(2)
        await h.until(eid, has(StepKind.ESCALATED, n), within=30)

    runs = await _until_continued(h, eid, 3, one_more_page)
    # and at least two rounds of the policy, so "every round paged once" is checked across
    # rounds (how many pages fill a run depends on the activities a page takes)
    for _ in range(20):
        status = await h.status(eid)
        if len(steps(status, StepKind.EXHAUSTED)) >= 2:
            break
        await one_more_page(len(steps(status, StepKind.ESCALATED)) + 1)
    before_ack = await h.until(eid, lambda s: s.state is ExceptionState.OPEN)
    level = before_ack.level
    escalations = len(steps(before_ack, StepKind.ESCALATED))

    # A responder with only the workflow id reaches the latest run.
    result = await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice", via="slack"))
    assert "acknowledged by alice" in result.message
    acked = await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    assert acked.acknowledged_by == "alice" and acked.level == level
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    final = await h.until(
        eid,
        lambda s: (
            s.state is ExceptionState.RESOLVED
            and steps(s, StepKind.NOTIFIED)[-1].detail["reason"] == "resolved"
        ),
    )
    runs = await _runs(h, eid)
    assert len(runs) >= 3

    # The records hold every step exactly once, under one records run, numbered 1..n.
    recorded = await _recorded(h, eid, len(final.timeline))
    first_run = _first_run_id(runs[0])
    assert {st.run_id for st in recorded} == {first_run}
    assert [st.seq for st in recorded] == list(range(1, len(recorded) + 1))
    assert [(st.seq, st.kind) for st in recorded] == [(st.seq, st.kind) for st in final.timeline]
    kinds = [st.kind for st in recorded]
    assert kinds.count(StepKind.DETECTED) == 1 and kinds.count(StepKind.ROUTED) == 1
    assert kinds.count(StepKind.ACKNOWLEDGED) == 1 and kinds.count(StepKind.RESOLVED) == 1
    assert kinds.count(StepKind.ESCALATED) == escalations

    # Time to acknowledge is measured from the original detection, runs ago.
    detected = next(st for st in recorded if st.kind is StepKind.DETECTED)
    ack = next(st for st in recorded if st.kind is StepKind.ACKNOWLEDGED)
    assert ack.detail["time_to_acknowledge_s"] == pytest.approx(
        (ack.at - detected.at).total_seconds(), abs=1e-3
    )
    assert ack.at - detected.at >= h.unit * 2 * escalations
    assert final.acknowledged_by == "alice" and final.level == level
    assert final.detected_at == detected.at

    # The records store makes one exception of it (written twice: still once).
    store = Store.open(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        assert store.record_steps_sync(recorded) == len(recorded)
        assert store.record_steps_sync(recorded) == 0
        assert store.count("exceptions") == 1 and store.count("timeline_steps") == len(recorded)
        row = store.get_exception(eid)
        assert row is not None and row.run_id == first_run and row.state == "resolved"
        assert (row.acknowledged_by, row.highest_level, row.exhausted) == ("alice", 2, True)
        assert row.detected_at == detected.at and row.acknowledged_at == ack.at
    finally:
        store.close()

    # Nothing was sent twice, nothing re-paged: one first page, one message per notify step,
    # and the role channels' messages were updated in place to the end.
    sent = h.channel.for_exception(eid)
    keys = [n.idempotency_key for n in sent]
    assert len(keys) == len(set(keys))
    notified = [st for st in recorded if st.kind is StepKind.NOTIFIED]
    assert len(sent) == sum(len(st.detail["sent"]) for st in notified)
    reasons = [n.reason for n in sent]
    assert reasons.count("first") == 2  # slack and sms, once
    # Every round paged once: level 2 by Slack, level 1 again by Slack and SMS.
    rounds = kinds.count(StepKind.EXHAUSTED)
    assert rounds >= 2
    assert reasons.count("repeat") == 2 * rounds
    to_level_2 = [st for st in recorded if st.kind is StepKind.ESCALATED and st.level == 2]
    assert reasons.count("escalated") == len(to_level_2)
    assert len({k.split("/")[1] for k in keys}) == 1  # every key in the records run
    first_messages = {n.target for n in sent if n.reason == "first" and n.channel == "slack"}
    resolved = [n for n in sent if n.reason == "resolved"]
    assert {n.target for n in resolved} >= first_messages
    assert all(n.replaces for n in resolved)

    # Each run's history stayed bounded, and each later run continued the one before.
    lengths = [len(r.events) for r in runs]
    assert all(n <= LIMIT + MARGIN for n in lengths[:-1]), lengths
    for history in runs[:-1]:
        assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    print(f"history events per run: {lengths}")

    # The UI of the latest run: search attributes follow, the summary is in the details.
    handle = h.handle(eid)
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.JOURNEY) == "orderToShip" and attrs.get(sa.LEVEL) == level
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    summary = static_summary(EscalationInput(detection=d, policy=policy))
    assert summary in meta.current_details
    assert f"run {len(runs)} of this exception" in meta.current_details
    if RECORD:  # the first run continues as new while open; the last one resumes and ends
        (HISTORIES / "continue_as_new_open_first.json").write_text(runs[0].to_json())
        (HISTORIES / "continue_as_new_open_last.json").write_text(runs[-1].to_json())


async def _note(h: Harness, eid: str, actor: str, n: int) -> None:
    await h.update(eid, "add_note", AddNoteInput(actor=actor, note=f"still looking ({n})"))


def _each_note_once(h: Harness, eid: str) -> None:
    """Notes sent back to back, across the switch: each one recorded, none twice."""
    notes = [
        st.detail["note"]
        for st in h.recorder.timeline(eid)
        if st.kind is StepKind.NOTE and st.detail.get("note", "").startswith("still looking")
    ]
    assert notes == [f"still looking ({n})" for n in range(1, len(notes) + 1)]
    assert notes


async def test_a_snooze_survives_continue_as_new(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, response=(3, 3), max_snooze=10)
    eid = (await h.raise_(detection(subject()), policy, history_limit=LIMIT)).exception_id
    opened = await h.until(eid, has(StepKind.NOTIFIED))
    assert opened.ack_due is not None
    until = opened.detected_at + h.unit * 8
    await h.update(eid, "snooze", SnoozeInput(actor="alice", until=until))
    snoozed = await h.until(eid, lambda s: s.state is ExceptionState.SNOOZED)
    assert snoozed.snoozed_until == until

    async def note(n: int) -> None:
        await _note(h, eid, "alice", n)

    await _until_continued(h, eid, 2, note)
    carried = await h.until(eid, lambda s: s.state is ExceptionState.SNOOZED)
    assert carried.snoozed_until == until
    pages_before = len(h.pages(eid))

    await h.advance(3)  # well before the snooze ends (time also passed on the dev server)
    assert len(h.pages(eid)) == pages_before
    await h.advance(6)
    woken = await h.until(eid, lambda s: s.state is ExceptionState.OPEN and bool(s.ack_due))
    ended = [st for st in steps(woken, StepKind.NOTE) if st.detail.get("note") == "snooze ended"]
    assert len(ended) == 1
    assert until <= ended[0].at <= until + h.slack
    reminders = [n for n in h.pages(eid) if n.reason == "reminder"]
    assert {n.role for n in reminders} == {"inventory"}
    _each_note_once(h, eid)


async def test_a_restore_deadline_survives_continue_as_new(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, time_to_restore=8, ack_timeout=None)
    eid = (await h.raise_(detection(subject()), policy, history_limit=LIMIT)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    acked = await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    assert acked.restore_due is not None and acked.acknowledged_at is not None
    restore_due = acked.restore_due

    async def note(n: int) -> None:
        await _note(h, eid, "alice", n)

    await _until_continued(h, eid, 2, note)
    carried = await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    assert carried.restore_due == restore_due and carried.acknowledged_by == "alice"
    assert carried.acknowledged_at == acked.acknowledged_at

    await h.advance(8)
    breached = await h.until(eid, has(StepKind.RESTORE_BREACHED), within=30)
    step = steps(breached, StepKind.RESTORE_BREACHED)[0]
    assert step.actor == "alice"
    assert restore_due <= step.at <= restore_due + h.slack
    await h.until(eid, lambda s: s.level == 2)
    assert {n.member for n in h.channel.for_exception(eid) if n.reason == "reminder"} == {"alice"}
    _each_note_once(h, eid)


async def test_a_silence_holds_across_continue_as_new_then_pages_once(
    harness_factory: Callable[..., Awaitable[Harness]], unit: timedelta
) -> None:
    """A silence re-checked every unit holds the exception through several runs; when it
    ends, the exception is routed and paged once, as if it had been one run."""
    silenced = {"on": True}

    async def decide(inp: RoutingInput) -> RoutingDecision:
        if silenced["on"]:
            return RoutingDecision(
                action="suppress",
                reason="silenced by anna: stock count",
                silence_id="sil-1",
                recheck_at=inp.at + unit if inp.at else None,
            )
        return RoutingDecision(action="page", reason="burning fast")

    h = await harness_factory(decide=decide)
    policy = make_policy(h.unit)
    eid = (await h.raise_(detection(subject()), policy, history_limit=LIMIT)).exception_id
    await h.until(eid, has(StepKind.ROUTED))

    async def recheck(n: int) -> None:
        await h.advance(1)

    runs = await _until_continued(h, eid, 3, recheck)
    held = await h.until(eid, lambda s: s.routing == "suppress")
    assert held.level == 0 and h.channel.for_exception(eid) == []
    assert [st.detail["silence"] for st in steps(held, StepKind.ROUTED)] == ["sil-1"]

    silenced["on"] = False
    await h.advance(1)
    paged = await h.until(eid, has(StepKind.NOTIFIED))
    assert paged.level == 1 and paged.routing == "page"
    routed = [st.detail["decision"] for st in steps(paged, StepKind.ROUTED)]
    assert routed == ["suppress", "page"]
    firsts = [n for n in h.pages(eid) if n.reason == "first"]
    assert {(n.channel, n.target) for n in firsts} == {
        ("slack", "#inventory"),
        ("sms", "+31600000001"),
    }
    assert len(firsts) == 2

    recorded = await _recorded(h, eid, len(paged.timeline))
    assert [st.seq for st in recorded] == list(range(1, len(recorded) + 1))
    assert {st.run_id for st in recorded} == {_first_run_id(runs[0])}
    assert [st.kind for st in recorded].count(StepKind.DETECTED) == 1
    runs = await _runs(h, eid)
    lengths = [len(r.events) for r in runs]
    assert all(n <= LIMIT + MARGIN for n in lengths[:-1]), lengths
    if RECORD:  # held by the silence, continued as new; and the run that paged at last
        (HISTORIES / "continue_as_new_held_first.json").write_text(runs[0].to_json())
        (HISTORIES / "continue_as_new_held_last.json").write_text(runs[-1].to_json())


async def test_a_continued_exception_reopens_linked_to_its_records_run(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, reopen_window=6)
    d = detection(subject())
    eid = (await h.raise_(d, policy, history_limit=LIMIT)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))

    async def note(n: int) -> None:
        await _note(h, eid, "alice", n)

    runs = await _until_continued(h, eid, 2, note)
    records_run = _first_run_id(runs[0])
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    resolved = await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    assert resolved.resolved_at is not None
    again = await h.raise_(detection(d.subject, waiting_for="sku-43"), policy)
    assert again.outcome == "reopened"
    status = await h.until(eid, has(StepKind.REOPENED))
    assert steps(status, StepKind.REOPENED)[0].detail["reopened_from"] == records_run
    # Rework is a new exception in the records: its own records run, its own detection.
    assert status.detected_at >= resolved.resolved_at
    assert {st.run_id for st in status.timeline} != {records_run}
    # The reopened run started by continue-as-new: its summary is in the current details.
    meta = await h.handle(eid).query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "reopened in a new run" in meta.current_details
    assert static_summary(EscalationInput(detection=d, policy=policy)) in meta.current_details


async def test_an_ack_timeout_counts_from_the_last_progress_across_runs(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, ack_timeout=5, time_to_restore=None)
    eid = (await h.raise_(detection(subject()), policy, history_limit=LIMIT)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="bob"))
    await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    await h.advance(3)  # so the last progress is well after the acknowledgement

    async def note(n: int) -> None:  # each note is progress: it holds off the ack timeout
        await _note(h, eid, "bob", n)

    await _until_continued(h, eid, 2, note)
    carried = await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    last_progress = steps(carried, StepKind.NOTE)[-1].at
    await h.advance(5)
    reverted = await h.until(eid, has(StepKind.ACK_REVERTED), within=30)
    step = steps(reverted, StepKind.ACK_REVERTED)[0]
    assert step.actor == "bob"
    assert last_progress + h.unit * 5 <= step.at <= last_progress + h.unit * 5 + h.slack
    await h.until(eid, lambda s: any(n.reason == "reverted" for n in h.pages(eid)))
