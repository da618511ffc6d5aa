"""A burst of detections of one subject through raise_exception: every call returns, one
workflow, one first page, every occurrence counted once, the outcome reported to each.

Temporal admits about ten updates per workflow at once; the outcome update of
raise_exception waits its turn within its budget instead of failing a detection that
Temporal already keeps (docs/reliability.md, "When parts are down")."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from harness import Harness, has, subject
from policy_factory import detection, make_policy

from escalator.workflows.contracts import StepKind

pytestmark = pytest.mark.temporal
BURST = 40


async def test_a_burst_of_one_subject_is_one_exception(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit)
    case = subject()
    first = await h.raise_(detection(case, n=0), policy)
    assert first.outcome == "new"
    raised = await asyncio.gather(
        *(h.raise_(detection(case, n=n), policy) for n in range(1, BURST + 1))
    )
    assert {r.exception_id for r in raised} == {first.exception_id}
    assert Counter(r.outcome for r in raised) == {"duplicate": BURST}
    assert sorted(r.occurrences or 0 for r in raised)[-1] == BURST + 1
    status = await h.until(first.exception_id, lambda s: s.occurrences == BURST + 1)
    assert len([s for s in status.timeline if s.kind is StepKind.OCCURRED_AGAIN]) == BURST
    await h.until(first.exception_id, has(StepKind.NOTIFIED))
    firsts = [n for n in h.pages(first.exception_id) if n.reason == "first"]
    assert len(firsts) == 2  # slack + sms, once
