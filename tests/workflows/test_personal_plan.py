"""A member's rule laid out for one page, and the state that times it: no server needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policy_factory import detection, make_policy

from escalator.activities.slack_blocks import step_text
from escalator.policies.notify_rules import Urgency
from escalator.policies.roles import LevelChannel, Member
from escalator.workflows.contracts import EscalationInput, StepKind
from escalator.workflows.escalation_state import EscalationState
from escalator.workflows.escalation_steps import stop_steps
from escalator.workflows.personal_steps import StepPlan, level_channels, plan_steps

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ANNA = Member(
    name="anna",
    slack_user_id="UANNA01",
    phone="+31600000007",
    notify={
        "page": [
            {"channel": "slack_dm"},
            {"channel": "sms", "after": "2m"},
            {"channel": "voice", "after": "5m"},
        ]
    },
)


def _plan(channels: list[LevelChannel], urgency: Urgency = "page") -> StepPlan:
    assert ANNA.notify is not None
    return plan_steps(
        role="inventory",
        member=ANNA,
        steps=ANNA.notify.steps("page") or [],
        urgency=urgency,
        channels=channels,
        level=1,
        reason="first",
        at=T0,
    )


def test_steps_at_once_go_with_the_page_the_rest_wait() -> None:
    plan = _plan(["slack", "slack_dm", "sms", "voice"])
    assert [(t.channel, t.target, t.member) for t in plan.now] == [("slack_dm", "UANNA01", "anna")]
    later = plan.later
    assert [(p.channel, p.due - T0, p.step, p.of) for p in later] == [
        ("sms", 2 * MIN, 2, 3),
        ("voice", 5 * MIN, 3, 3),
    ]
    assert plan.skipped == []
    assert level_channels(["slack", "slack_dm", "sms", "webhook:tickets", "console"]) == [
        "slack",
        "webhook:tickets",
        "console",
    ]


def test_a_channel_the_level_does_not_list_is_skipped_never_widened() -> None:
    plan = _plan(["slack", "sms"])
    assert plan.now == []
    assert [p.channel for p in plan.later] == ["sms"]
    assert plan.skipped == [
        "slack_dm: anna's page step 1 (0s): level 1 does not allow slack_dm (it allows slack, sms)",
        "voice: anna's page step 3 (5m): level 1 does not allow voice (it allows slack, sms)",
    ]
    outcomes = [e["outcome"] for e in plan.detail["steps"]]
    assert outcomes == ["skipped", "due", "skipped"]


def _state() -> EscalationState:
    inp = EscalationInput(detection=detection("o-1"), policy=make_policy(MIN, response=(3, 3)))
    s = EscalationState.start(inp, "exc:1", "run-1", T0)
    s.start_level(1, T0)
    s.personal_steps = list(_plan(["slack_dm", "sms", "voice"]).later)
    return s


def test_the_next_step_is_the_deadline_while_it_comes_first_and_the_exception_is_open() -> None:
    s = _state()
    first = s.next_deadline()
    assert first is not None and first.kind == "step" and first.due == T0 + 2 * MIN
    assert first.summary == "anna's page step 2 of 3: sms after 2m"
    s.personal_steps = s.personal_steps[1:]  # the SMS went: the ack window (3m) is next
    ack = s.next_deadline()
    assert ack is not None and ack.kind == "ack" and ack.due == T0 + 3 * MIN
    s.ack_due = None
    voice = s.next_deadline()
    assert voice is not None and voice.kind == "step" and voice.due == T0 + 5 * MIN
    s.state = s.state.ACKNOWLEDGED  # nobody's steps run once someone has it
    assert s.next_deadline() is None


def test_stopping_records_what_never_went_out() -> None:
    s = _state()
    stop_steps(s, T0 + 3 * MIN, "acknowledged by anna", actor="anna")
    assert s.personal_steps == []
    step = s.timeline[-1]
    assert step.kind is StepKind.STEPS_STOPPED and step.actor == "anna"
    assert [(p["channel"], p["after"]) for p in step.detail["stopped"]] == [
        ("sms", "2m"),
        ("voice", "5m"),
    ]
    assert step_text(step).endswith("Stopped anna's sms, anna's voice: acknowledged by anna")
    before = len(s.timeline)
    stop_steps(s, T0 + 4 * MIN, "resolved by anna")  # nothing left: nothing recorded
    assert len(s.timeline) == before
