"""The store on SQLite and PostgreSQL: projection, idempotency, notifications, frames."""

from __future__ import annotations

import random
from datetime import timedelta

import polars as pl
import pytest
from record_steps import MIN, T0, detected, lifecycle, step

from escalator.records.frames import load_exceptions
from escalator.records.store import Store
from escalator.workflows.contracts import StepKind

EXC = "exc:orderToShip:payment_pending:o-1"


def test_lifecycle_projects_every_field(store: Store) -> None:
    assert store.record_steps_sync(lifecycle()) == 7
    row = store.get_exception(EXC)
    assert row is not None
    assert (row.exception_id, row.run_id) == (EXC, "run-1")
    assert (row.journey, row.rule, row.kind, row.subject) == (
        "orderToShip",
        "payment_pending",
        "latency",
        "o-1",
    )
    assert (row.severity, row.policy_version, row.owner_role) == ("high", "abc123", "billing")
    assert row.onset == T0 - 20 * MIN
    assert row.detected_at == T0
    assert row.first_notified_at == T0 + MIN
    assert (row.acknowledged_by, row.acknowledged_at) == ("ana", T0 + 20 * MIN)
    assert (row.resolved_by, row.resolved_at) == ("ana", T0 + 95 * MIN)
    assert (row.resolution_note, row.resolution_cause) == ("card retried", "psp outage")
    assert row.highest_level == 2
    assert row.occurrences == 2
    assert row.reopened_from is None
    assert row.routing_decision == "page"
    assert row.routing_inputs == {"decision": "page", "burn_rate": 15.2}
    assert row.payload == {"amount": 12.5}
    assert (row.state, row.state_at) == ("resolved", T0 + 95 * MIN)


def test_recording_twice_changes_nothing(store: Store) -> None:
    store.record_steps_sync(lifecycle())
    first = store.get_exception(EXC)
    assert store.record_steps_sync(lifecycle()) == 0
    assert store.get_exception(EXC) == first
    assert store.count("timeline_steps") == 7
    assert store.count("exceptions") == 1
    assert store.count("notifications") == 1


def test_projection_does_not_depend_on_arrival_order(store: Store, db_url: str) -> None:
    steps = lifecycle()
    store.record_steps_sync(steps)
    expected = store.get_exception(EXC)
    shuffled = [s.model_copy(update={"exception_id": "exc:other"}) for s in steps]
    random.Random(7).shuffle(shuffled)
    shuffled.reverse()
    store.record_steps_sync(shuffled)
    got = store.get_exception("exc:other")
    assert expected is not None and got is not None
    assert got.model_dump(exclude={"exception_id"}) == expected.model_dump(exclude={"exception_id"})


def test_earliest_acknowledgement_wins_and_revert_clears_it(store: Store) -> None:
    store.record_step_sync(detected())
    store.record_step_sync(step(StepKind.ACKNOWLEDGED, 3, 9, actor="bo"))
    store.record_step_sync(step(StepKind.ACKNOWLEDGED, 2, 5, actor="ana"))
    row = store.get_exception(EXC)
    assert row is not None and (row.acknowledged_by, row.acknowledged_at) == ("ana", T0 + 5 * MIN)
    store.record_step_sync(step(StepKind.ACK_REVERTED, 4, 30))
    row = store.get_exception(EXC)
    assert row is not None
    assert (row.acknowledged_by, row.acknowledged_at, row.state) == (None, None, "open")


def test_state_follows_latest_step_and_flags(store: Store) -> None:
    store.record_step_sync(detected())
    store.record_step_sync(step(StepKind.SNOOZED, 3, 10, actor="ana"))
    store.record_step_sync(step(StepKind.EXHAUSTED, 4, 40))
    store.record_step_sync(step(StepKind.RESTORE_BREACHED, 5, 50))
    row = store.get_exception(EXC)
    assert row is not None
    assert (row.state, row.exhausted, row.restore_breached) == ("snoozed", True, True)


def test_failed_notification_is_not_a_first_notification(store: Store) -> None:
    store.record_step_sync(detected())
    failed = {
        "channel": "sms",
        "target": "+1555",
        "idempotency_key": "k-f",
        "status": "failed",
        "error": "boom",
    }
    store.record_step_sync(step(StepKind.NOTIFIED, 2, 1, level=1, detail=failed))
    row = store.get_exception(EXC)
    assert row is not None and row.first_notified_at is None and row.highest_level == 0
    note = store.find_notification_sync("k-f")
    assert note is not None and (note.status, note.error, note.channel) == ("failed", "boom", "sms")


def test_reopened_run_is_its_own_row(store: Store) -> None:
    store.record_steps_sync(lifecycle())
    store.record_step_sync(
        detected(run="run-2", reopened_from="run-1", detected_at=(T0 + 200 * MIN).isoformat())
    )
    assert store.count("exceptions") == 2
    latest = store.get_exception(EXC)
    assert latest is not None and (latest.run_id, latest.reopened_from) == ("run-2", "run-1")
    assert latest.state == "open" and latest.resolved_at is None
    first = store.get_exception(EXC, "run-1")
    assert first is not None and first.state == "resolved"


