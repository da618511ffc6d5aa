"""A flapping quality rule, end to end: the detector's firings raised and cleared in log
order through the production path (``raise_exception`` / ``clear_condition``, as the SQL
watch's TemporalSink does) against a real worker make one exception whose run reopens
at each re-firing; an episode after the condition stayed clear longer than the reopen
window is an exception of its own."""

from __future__ import annotations

import polars as pl
import pytest
from harness import Harness, steps
from temporalio.client import Client

from escalator.client import clear_condition, raise_exception
from escalator.detectors.evaluate import evaluate
from escalator.detectors.events import LINE, canonicalize
from escalator.policies.journeys import ColumnMapping
from escalator.policies.policy_set import PolicyDocument, PolicySet
from escalator.workflows.contracts import ExceptionState, StepKind

pytestmark = pytest.mark.temporal


def _policies() -> PolicySet:
    doc = PolicyDocument.model_validate(
        {
            "journeys": [
                {
                    "name": "orders",
                    "slis": [
                        {
                            "type": "availability",
                            "name": "shipped",
                            "valid_events": ["created"],
                            "good_events": ["shipped"],
                            "objective": 99,
                        }
                    ],
                    "completing_events": ["shipped"],
                }
            ],
            "rules": [
                {
                    "name": "defects",
                    "kind": "quality",
                    "journey": "orders",
                    "owner": "ops",
                    "escalation": "ops-escalation",
                    "runbook": "https://runbooks.example/defects",
                    "predicts": {"description": "order cancelled", "events": ["cancelled"]},
                    "defect_events": ["failed"],
                    "window": "1h",
                    "threshold": 0.5,
                    "min_volume": 2,
                    "reopen_window": "2h",
                }
            ],
            "roles": [{"name": "ops", "members": [{"name": "ann"}]}],
            "escalation_policies": [
                {"name": "ops-escalation", "levels": [{"role": "ops", "response_time": "1h"}]}
            ],
        }
    )
    return PolicySet.merge([doc])


def _log(tag: str) -> pl.DataFrame:
    """Bursts of two defects at 10, 12, 14 (each clear 65 min: flapping) and 20 h."""
    rows = [
        (f"{tag}-{h}{m}", "failed", f"2024-05-06T{h}:{m}:00Z")
        for h in ("10", "12", "14", "20")
        for m in ("00", "05")
    ]
    raw = pl.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": [r[2] for r in rows],
            LINE: list(range(1, len(rows) + 1)),
        }
    )
    return canonicalize(raw, ColumnMapping(), source="test").events


async def test_flapping_quality_rule_is_one_exception_reopened(
    harness: Harness, client: Client
) -> None:
    h = harness
    policies = _policies()
    [result] = evaluate(_log(h.task_queue[-8:]), policies, policies.journeys[0])
    firings = result.firings()
    assert len(firings) == 4
    moments = sorted(
        [(f.onset, "raise", f) for f in firings]
        + [(f.cleared_at, "clear", f) for f in firings if f.cleared_at is not None],
        key=lambda m: (m[0], m[1] == "raise"),
    )
    outcomes: list[tuple[str, str]] = []
    for _, what, f in moments:
        if what == "raise":
            before = None
            if f.dedupe_key in h.started:
                before = (await h.handle(f.dedupe_key).describe()).run_id
            raised = await raise_exception(
                h.client, f.to_detection(), policies=policies, task_queue=h.task_queue
            )
            h.started.add(raised.exception_id)
            outcomes.append((raised.exception_id, raised.outcome))
            if raised.outcome == "reopened" and before is not None:
                await h.new_run_ready(raised.exception_id, before)
            await h.until(raised.exception_id, lambda s: s.state is ExceptionState.OPEN)
        else:
            assert await clear_condition(h.client, f.journey, f.rule, f.subject, at=f.cleared_at)
            await h.until(f.dedupe_key, lambda s: s.state is ExceptionState.RESOLVED)

    flapping = firings[0].dedupe_key
    assert outcomes == [
        (flapping, "new"),
        (flapping, "reopened"),
        (flapping, "reopened"),
        (firings[3].dedupe_key, "new"),
    ]
    assert firings[3].dedupe_key != flapping
    status = await h.status(flapping)
    [reopened] = steps(status, StepKind.REOPENED)
    assert reopened.detail["rework_count"] == 2  # the third firing: the second reopen
    later = await h.status(firings[3].dedupe_key)
    assert steps(later, StepKind.REOPENED) == []
