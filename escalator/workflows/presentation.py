"""What incident leads read in the Temporal Web UI: summaries and details (Markdown).

Pure functions of the input and the state; used by the workflow (current
details) and by the client that starts it (static summary and details).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from escalator.policies.duration import format_duration
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import EscalationInput, ExceptionState

__all__ = [
    "alert_lines",
    "clock",
    "continued_details",
    "current_details",
    "on_call_lines",
    "on_call_why",
    "prediction_lines",
    "static_details",
    "static_summary",
]


def clock(at: datetime, policy: ExceptionPolicy | None = None) -> str:
    """``14:05 UTC`` in the policy calendar's zone (people read local times)."""
    zone = policy.calendar.timezone if policy and policy.calendar else "UTC"
    local = at.astimezone(UTC if zone == "UTC" else ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def static_summary(inp: EscalationInput) -> str:
    d, rule = inp.detection, inp.policy.rule
    return f"{rule.severity} {rule.kind}: {d.journey}/{d.rule} on {d.subject}"


def static_details(inp: EscalationInput) -> str:
    d, p = inp.detection, inp.policy
    rule = p.rule
    lines = [
        f"### {d.journey} · {d.rule} · {d.subject}",
        "",
        f"**What happened:** {rule.kind} exception on `{d.subject}`, onset {clock(d.onset, p)}.",
        f"**Hypothesis:** {rule.hypothesis or rule.predicts.description}",
        f"**Predicts:** {rule.predicts.description}",
        f"**Owner:** {rule.owner} · **severity** {rule.severity} · **policy** {p.version}",
        f"**Runbook:** [{rule.runbook}]({rule.runbook})",
        "",
        "**Escalation:** "
        + " → ".join(
            f"{lvl.role} ({format_duration(lvl.response_time)}"
            + (", business hours" if lvl.business_hours else "")
            + ")"
            for lvl in p.escalation.levels
        )
        + f"; then {p.escalation.on_exhausted}",
    ]
    predicted = prediction_lines(d.payload)
    if predicted:
        lines += ["", *predicted]
    alert = alert_lines(d.payload)
    if alert:
        lines += ["", *alert]
    if inp.reopened_from:
        lines.append(f"**Reopened** from run `{inp.reopened_from}` (rework #{inp.rework_count})")
    if d.attributes:
        lines += ["", "| attribute | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(d.attributes.items())]
    return "\n".join(lines)


def prediction_lines(payload: dict[str, Any]) -> list[str]:
    """A predicted_breach payload in Markdown: risk, predicted completion, why, model."""
    pred = payload.get("prediction")
    if not isinstance(pred, dict):
        return []
    risk = pred.get("risk")
    risk_text = f"{100 * float(risk):.0f} %" if isinstance(risk, int | float) else "-"
    return [
        f"**Breach risk ({payload.get('sli', 'SLI')}):** {risk_text} · "
        f"**predicted completion** {pred.get('predicted_completion', '-')} · "
        f"**deadline** {pred.get('deadline', '-')}",
        f"**Why:** {pred.get('top_features') or '-'}",
        f"**Model:** {pred.get('model_version', '-')} (prefix of {pred.get('prefix_length', '?')} "
        f"events, last {pred.get('last_event', '-')})",
    ]


def alert_lines(payload: dict[str, Any], *, slack: bool = False) -> list[str]:
    """An alert's payload (Alertmanager, Grafana, generic) in Markdown, or in Slack's mrkdwn:
    its name linked to its source (``generatorURL``), summary, description and labels."""
    alert = payload.get("alert")
    if not isinstance(alert, dict):
        return []
    labels: dict[str, Any] = alert.get("labels") or {}
    notes: dict[str, Any] = alert.get("annotations") or {}
    name = str(labels.get("alertname") or alert.get("fingerprint") or "alert")
    url = alert.get("url")
    title = f"`{name}`"
    if url:
        title = f"<{url}|{name}>" if slack else f"[{name}]({url})"
    bold = "*" if slack else "**"
    lines = [
        f"{bold}Alert:{bold} {title} from {alert.get('source', '?')} "
        f"(integration {alert.get('integration', '?')})"
    ]
    for key in ("summary", "description"):
        if notes.get(key):
            lines.append(f"{bold}{key.capitalize()}:{bold} {notes[key]}")
    if labels:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        lines.append(f"{bold}Labels:{bold} {shown}")
    return lines


def continued_details(inp: EscalationInput, runs: int | None) -> str:
    """For a run started by continue-as-new, which has no static summary or details of its
    own (continue-as-new cannot set them): both, under the current details. ``runs``: the
    run number of an exception still open; None for a reopened one."""
    how = (
        "reopened in a new run"
        if runs is None
        else f"run {runs} of this exception (continued as new while open; the records "
        "hold every step)"
    )
    return f"**{static_summary(inp)}** · {how}\n\n{static_details(inp)}"


def current_details(
    *,
    state: ExceptionState,
    level: int,
    role: str,
    policy: ExceptionPolicy,
    exhausted: bool,
    ack_due: datetime | None,
    restore_due: datetime | None,
    snoozed_until: datetime | None,
    acknowledged_by: str | None,
    resolved_by: str | None,
    resolved_at: datetime | None,
    occurrences: int,
    on_call: Sequence[dict[str, Any]] = (),
) -> str:
    """One line for the UI: "Level 2: paging billing-leads, ack due 14:05 UTC"; then who
    was on call at each level paged so far, and why (``on_call``: `on_call_lines`)."""
    if state is ExceptionState.RESOLVED and resolved_at:
        text = f"Resolved by {resolved_by} at {clock(resolved_at, policy)}"
    elif state is ExceptionState.SNOOZED and snoozed_until:
        text = f"Level {level}: snoozed until {clock(snoozed_until, policy)}"
    elif state is ExceptionState.ACKNOWLEDGED:
        text = f"Level {level}: acknowledged by {acknowledged_by}"
        if restore_due:
            text += f", restore due {clock(restore_due, policy)}"
    elif level == 0:
        text = "Running the playbook before paging anyone"
    elif exhausted and policy.escalation.on_exhausted != "repeat":
        text = f"All levels exhausted ({policy.escalation.on_exhausted}); {role} still open"
    else:
        text = f"Level {level}: paging {role}"
        if ack_due:
            text += f", ack due {clock(ack_due, policy)}"
    if occurrences > 1:
        text += f" · {occurrences} occurrences"
    lines = on_call_lines(on_call, policy)
    if lines:
        text += "\n\n" + "\n".join(lines)
    return text


def on_call_why(answer: dict[str, Any]) -> str:
    """Why this member: the override (and who made it), else the schedule layer; members
    skipped as away; a declared gap."""
    if answer.get("override"):
        by = f" by {answer['override_by']}" if answer.get("override_by") else ""
        why = f"override `{answer['override']}`{by}"
        if answer.get("layer"):
            why += f" over layer {answer['layer']}"
    elif answer.get("layer"):
        why = f"layer {answer['layer']}"
    else:
        why = "a gap in the schedule: the role's first reachable member"
    skipped = answer.get("skipped") or []
    if skipped:
        why += f"; {', '.join(skipped)} away (vacation), skipped"
    if "overrides unknown" in str(answer.get("why", "")):
        why += "; the records were out of reach, overrides unknown"
    return why


def on_call_lines(
    answers: Sequence[dict[str, Any]], policy: ExceptionPolicy | None = None
) -> list[str]:
    """Markdown: who was on call at each level paged so far (the latest answer per level
    and role, as the escalation resolved it when the level started), and why."""
    if not answers:
        return []
    lines = ["**On call when paged:**"]
    for a in answers:
        who = a.get("member") or "nobody scheduled"
        when = f", {clock(datetime.fromisoformat(a['at']), policy)}" if a.get("at") else ""
        round_ = f" (round {a['round'] + 1})" if a.get("round") else ""
        lines.append(
            f"- level {a.get('level')}{round_} · {a.get('role')}: **{who}**{when} — "
            f"{on_call_why(a)}"
        )
    return lines
