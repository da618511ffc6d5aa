"""Block Kit rendering of one exception: the message, its thread lines, the resolve modal.

Pure functions of an `ExceptionStatus` (plus what the status does not carry:
the rule's hypothesis, the runbook link, the roles it may be reassigned to),
so the same status always renders the same message and `chat.update` shows
the current truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from escalator.activities.button_values import (
    OPTION_VALUE_LIMIT,
    SNOOZE_CHOICES,
    ButtonAction,
    ButtonValue,
    ButtonValueError,
)
from escalator.activities.handoff_blocks import ShiftValue, handoff_blocks
from escalator.activities.slack_silence_menu import silence_menu
from escalator.activities.storm_blocks import storm_message
from escalator.workflows.contracts import ExceptionState, ExceptionStatus, StepKind, TimelineStep
from escalator.workflows.presentation import alert_lines, prediction_lines

__all__ = [
    "ACTION_PREFIX",
    "RESOLVE_CALLBACK",
    "MessageContext",
    "change_text",
    "fallback_text",
    "format_age",
    "headline",
    "render_message",
    "resolve_modal",
    "step_text",
]

ACTION_PREFIX = "escalator."
RESOLVE_CALLBACK = "escalator.resolve_modal"
RUNBOOK_ACTION = ACTION_PREFIX + "runbook"
Block = dict[str, Any]

_STATE_ICON = {
    ExceptionState.OPEN: ":rotating_light:",
    ExceptionState.ACKNOWLEDGED: ":eyes:",
    ExceptionState.SNOOZED: ":zzz:",
    ExceptionState.RESOLVED: ":white_check_mark:",
}


@dataclass(frozen=True)
class MessageContext:
    hypothesis: str = ""
    runbook: str | None = None
    reassign_roles: tuple[str, ...] = ()
    members: dict[str, str] = field(default_factory=dict)  # member name -> Slack user id


def format_age(delta: timedelta) -> str:
    """2h10m, 3d4h, 45m: what fits in a text message."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


def _who(name: str | None, ctx: MessageContext) -> str:
    if not name:
        return "someone"
    user = ctx.members.get(name)
    return f"<@{user}>" if user else name


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def fallback_text(status: ExceptionStatus, now: datetime) -> str:
    if status.payload.get("handoff"):
        return str(status.payload["summary"])
    age = format_age(now - status.onset)
    return (
        f"{status.state.value.upper()}: {status.journey} {status.subject} "
        f"{status.rule} for {age} (level {status.level}, {status.owner_role})"
    )


def headline(status: ExceptionStatus, ctx: MessageContext) -> str:
    if status.state is ExceptionState.RESOLVED:
        note = f": {status.resolution_note}" if status.resolution_note else ""
        false_alarm = " as a false alarm" if status.resolution_real is False else ""
        return (
            f"Resolved by {_who(status.resolved_by, ctx)}{false_alarm} "
            f"at {_when(status.resolved_at)}{note}"
        )
    if status.state is ExceptionState.ACKNOWLEDGED:
        return f"Acknowledged by {_who(status.acknowledged_by, ctx)} at {_when(status.acknowledged_at)}"
    if status.state is ExceptionState.SNOOZED:
        return f"Snoozed until {_when(status.snoozed_until)}"
    escalated = " (escalated)" if status.level > 1 else ""
    return f"Waiting for *{status.owner_role}*{escalated}"


def render_message(status: ExceptionStatus, ctx: MessageContext, now: datetime) -> list[Block]:
    if status.payload.get("storm"):
        return storm_message(status)  # escalator/activities/storm_blocks.py: its own buttons
    if status.payload.get("handoff"):  # escalator/activities/handoff_blocks.py
        value = ShiftValue.decode(str(status.payload["shift"]))
        return handoff_blocks(str(status.payload["summary"]), value, str(status.payload["why"]))
    if status.payload.get("digest"):
        return [
            {"type": "section", "text": {"type": "mrkdwn", "text": str(status.payload["summary"])}}
        ]
    icon = _STATE_ICON[status.state]
    title = f"{status.journey}: {status.subject} {status.rule}"
    fields = [
        ("Journey", status.journey),
        ("Case", status.subject),
        ("Age", format_age(now - status.onset)),
        ("Level", f"{status.level} · {status.owner_role}"),
        ("Deadline", _when(status.restore_due or status.ack_due)),
        ("Occurrences", str(status.occurrences)),
        ("Severity", status.severity),
        ("State", status.state.value),
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {headline(status, ctx)}"}},
    ]
    if ctx.hypothesis:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"_{ctx.hypothesis}_"}}
        )
    predicted = prediction_lines(status.payload)
    if predicted:  # predicted_breach: what the model sees, while the case can be saved
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_md(predicted)}})
    alert = alert_lines(status.payload, slack=True)
    if alert:  # from Alertmanager / Grafana: its labels, annotations and a link to its source
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(alert)[:3000]}}
        )
    if status.routing_reason:  # why this reached you (or did not page): the routing decision
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Routing: {status.routing_reason}"}],
            }
        )
    blocks.append(
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields],
        }
    )
    elements = _actions(status, ctx)
    if elements:
        blocks.append({"type": "actions", "block_id": "escalator.actions", "elements": elements})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"`{status.exception_id}` · policy {status.policy_version}",
                }
            ],
        }
    )
    return blocks


def _slack_md(lines: list[str]) -> str:
    return "\n".join(lines).replace("**", "*")  # Slack mrkdwn bolds with one star


def _button(text: str, value: ButtonValue, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": ACTION_PREFIX + value.action.value,
        "text": {"type": "plain_text", "text": text},
        "value": value.encode(),
    }
    if style:
        button["style"] = style
    return button


