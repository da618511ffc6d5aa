"""`escalator review EXCEPTION_ID`: a post-incident review in Markdown, from the records.

Everything comes from what the workflow recorded: every run of the exception (a
reopened one is a run of its own), its timeline, the notifications (who was paged
when, by which channel, and what the provider did), who answered, the times to
acknowledge and restore, the cause and the owner's verdict, the notes, the rule's
latest kept scorecard, and follow-ups suggested from all of these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from escalator.analytics.formatting import format_percent, format_seconds
from escalator.analytics.rule_learning import rule_flags, scorecard_view
from escalator.errors import InputError
from escalator.records.projection import as_utc
from escalator.records.scorecards import KeptScorecard, latest_scorecard
from escalator.records.store import EXC, NOTES, Store
from escalator.records.tables import ExceptionRecord, TimelineRecord

__all__ = ["NoSuchException", "build_review"]


class NoSuchException(InputError):
    """The records hold no exception with that id (the CLI: one line, exit 2)."""

    def __init__(self, exception_id: str) -> None:
        super().__init__(
            f"the records hold no exception {exception_id}; list them with `escalator list` "
            "(or check --database-url)"
        )


def _t(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M:%S} UTC"


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _runs(store: Store, exception_id: str) -> list[ExceptionRecord]:
    query = sa.select(EXC).where(EXC.c.exception_id == exception_id)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    runs = [store.get_exception(exception_id, r["run_id"]) for r in rows]
    found = [r for r in runs if r is not None]
    return sorted(found, key=lambda r: (r.detected_at is None, r.detected_at))


def _notifications(store: Store, exception_id: str) -> list[dict[str, Any]]:
    query = sa.select(NOTES).where(NOTES.c.exception_id == exception_id)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings().all()]
    for r in rows:
        r["at"] = as_utc(r["first_attempt_at"] or r["created_at"])
    return sorted(rows, key=lambda r: (r["at"] is None, r["at"]))


def _verdict(real: bool | None) -> str:
    return {True: "confirmed (real)", False: "false alarm"}.get(real, "not said")  # type: ignore[arg-type]


def _detail(step: TimelineRecord) -> str:
    d = step.detail or {}
    kind = step.kind
    if kind == "detected":
        return f"onset {d.get('onset', '?')}, occurrences {d.get('occurrences', 1)}"
    if kind == "routed":
        return f"decision {d.get('decision', '?')}"
    if kind == "notified":
        return f"{d.get('channel', '?')} {d.get('target', '')} ({d.get('status', 'sent')})"
    if kind == "resolved":
        said = " · false alarm" if d.get("real") is False else ""
        said = " · confirmed" if d.get("real") is True else said
        cause = f" · cause {d['cause']}" if d.get("cause") else ""
        return f"{d.get('note', '')}{cause}{said}"
    if kind == "note":
        return str(d.get("note", ""))
    if kind == "reopened":
        return f"rework #{d.get('rework_count', '?')}"
    if kind in ("snoozed",):
        return f"until {d.get('until', '?')}"
    if kind == "reassigned":
        return f"to {step.role} (from {d.get('previous', '?')})"
    if kind == "condition_cleared":
        return str(d.get("reason", ""))
    if kind == "steps_stopped":
        return f"{_stopped(d.get('stopped') or [])} · {d.get('cause', '')}"
    return ""


def _stopped(stopped: list[dict[str, object]]) -> str:
    """A member's notification steps that never went out: "alice: voice after 5m"."""
    return ", ".join(
        f"{p.get('member')}: {p.get('channel')} after {p.get('after')}" for p in stopped
    )


def _rule_counts(store: Store, rule: str) -> tuple[int, int]:
    real = EXC.c.resolution_real
    query = sa.select(
        sa.func.sum(sa.case((real.is_(True), 1), else_=0)),
        sa.func.sum(sa.case((real.is_(False), 1), else_=0)),
    ).where(EXC.c.rule == rule)
    with store.engine.connect() as conn:
        confirmed, false_alarms = conn.execute(query).one()
    return int(confirmed or 0), int(false_alarms or 0)


