"""Routing wired end to end: the real Router (burn rates from a simulated event log, silences
in a real SQLite records database) decides, and the workflow pages, notifies on Slack only,
leaves a ticket, or holds a suppressed exception until its silence ends."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy

sys.path.insert(0, str(Path(__file__).parent.parent / "routing"))
from routing_scenario import START, Period, journey, simulate

from escalator.activities.channels import render_text
from escalator.activities.routing import LogBurnRates, RecorderPageVolume, Router, SqlSilences
from escalator.activities.slack_blocks import MessageContext, render_message
from escalator.policies.calendars import Calendar
from escalator.policies.snapshot import ExceptionPolicy
from escalator.records.silences import SilenceStore
from escalator.records.store import Store
from escalator.workflows.constants import NOTIFY_FACTOR
from escalator.workflows.contracts import Detection, StepKind, TimelineStep

# Support-hours delays and silence re-checks are hours of durable timers: time must skip.
pytestmark = [pytest.mark.temporal, pytest.mark.time_skipping_only]

H, D = timedelta(hours=1), timedelta(days=1)
FAST = simulate([Period(3 * D, 60, 0.0), Period(H, 60, 0.2)])
HEALTHY = simulate([Period(3 * D, 60, 0.0)])
LOG_END = START + 3 * D


def _policy(h: Harness, severity: str, calendar: Calendar | None = None) -> ExceptionPolicy:
    base = make_policy(h.unit, calendar=calendar)
    rule = base.rule.model_copy(update={"severity": severity, "labels": {"site": "ams"}})
    return base.model_copy(update={"journey": journey(), "rule": rule})


def _detection(at: datetime) -> Detection:
    return detection(subject()).model_copy(update={"detected_at": at})


def _near(a: timedelta, b: timedelta) -> bool:
    """Equal within a second (the target is set just before the notify activity runs)."""
    return abs(a - b) < timedelta(seconds=1)


@pytest.fixture
def silences(tmp_path: Path) -> SilenceStore:
    store = Store.open(f"sqlite:///{tmp_path / 'records.db'}")
    return SilenceStore(store.engine)


async def _harness(
    factory: Callable[..., Awaitable[Harness]], log: object, silences: SilenceStore | None = None
) -> Harness:
    router = Router(
        burn_rates=LogBurnRates({"orderToShip": lambda: log.frame}),  # type: ignore[attr-defined]
        silences=SqlSilences(silences) if silences else None,
        burn_at="detection",
    )
    h = await factory(decide=router)
    router.volume = RecorderPageVolume(h.recorder)
    return h


async def test_fast_burn_pages_with_sms_and_says_why(harness_factory, silences) -> None:
    h = await _harness(harness_factory, FAST, silences)
    raised = await h.raise_(_detection(LOG_END + H), _policy(h, "medium"))
    status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
    routed = steps(status, StepKind.ROUTED)[-1].detail
    assert routed["decision"] == "page" and status.routing == "page"
    assert routed["headline"] == "paged: orderToShip burning 33.3x over 1h and 40x over 5m"
    assert routed["inputs"]["tiers"][0]["fires"] is True
    assert {n.channel for n in h.pages(raised.exception_id)} == {"slack", "sms"}
    page = h.pages(raised.exception_id)[0]
    assert page.status.routing_reason == routed["headline"]  # rendered in Slack and SMS
    assert routed["headline"] in render_text(page)
    blocks = render_message(page.status, MessageContext(), datetime.now(UTC))
    assert {"type": "mrkdwn", "text": f"Routing: {routed['headline']}"} in [
        e for b in blocks if b["type"] == "context" for e in b["elements"]
    ]
    meta = await h.handle(raised.exception_id).query("__temporal_workflow_metadata")
    assert f"**Routing:** {routed['headline']}" in str(meta)
    assert status.ack_due is not None
    assert _near(status.ack_due - steps(status, StepKind.NOTIFIED)[0].at, 3 * h.unit)
    await h.save_history(raised.exception_id, "routing_page")


async def test_notify_is_slack_only_and_slower(harness_factory) -> None:
    h = await _harness(harness_factory, HEALTHY)
    raised = await h.raise_(_detection(LOG_END), _policy(h, "high"))  # the floor of high
    status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
    assert status.routing == "notify"
    sent = h.channel.for_exception(raised.exception_id)
    assert [n.channel for n in sent] == ["slack"] and sent[0].reason == "notify"
    assert status.ack_due is not None
    assert _near(
        status.ack_due - steps(status, StepKind.NOTIFIED)[0].at, 3 * NOTIFY_FACTOR * h.unit
    )
    await h.advance(3 * NOTIFY_FACTOR + 1)  # the slower target passes: level 2, still no SMS
    status = await h.until(raised.exception_id, lambda s: s.level == 2)
    assert all(n.channel == "slack" for n in h.channel.for_exception(raised.exception_id))
    await h.save_history(raised.exception_id, "routing_notify")


async def test_ticket_interrupts_nobody(harness_factory) -> None:
    h = await _harness(harness_factory, HEALTHY)
    raised = await h.raise_(_detection(LOG_END), _policy(h, "medium"))
    status = await h.until(raised.exception_id, has(StepKind.ROUTED))
    await h.advance(20)  # far beyond every response time
    status = await h.status(raised.exception_id)
    assert status.routing == "ticket" and status.state.value == "open"
    assert "no burn-rate tier fires" in steps(status, StepKind.ROUTED)[-1].detail["reason"]
    assert h.channel.for_exception(raised.exception_id) == []
    assert steps(status, StepKind.ESCALATED) == [] and status.ack_due is None
    await h.save_history(raised.exception_id, "routing_ticket")


async def test_silence_suppresses_then_its_end_releases(harness_factory, silences) -> None:
    h = await _harness(harness_factory, FAST, silences)
    now = await h.env.get_current_time()
    sil = silences.add(
        journey="orderToShip",
        labels={"site": "ams"},
        reason="warehouse maintenance",
        created_by="anna",
        now=now,
        ends_at=now + 10 * h.unit,
    )
    raised = await h.raise_(_detection(LOG_END + H), _policy(h, "critical"))
    status = await h.until(raised.exception_id, has(StepKind.ROUTED))
    held = steps(status, StepKind.ROUTED)[0].detail
    assert (held["decision"], held["silence"]) == ("suppress", sil.id)
    assert "warehouse maintenance" in held["reason"] and status.routing == "suppress"
    assert h.channel.for_exception(raised.exception_id) == []
    await h.advance(11)
    status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
    assert [s.detail["decision"] for s in steps(status, StepKind.ROUTED)] == ["suppress", "page"]
    first_page = steps(status, StepKind.NOTIFIED)[0].at
    assert sil.ends_at is not None and first_page >= sil.ends_at
    await h.save_history(raised.exception_id, "routing_suppress_release")


async def test_until_resolved_silence_releases_when_that_exception_resolves(
    harness_factory, silences
) -> None:
    h = await _harness(harness_factory, FAST, silences)
    now = await h.env.get_current_time()
    outage = "exc:orderToShip:label_print_failed:window-1"
    silences.add(
        journey="orderToShip",
        rule="awaiting_inventory",
        reason="caused by the printer outage",
        created_by="farid",
        now=now,
        until_resolved=outage,
    )
    raised = await h.raise_(_detection(LOG_END + H), _policy(h, "medium"))
    await h.until(raised.exception_id, has(StepKind.ROUTED))
    await h.advance(6)  # one re-check (every 5 min): the outage is not resolved, still held
    status = await h.status(raised.exception_id)
    assert len(steps(status, StepKind.ROUTED)) == 1 and status.routing == "suppress"
    assert h.channel.for_exception(raised.exception_id) == []
    store = Store(silences.engine)
    for seq, kind in ((1, StepKind.DETECTED), (2, StepKind.RESOLVED)):
        store.record_step_sync(
            TimelineStep(
                exception_id=outage, run_id="r1", seq=seq, kind=kind, at=now, actor="farid"
            )
        )
    await h.advance(6)
    status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
    assert steps(status, StepKind.ROUTED)[-1].detail["decision"] == "page"


async def test_expired_silence_releases(harness_factory, silences) -> None:
    h = await _harness(harness_factory, FAST, silences)
    now = await h.env.get_current_time()
    sil = silences.add(
        journey="orderToShip", reason="deploy", created_by="anna", now=now, ends_at=now + 30 * D
    )
    raised = await h.raise_(_detection(LOG_END + H), _policy(h, "medium"))
    await h.until(raised.exception_id, has(StepKind.ROUTED))
    silences.expire(sil.id, by="anna", now=now + h.unit)
    await h.advance(6)
    status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
    assert [s.detail["decision"] for s in steps(status, StepKind.ROUTED)] == ["suppress", "page"]


async def test_outside_support_hours_waits_then_notifies(harness_factory) -> None:
    h = await _harness(harness_factory, FAST)
    now = await h.env.get_current_time()
    today = now.astimezone(UTC).date()
    closed_today = Calendar.model_validate(
        {
            "name": "closed-today",
            "timezone": "UTC",
            "hours": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            # Two days closed: with one, a test clock near midnight (earlier tests in the
            # module skip hours ahead) would open the calendar within the 30 s checked below.
            "closed_dates": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
        }
    )
    opens = datetime.combine(today + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    raised = await h.raise_(_detection(LOG_END + H), _policy(h, "medium", closed_today))
    status = await h.until(raised.exception_id, has(StepKind.ROUTED))
    routed = steps(status, StepKind.ROUTED)[0].detail
    assert routed["decision"] == "notify"  # a page, dropped one tier
    assert datetime.fromisoformat(routed["deliver_at"]) == opens
    await h.advance(30)
    assert h.channel.for_exception(raised.exception_id) == []  # nobody woken at night
    await h.env.sleep(opens - await h.env.get_current_time() + timedelta(minutes=1))
    status = await h.until(raised.exception_id, has(StepKind.NOTIFIED))
    sent = steps(status, StepKind.NOTIFIED)[0]
    assert sent.at >= opens and {
        n.channel for n in h.channel.for_exception(raised.exception_id)
    } == {"slack"}
    await h.save_history(raised.exception_id, "routing_outside_hours")