def test_notifications_are_idempotent_on_key(store: Store) -> None:
    assert store.find_notification_sync("k1") is None
    a = store.record_notification_sync(
        idempotency_key="k1",
        exception_id=EXC,
        run_id="run-1",
        level=1,
        channel="slack",
        target="#billing",
        status="pending",
    )
    b = store.record_notification_sync(
        idempotency_key="k1",
        exception_id=EXC,
        run_id="run-1",
        level=1,
        channel="slack",
        target="#billing",
        status="sent",
        provider_message_id="1700.2",
    )
    c = store.record_notification_sync(
        idempotency_key="k1", exception_id=EXC, channel="slack", target="#billing", status="sent"
    )
    assert a.id == b.id == c.id
    assert (c.status, c.provider_message_id, c.level) == ("sent", "1700.2", 1)
    assert store.count("notifications") == 1
    late_failure = store.record_notification_sync(
        idempotency_key="k1", exception_id=EXC, channel="slack", target="#billing",
        status="failed", error="timeout",
    )  # fmt: skip
    assert (late_failure.status, late_failure.error) == ("sent", None)


def test_notified_step_keeps_the_senders_own_record(store: Store) -> None:
    store.record_notification_sync(
        idempotency_key="k9",
        exception_id=EXC,
        channel="slack",
        target="#b",
        status="sent",
        provider_message_id="p-from-sender",
    )
    store.record_step_sync(detected())
    store.record_step_sync(
        step(
            StepKind.NOTIFIED,
            2,
            1,
            level=1,
            detail={"channel": "slack", "target": "#b", "idempotency_key": "k9", "status": "sent"},
        )
    )
    found = store.find_notification_sync("k9")
    assert found is not None and found.provider_message_id == "p-from-sender"


async def test_async_methods(store: Store) -> None:
    assert await store.record_step(detected()) is True
    assert await store.record_step(detected()) is False
    await store.record_notification(
        idempotency_key="ka", exception_id=EXC, channel="sms", target="+1", status="sent"
    )
    found = await store.find_notification("ka")
    assert found is not None and found.channel == "sms"


def test_timeline_is_an_ordered_event_log(store: Store) -> None:
    store.record_steps_sync(list(reversed(lifecycle())))
    kinds = [s.kind for s in store.timeline(EXC)]
    assert kinds == [
        "detected",
        "routed",
        "notified",
        "escalated",
        "acknowledged",
        "occurred_again",
        "resolved",
    ]
    assert store.timeline(EXC)[0].at == T0


def test_load_exceptions_frame(store: Store) -> None:
    assert load_exceptions(store.engine).is_empty()
    store.record_steps_sync(lifecycle())
    store.record_step_sync(detected(exc="exc:b", detected_at=(T0 + timedelta(days=3)).isoformat()))
    frame = load_exceptions(store.engine).sort("exception_id")
    assert frame.height == 2
    assert frame.schema["detected_at"] == pl.Datetime("us", "UTC")
    row = frame.row(1, named=True)
    assert row["exception_id"] == EXC
    assert row["resolved_at"] == T0 + 95 * MIN
    assert row["acknowledged_at"] == T0 + 20 * MIN
    assert row["onset"] == T0 - 20 * MIN
    assert (row["highest_level"], row["state"], row["owner_role"]) == (2, "resolved", "billing")
    later = load_exceptions(store.engine, since=T0 + timedelta(days=1))
    assert later["exception_id"].to_list() == ["exc:b"]


def test_open_upgrades_an_already_current_database(db_url: str) -> None:
    first = Store.open(db_url)
    first.record_step_sync(detected())
    first.close()
    again = Store.open(db_url)
    try:
        assert again.count("exceptions") == 1
    finally:
        again.close()


@pytest.mark.parametrize("bad", ["", "not-a-url"])
def test_bad_url_is_a_clear_error(bad: str) -> None:
    with pytest.raises(Exception, match=r"URL|url|parse"):
        Store.open(bad)


def test_load_exceptions_with_separator_in_a_value(store: Store) -> None:
    odd = "exc:orderToShip:payment_pending:a\x1fb"
    store.record_step_sync(detected(exc=odd))
    store.record_step_sync(detected(exc="exc:plain"))
    frame = load_exceptions(store.engine).sort("exception_id")
    assert frame["exception_id"].to_list() == [
        "exc:orderToShip:payment_pending:a\x1fb",
        "exc:plain",
    ]
    assert frame["detected_at"].to_list() == [T0, T0]


def test_timeline_as_an_event_log(store: Store) -> None:
    from escalator.analytics.leadtime import lead_time_summary
    from escalator.policies.journeys import Journey
    from escalator.records.frames import load_timeline_log

    assert load_timeline_log(store.engine).is_empty()
    store.record_steps_sync(lifecycle())
    store.record_steps_sync(lifecycle(exc="exc:b")[:3])  # still open
    log = load_timeline_log(store.engine)
    assert log.height == 10
    assert log.filter(pl.col("case_id") == f"{EXC}/run-1")["event_name"].to_list() == [
        "detected", "routed", "notified", "escalated", "acknowledged", "occurred_again", "resolved",
    ]  # fmt: skip
    assert log["timestamp"].dtype == pl.Datetime("us", "UTC")
    # escalator's own process, measured like any journey: detected -> resolved
    own = Journey.model_validate(
        {
            "name": "exceptionToResolution",
            "completing_events": ["resolved"],
            "slis": [
                {
                    "type": "latency",
                    "name": "restored",
                    "start_event": "detected",
                    "end_event": "resolved",
                    "threshold": "4h",
                    "objective": 90,
                },
            ],
        }
    )
    summary = lead_time_summary(log, own, T0 + timedelta(days=1))
    assert (summary["cases"], summary["completed"], summary["p50"]) == (2, 1, 95 * 60.0)
