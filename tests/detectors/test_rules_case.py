"""Completeness and conformance rules on hand-made logs."""

from __future__ import annotations

from detector_helpers import events, policy_set, rule, utc

from escalator.detectors.evaluate import evaluate
from escalator.detectors.firing import Firing


def fire(ps, log, as_of: str | None = None) -> dict[str, Firing]:
    [result] = evaluate(log, ps, ps.journeys[0], as_of=utc(as_of) if as_of else None)
    return {f.subject: f for f in result.firings()}


def test_completeness_missing_at_the_gate() -> None:
    log = events(
        [
            ("A", "created", "2024-05-06T09:00:00Z"),
            ("A", "checked", "2024-05-06T10:00:00Z"),
            ("B", "created", "2024-05-06T09:00:00Z"),
            ("B", "checked", "2024-05-06T10:30:00Z"),
            ("B", "checked", "2024-05-06T11:00:00Z"),
            ("C", "checked", "2024-05-06T12:00:00Z"),
        ],
        channel=["web", None, None, None, "web", " "],
        amount=[None, "10", None, "5", None, ""],
    )
    ps = policy_set(
        rule(
            "incomplete",
            "completeness",
            gate_event="checked",
            required_attributes=["channel", "amount"],
        )
    )
    got = fire(ps, log)
    assert set(got) == {"B", "C"}  # A: channel at intake, amount at the gate
    assert got["B"].onset == utc("2024-05-06T10:30:00Z")  # the first gate pass only
    assert got["B"].detail["missing"] == ["channel"]
    assert got["B"].evidence == [4]
    assert got["C"].detail["missing"] == ["channel", "amount"]  # blank counts as missing
    assert set(fire(ps, log, "2024-05-06T11:59:59Z")) == {"B"}


CONFORMANCE = rule(
    "deviates",
    "conformance",
    start_events=["created"],
    allowed_transitions={"created": ["paid"], "paid": ["shipped"], "shipped": []},
    precedence=[{"event": "shipped", "requires": "paid"}],
    response=[{"event": "created", "then": "paid", "within": "1h"}],
)
CONFORMANCE_LOG = events(
    [
        ("A", "created", "2024-05-06T10:00:00Z"),
        ("A", "paid", "2024-05-06T10:30:00Z"),
        ("A", "shipped", "2024-05-06T11:00:00Z"),
        ("B", "created", "2024-05-06T10:00:00Z"),
        ("B", "shipped", "2024-05-06T10:10:00Z"),
        ("C", "paid", "2024-05-06T10:00:00Z"),
        ("D", "created", "2024-05-06T10:00:00Z"),
        ("D", "note", "2024-05-06T10:20:00Z"),  # not in the model: projected away
        ("D", "paid", "2024-05-06T10:40:00Z"),
        ("E", "created", "2024-05-06T10:00:00Z"),
        ("E", "paid", "2024-05-06T11:30:00Z"),
    ]
)


def test_conformance_names_the_first_deviation() -> None:
    got = fire(policy_set(CONFORMANCE), CONFORMANCE_LOG)
    assert set(got) == {"B", "C", "E"}
    b = got["B"]
    assert b.onset == utc("2024-05-06T10:10:00Z")
    assert b.detail["deviation"] == "transition created → shipped is not in the reference model"
    assert b.evidence == [4, 5]
    assert b.detail["deviations_so_far"] == 3  # transition, precedence, response (at 11:00)
    assert got["C"].detail["deviation"] == "starts with paid (expected created)"
    e = got["E"]
    assert e.onset == utc("2024-05-06T11:00:00Z")  # created + 1h, paid came later
    assert e.detail["deviation"] == "created not followed by paid within 1h"


def test_conformance_response_is_not_known_before_its_deadline() -> None:
    got = fire(policy_set(CONFORMANCE), CONFORMANCE_LOG, "2024-05-06T10:59:59Z")
    assert set(got) == {"B", "C"}


def test_conformance_precedence_alone_and_response_at_completion() -> None:
    r = rule(
        "order",
        "conformance",
        precedence=[{"event": "shipped", "requires": "paid"}],
        response=[{"event": "created", "then": "invoiced"}],
    )
    log = events(
        [
            ("A", "created", "2024-05-06T10:00:00Z"),
            ("A", "paid", "2024-05-06T10:30:00Z"),
            ("A", "shipped", "2024-05-06T11:00:00Z"),  # completes without an invoice
            ("B", "created", "2024-05-06T10:00:00Z"),
            ("B", "invoiced", "2024-05-06T10:05:00Z"),
            ("B", "paid", "2024-05-06T10:30:00Z"),
            ("B", "shipped", "2024-05-06T11:00:00Z"),
        ]
    )
    got = fire(policy_set(r), log)
    assert set(got) == {"A"}
    assert got["A"].onset == utc("2024-05-06T11:00:00Z")
    assert got["A"].detail["check"] == "response"