def _select(
    placeholder: str, action: ButtonAction, exception_id: str, choices: list[str]
) -> Block | None:
    try:
        options = [
            {
                "text": {"type": "plain_text", "text": choice},
                "value": ButtonValue(exception_id=exception_id, action=action, arg=choice).encode(
                    OPTION_VALUE_LIMIT
                ),
            }
            for choice in choices
        ]
    except ButtonValueError:
        return None  # an id too long for an option value: the slash command still works
    return {
        "type": "static_select",
        "action_id": ACTION_PREFIX + action.value,
        "placeholder": {"type": "plain_text", "text": placeholder},
        "options": options,
    }


def _actions(status: ExceptionStatus, ctx: MessageContext) -> list[Block]:
    elements: list[Block] = []
    if ctx.runbook:
        elements.append(
            {
                "type": "button",
                "action_id": RUNBOOK_ACTION,
                "text": {"type": "plain_text", "text": "Runbook"},
                "url": ctx.runbook,
            }
        )
    if status.state is ExceptionState.RESOLVED:
        return elements
    xid = status.exception_id
    if status.state is not ExceptionState.ACKNOWLEDGED:
        elements.append(
            _button("Acknowledge", ButtonValue(exception_id=xid, action="ack"), "primary")
        )
    elements.append(_button("Resolve", ButtonValue(exception_id=xid, action="resolve")))
    # The learning loop: one click says the rule fired for nothing (resolved, not real).
    elements.append(_button("False alarm", ButtonValue(exception_id=xid, action="false_alarm")))
    elements.append(
        _button("Escalate now", ButtonValue(exception_id=xid, action="escalate"), "danger")
    )
    for select in (
        _select("Snooze", ButtonAction.SNOOZE, xid, list(SNOOZE_CHOICES)),
        _select(
            "Reassign",
            ButtonAction.REASSIGN,
            xid,
            [r for r in ctx.reassign_roles if r != status.owner_role],
        )
        if ctx.reassign_roles
        else None,
        silence_menu(xid, status.journey, status.rule),
    ):
        if select and select["options"]:
            elements.append(select)
    return elements


def step_text(step: TimelineStep, ctx: MessageContext | None = None) -> str:
    """One thread reply per timeline step."""
    ctx = ctx or MessageContext()
    who = _who(step.actor, ctx) if step.actor else None
    detail = step.detail
    text = {
        StepKind.NOTIFIED: f"Notified *{step.role}* (level {step.level})",
        StepKind.ESCALATED: f"Escalated to *{step.role}* (level {step.level})",
        StepKind.ACKNOWLEDGED: f"Acknowledged by {who}",
        StepKind.ACK_REVERTED: "Acknowledgement lapsed without progress; escalation resumes",
        StepKind.RESOLVED: (
            f"Resolved by {who}"
            + (" as a false alarm" if detail.get("real") is False else "")
            + f": {detail.get('note', '')}"
        ).rstrip(": "),
        StepKind.SNOOZED: f"Snoozed by {who} until {detail.get('until', '?')}",
        StepKind.REASSIGNED: f"Reassigned by {who} to *{step.role or detail.get('role')}*",
        StepKind.NOTE: f"Note from {who}: {detail.get('note', '')}",
        StepKind.OCCURRED_AGAIN: "Occurred again",
        StepKind.CONDITION_CLEARED: "Condition cleared",
        StepKind.EXHAUSTED: "Every level was notified without an acknowledgement",
        StepKind.STEPS_STOPPED: (
            "Stopped "
            + ", ".join(
                f"{p.get('member')}'s {p.get('channel')}" for p in detail.get("stopped") or []
            )
            + f": {detail.get('cause', '')}"
        ),
    }.get(step.kind, step.kind.value.replace("_", " ").capitalize())
    return f"{_when(step.at)} · {text}"


def change_text(reason: str, status: ExceptionStatus, ctx: MessageContext, now: datetime) -> str:
    """The thread line for one state change, when the status carries no timeline."""
    if reason in ("escalated", "informed", "broadcast", "repeat"):
        text = f"Escalated: level {status.level}, *{status.owner_role}* notified"
    elif reason == "reassigned":
        text = f"Reassigned to *{status.owner_role}*"
    elif reason == "reverted":
        text = "Acknowledgement lapsed without progress; escalation resumes"
    else:
        text = headline(status, ctx)
    return f"{now.strftime('%H:%M UTC')} · {text}"


# The resolve modal's answer to "was it real?": the value sent back, the text shown.
REAL_CHOICES = {"real": "Yes: confirmed", "false_alarm": "No: a false alarm"}


def resolve_modal(value: ButtonValue) -> Block:
    """Asks for the resolution note (required), the cause code and whether it was real
    (both optional)."""
    return {
        "type": "modal",
        "callback_id": RESOLVE_CALLBACK,
        "private_metadata": value.encode(),
        "title": {"type": "plain_text", "text": "Resolve exception"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"`{value.exception_id}`"},
            },
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "What was done"},
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": True},
            },
            {
                "type": "input",
                "block_id": "cause",
                "optional": True,
                "label": {"type": "plain_text", "text": "Cause code"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "cause",
                    "placeholder": {"type": "plain_text", "text": "e.g. stock_sync"},
                },
            },
            {
                "type": "input",
                "block_id": "real",
                "optional": True,
                "label": {"type": "plain_text", "text": "Was it real?"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": "real",
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": text},
                            "value": value,
                        }
                        for value, text in REAL_CHOICES.items()
                    ],
                },
            },
        ],
    }
