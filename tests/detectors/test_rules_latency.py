"""Latency rules on hand-made logs, onsets computed by hand."""

from __future__ import annotations

from detector_helpers import events, policy_set, rule, utc

from escalator.detectors.evaluate import evaluate

NL = {
    "name": "nl",
    "timezone": "Europe/Amsterdam",
    "hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "NL"},
}


def fire(ps, log, as_of=None):
    [result] = evaluate(log, ps, ps.journeys[0], as_of=utc(as_of) if as_of else None)
    return {
        (f.subject, f.onset.isoformat(), f.cleared_at and f.cleared_at.isoformat()): f
        for f in result.firings()
    }


LOG = events(
    [
        ("A", "created", "2024-05-06T09:00:00Z"),
        ("A", "waiting", "2024-05-06T10:00:00Z"),
        ("A", "allocated", "2024-05-06T13:00:00Z"),
        ("B", "waiting", "2024-05-06T10:00:00Z"),
        ("B", "allocated", "2024-05-06T11:30:00Z"),
        ("C", "waiting", "2024-05-06T10:00:00Z"),
        ("C", "waiting", "2024-05-06T11:00:00Z"),  # repeated entry: the clock keeps running
        ("D", "waiting", "2024-05-06T10:00:00Z"),
        ("D", "allocated", "2024-05-06T12:00:00Z"),  # left exactly at the threshold
        ("E", "waiting", "2024-05-06T10:00:00Z"),
        ("E", "note", "2024-05-06T10:30:00Z"),
        ("E", "allocated", "2024-05-06T13:00:00Z"),
        ("Z", "created", "2024-05-06T12:30:00Z"),
    ]
)


def test_latency_onset_is_entry_plus_threshold_and_clears_on_leaving() -> None:
    ps = policy_set(rule("stuck", "latency", state="waiting", threshold="2h"))
    got = fire(ps, LOG)
    assert set(got) == {
        ("A", "2024-05-06T12:00:00+00:00", "2024-05-06T13:00:00+00:00"),
        ("C", "2024-05-06T12:00:00+00:00", None),
    }
    a = got[("A", "2024-05-06T12:00:00+00:00", "2024-05-06T13:00:00+00:00")]
    assert a.evidence == [2]  # the event that entered the state
    assert a.dedupe_key == "exc:orders:stuck:A"
    assert a.detail["entered_at"] == "2024-05-06T10:00:00Z"
    detection = a.to_detection()
    assert detection.workflow_id == "exc:orders:stuck:A"
    assert detection.onset == utc("2024-05-06T12:00:00Z")


def test_latency_as_of_before_onset_does_not_fire() -> None:
    ps = policy_set(rule("stuck", "latency", state="waiting", threshold="2h"))
    assert fire(ps, LOG, "2024-05-06T11:59:59Z") == {}
    # At 12:00 D has already left (its leave at 12:00 is visible): only A and C are stuck.
    assert {k[0] for k in fire(ps, LOG, "2024-05-06T12:00:00Z")} == {"A", "C"}


def test_latency_with_leave_events_ignores_other_events() -> None:
    ps = policy_set(
        rule("stuck", "latency", state="waiting", threshold="2h", leave_events=["allocated"])
    )
    subjects = {k[0] for k in fire(ps, LOG)}
    assert subjects == {"A", "C", "E"}


def test_latency_in_business_hours_skips_weekend_holidays_and_dst() -> None:
    # Thursday 28 March 2024 16:00 CET; Good Friday, the weekend (clocks go forward on
    # Sunday 31 March) and Easter Monday are closed: 1 h on Thursday, 1 h on Tuesday
    # 2 April from 09:00 CEST, so the onset is 10:00 CEST = 08:00 UTC.
    log = events(
        [
            ("A", "waiting", "2024-03-28T16:00:00+01:00"),
            ("A", "allocated", "2024-04-03T12:00:00+02:00"),
        ]
    )
    ps = policy_set(
        rule("stuck", "latency", state="waiting", threshold="2h", business_hours=True),
        calendar=NL,
    )
    assert list(fire(ps, log)) == [("A", "2024-04-02T08:00:00+00:00", "2024-04-03T10:00:00+00:00")]
    plain = policy_set(rule("stuck", "latency", state="waiting", threshold="2h"), calendar=NL)
    assert next(iter(fire(plain, log)))[1] == "2024-03-28T17:00:00+00:00"
