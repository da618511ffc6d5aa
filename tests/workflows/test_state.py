"""The pure decisions of the escalation, without a server: deadlines, refusals, targets, texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policy_factory import detection, make_policy

from escalator.policies.calendars import Calendar
from escalator.workflows import responses as r
from escalator.workflows.contracts import (
    AcknowledgeInput,
    EscalationInput,
    ExceptionState,
    ReassignInput,
    ResolveInput,
    SnoozeInput,
    StepKind,
)
from escalator.workflows.escalation_state import EscalationState
from escalator.workflows.presentation import current_details, static_details, static_summary
from escalator.workflows.targets import member_targets, role_targets, update_targets

MIN = timedelta(minutes=1)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def state(**policy: object) -> EscalationState:
    inp = EscalationInput(detection=detection("o-1"), policy=make_policy(MIN, **policy))  # type: ignore[arg-type]
    s = EscalationState.start(inp, "exc:orderToShip:awaiting_inventory:o-1", "run-1", T0)
    s.start_level(1, T0)
    s.add_notified("inventory")
    return s


def details_at_level_2(s: EscalationState) -> str:
    """The UI's current details at level 2 (billing-leads), waiting, with who was paged."""
    return current_details(
        state=s.state,
        level=2,
        role="billing-leads",
        policy=s.policy,
        exhausted=False,
        ack_due=None,
        restore_due=None,
        snoozed_until=None,
        acknowledged_by=None,
        resolved_by=None,
        resolved_at=None,
        occurrences=1,
        on_call=s.on_call_paged,
    )


def test_ack_deadline_and_restore_and_timeout_pick_the_earliest() -> None:
    s = state(response=(3, 3), time_to_restore=12, ack_timeout=8)
    d = s.next_deadline()
    assert d is not None and (d.kind, d.due) == ("ack", T0 + 3 * MIN)
    assert d.summary == "ack window: inventory, 3m"
    r.apply_acknowledge(s, AcknowledgeInput(actor="alice"), T0 + MIN)
    d = s.next_deadline()
    assert d is not None and (d.kind, d.due) == ("ack_timeout", T0 + 9 * MIN)
    s.last_progress_at = T0 + 6 * MIN  # a note holds off the timeout past the restore target
    d = s.next_deadline()
    assert d is not None and (d.kind, d.due) == ("restore", T0 + 13 * MIN)


def test_business_hours_level_counts_only_open_time() -> None:
    calendar = Calendar.model_validate(
        {"name": "office", "timezone": "Europe/Amsterdam", "hours": {"mon": "09:00-17:00"}}
    )
    s = state(calendar=calendar, business_hours=True, response=(30, 30))
    evening = datetime(2026, 3, 2, 15, 50, tzinfo=UTC)  # 16:50 in Amsterdam: 10 min left
    s.start_level(1, evening)
    # 10 minutes on Monday, then the calendar is closed until next Monday 09:00 (08:00 UTC).
    assert s.ack_due == datetime(2026, 3, 9, 8, 20, tzinfo=UTC)


def test_refusals_are_human_readable() -> None:
    s = state()
    assert r.refuse_actor(s, "carol") == "carol is not in inventory or incident-leads"
    assert r.refuse_actor(s, "alice") is None and r.refuse_actor(s, "erin") is None
    assert r.refuse_reassign(s, ReassignInput(actor="bob", role="inventory")) == (
        "inventory already owns this exception"
    )
    too_late = SnoozeInput(actor="alice", until=T0 + 11 * MIN)
    assert r.refuse_snooze(s, too_late, T0) == (
        "snooze until 2026-03-02 10:11 UTC is past the policy bound of 10m "
        "(latest 2026-03-02 10:10 UTC)"
    )
    past = SnoozeInput(actor="alice", until=T0 - MIN)
    assert "is not in the future" in (r.refuse_snooze(s, past, T0) or "")
    r.apply_resolve(s, ResolveInput(actor="maria", note="done"), T0 + 2 * MIN)
    assert r.refuse_resolve(s, ResolveInput(actor="alice", note="x")) == (
        "already resolved by maria at 2026-03-02 10:02 UTC"
    )