def build_review(store: Store, exception_id: str) -> str:
    runs = _runs(store, exception_id)
    if not runs:
        raise NoSuchException(exception_id)
    first, last = runs[0], runs[-1]
    steps = sorted(store.timeline(exception_id), key=lambda s: (s.at, s.seq))
    run_no = {r.run_id: i for i, r in enumerate(runs, start=1)}
    rule = first.rule or "?"
    kept = latest_scorecard(store, rule) if first.rule else None
    out: list[str] = [f"# Post-incident review: `{exception_id}`", ""]
    out += [
        f"- **Journey / rule**: {first.journey} / {rule} ({first.kind}, severity {first.severity})",
        f"- **Subject**: {first.subject}",
        f"- **Owner role**: {last.owner_role}",
        f"- **Runs**: {len(runs)}"
        + (f" (reopened {len(runs) - 1} times: rework)" if len(runs) > 1 else ""),
        "",
        "| run | onset | detected | acknowledged | resolved | time to acknowledge "
        "| time to restore | highest level | outcome | cause |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, start=1):
        tta = (
            (r.acknowledged_at - r.detected_at).total_seconds()
            if r.acknowledged_at and r.detected_at
            else None
        )
        ttr = (
            (r.resolved_at - r.detected_at).total_seconds()
            if r.resolved_at and r.detected_at
            else None
        )
        ack = f"{_t(r.acknowledged_at)} by {r.acknowledged_by}" if r.acknowledged_at else "-"
        res = f"{_t(r.resolved_at)} by {r.resolved_by}" if r.resolved_at else "open"
        out.append(
            f"| {i} | {_t(r.onset)} | {_t(r.detected_at)} | {_cell(ack)} | {_cell(res)} "
            f"| {format_seconds(tta)} | {format_seconds(ttr)} | {r.highest_level} "
            f"| {_verdict(r.resolution_real)} | {_cell(r.resolution_cause or '-')} |"
        )  # fmt: skip
    out += ["", "## Timeline", "", "| time | run | step | who | level | role | detail |"]
    out.append("|---|---|---|---|---|---|---|")
    for s in steps:
        out.append(
            f"| {_t(s.at)} | {run_no.get(s.run_id, '?')} | {s.kind} | {_cell(s.actor or '')} "
            f"| {s.level if s.level is not None else ''} | {_cell(s.role or '')} "
            f"| {_cell(_detail(s))} |"
        )
    out += ["", "## Who was paged, and who answered", ""]
    notes = _notifications(store, exception_id)
    if notes:
        out += ["| time | run | level | channel | to | status | attempts |"]
        out.append("|---|---|---|---|---|---|---|")
        for n in notes:
            out.append(
                f"| {_t(n['at'])} | {run_no.get(n['run_id'] or '', '?')} | {n['level'] or ''} "
                f"| {n['channel']} | {_cell(n['target'])} | {n['status']} | {n['attempts']} |"
            )
    else:
        out.append("Nobody was paged (routed as a ticket, suppressed, or grouped in a storm).")
    out.append("")
    answers = [s for s in steps if s.kind in ("acknowledged", "resolved", "reassigned", "snoozed")]
    for s in answers:
        via = (s.detail or {}).get("via")
        out.append(f"- {_t(s.at)}: **{s.actor}** {s.kind}" + (f" (via {via})" if via else ""))
    if not answers:
        out.append("- Nobody answered.")
    out += ["", "## Notes", ""]
    said = [s for s in steps if s.kind == "note"] + [s for s in steps if s.kind == "resolved"]
    for s in sorted(said, key=lambda s: s.at):
        text = (s.detail or {}).get("note")
        if text:
            out.append(f"- {_t(s.at)} {s.actor}: {text}")
    if not any((s.detail or {}).get("note") for s in said):
        out.append("- None recorded.")
    out += ["", "## The rule's scorecard", ""]
    out += _scorecard(kept, rule)
    out += ["", "## Suggested follow-ups", ""]
    out += [f"- [ ] {line}" for line in _follow_ups(store, runs, kept, rule)]
    return "\n".join(out) + "\n"


def _scorecard(kept: KeptScorecard | None, rule: str) -> list[str]:
    if kept is None:
        return [
            f"No scorecard kept for {rule}: run `escalator scorecard --journey JOURNEY "
            "--log FILE` to judge it against the log."
        ]
    v = scorecard_view(kept.figures)
    lift = f"{v.lift:.2f}" if v.lift is not None else ("-" if v.has_lift else "not scored")
    return [
        f"Scored {kept.scored_at:%Y-%m-%d %H:%M} UTC over `{kept.log}`:",
        "",
        "| firings | precision | recall | base rate | lift | median lead time |",
        "|---|---|---|---|---|---|",
        f"| {v.firings if v.firings is not None else '-'} | {format_percent(v.precision)} "
        f"| {format_percent(v.recall)} | {format_percent(v.base_rate)} | {lift} "
        f"| {format_seconds(v.median_lead_time_s)} |",
    ]


def _follow_ups(
    store: Store, runs: list[ExceptionRecord], kept: KeptScorecard | None, rule: str
) -> list[str]:
    last = runs[-1]
    todo: list[str] = []
    if last.resolution_real is False:
        todo.append(
            f"It was a false alarm: review rule `{rule}` (threshold, window) before it pages again."
        )
    elif last.resolution_real is None and last.resolved_at is not None:
        todo.append("Nobody said whether it was real: agree in the review and note it.")
    if last.resolution_real is not False:
        if last.resolution_cause:
            todo.append(
                f"Cause `{last.resolution_cause}`: add a playbook step or runbook entry that "
                "fixes or prevents it."
            )
        elif last.resolved_at is not None:
            todo.append("No cause code recorded: agree on one, so the report can count it.")
    if max(r.highest_level for r in runs) > 1:
        todo.append(
            f"Escalated to level {max(r.highest_level for r in runs)} before anyone "
            "acknowledged: check level 1's on-call and channels."
        )
    if any(r.restore_breached for r in runs):
        todo.append("The time-to-restore target was breached: check the playbook and runbook.")
    if len(runs) > 1:
        todo.append(
            f"Reopened {len(runs) - 1} times: the condition flapped; fix the cause, or give "
            "the rule a reopen_window that matches how it recovers."
        )
    if last.resolved_at is None:
        todo.append("Still open: resolve it with a cause code and whether it was real.")
    confirmed, false_alarms = _rule_counts(store, rule)
    view = scorecard_view(kept.figures) if kept else None
    for flag in rule_flags(rule, confirmed=confirmed, false_alarms=false_alarms, scorecard=view):
        todo.append(f"Rule `{rule}`: {flag['suggestion']} ({flag['reason']}; {flag['how']}).")
    if kept is None:
        todo.append(f"Score rule `{rule}` against the log (`escalator scorecard`).")
    return todo or ["None: the exception was real, owned, answered on time and restored."]