def test_resolution_records_exact_durations() -> None:
    s = state()
    r.apply_acknowledge(s, AcknowledgeInput(actor="alice"), T0 + 4 * MIN)
    r.apply_resolve(s, ResolveInput(actor="alice", note="ok", cause="c"), T0 + 34 * MIN)
    ack = next(x for x in s.timeline if x.kind is StepKind.ACKNOWLEDGED)
    done = next(x for x in s.timeline if x.kind is StepKind.RESOLVED)
    assert ack.detail["time_to_acknowledge_s"] == 240.0
    assert done.detail["time_to_restore_s"] == 2040.0
    assert [x.seq for x in s.timeline] == [1, 2]
    assert s.status().state is ExceptionState.RESOLVED and s.status().ack_due is None


def test_targets_follow_channels_and_skip_missing_addresses() -> None:
    policy = make_policy(MIN)
    targets, skipped = role_targets(policy, "billing-leads", ["slack", "slack_dm", "sms"], T0)
    assert [(t.channel, t.target) for t in targets] == [
        ("slack", "#billing-leads"),
        ("sms", "+31600000002"),
    ]
    assert skipped == ["slack_dm: no address for maria in role billing-leads"]
    targets, _ = role_targets(policy, "it-ops", ["slack", "sms"], T0)
    assert [(t.channel, t.target, t.member) for t in targets] == [("console", "it-ops", "carol")]
    assert [(t.channel, t.target) for t in member_targets(policy, "alice", ["slack", "sms"])] == [
        ("slack_dm", "UALICE1"),
        ("sms", "+31600000001"),
    ]
    assert [t.channel for t in update_targets(policy, ["inventory", "it-ops"])] == [
        "slack",
        "console",
    ]


def test_ui_texts() -> None:
    s = state()
    text = current_details(
        state=s.state,
        level=1,
        role="inventory",
        policy=s.policy,
        exhausted=False,
        ack_due=T0 + 3 * MIN,
        restore_due=None,
        snoozed_until=None,
        acknowledged_by=None,
        resolved_by=None,
        resolved_at=None,
        occurrences=2,
    )
    assert text == "Level 1: paging inventory, ack due 2026-03-02 10:03 UTC · 2 occurrences"
    inp = EscalationInput(detection=detection("o-9"), policy=make_policy(MIN))
    assert static_summary(inp) == "high latency: orderToShip/awaiting_inventory on o-9"
    details = static_details(inp)
    assert "**Runbook:** [https://runbooks.example/awaiting-inventory]" in details
    assert "inventory (3m) → billing-leads (3m); then broadcast" in details
    assert "| location | ams-1 |" in details


def test_ui_details_say_who_was_on_call_at_each_level_and_why() -> None:
    s = state()
    s.note_on_call("inventory", {"member": "alice", "why": "layer weekly", "layer": "weekly"})
    s.start_level(2, T0 + 3 * MIN)
    s.note_on_call(
        "billing-leads",
        {
            "member": "carol",
            "why": "override ov-1 (made by bob): carol in place of dave",
            "layer": "days",
            "override": "ov-1",
            "override_by": "bob",
            "skipped": ["erin"],
            "at": (T0 + 3 * MIN).isoformat(),
        },
    )
    # Asked again at the same level (a reassign): the latest answer replaces the first.
    s.note_on_call(
        "billing-leads",
        {
            "member": "frank",
            "why": "layer days; erin away",
            "layer": "days",
            "skipped": ["erin"],
            "at": (T0 + 4 * MIN).isoformat(),
        },
    )
    text = details_at_level_2(s)
    assert text.splitlines()[2:] == [
        "**On call when paged:**",
        "- level 1 · inventory: **alice** — layer weekly",
        "- level 2 · billing-leads: **frank**, 2026-03-02 10:04 UTC — layer days; "
        "erin away (vacation), skipped",
    ]
    s.note_on_call(
        "billing-leads",
        {"member": "carol", "why": "", "layer": "days", "override": "ov-1", "override_by": "bob"},
    )
    last = details_at_level_2(s).splitlines()[-1]
    assert last == "- level 2 · billing-leads: **carol** — override `ov-1` by bob over layer days"
