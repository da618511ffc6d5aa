"""Provider outages: every page is delivered after recovery, none twice, none recorded failed.

The providers refuse for a span of wall-clock time (HTTP 500 from Slack,
429 with Retry-After from Slack, 503 from Twilio) while exceptions are
raised; the escalation's level-2 page falls inside the outage too. The span
is 5 s here; `bench/bench_faults.py` runs the same test with 90 s
(ESCALATOR_FAULTS_OUTAGE_SECONDS) for the figures in docs/reliability.md.
"""

from __future__ import annotations

import os
import time

import pytest
from fault_stack import FaultStack

OUTAGE = float(os.environ.get("ESCALATOR_FAULTS_OUTAGE_SECONDS", "5"))
EXCEPTIONS = 10
# After the outage: Temporal's retry backoff (capped at 30 s between attempts) plus the
# level-2 deadline and the run's own work.
RECOVERY = 45.0

# Scenario time: the outage, the recovery, the stack's start when this test runs first.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(OUTAGE + RECOVERY + 90)]

OUTAGES = {
    "slack-500": ("slack", "chat.postMessage", 500, None),
    "slack-429": ("slack", "chat.postMessage", 429, 3),
    "twilio-503": ("twilio", "Messages", 503, None),
}


@pytest.mark.parametrize("name", list(OUTAGES))
async def test_outage_loses_no_page_and_sends_none_twice(live: FaultStack, name: str) -> None:
    provider, key, status, retry_after = OUTAGES[name]
    fake = live.slack if provider == "slack" else live.twilio
    started = time.time()
    fake.faults.outage(key, status, seconds=OUTAGE, retry_after=retry_after)
    subjects = [f"outage-{name}-{i}" for i in range(EXCEPTIONS)]
    raised_at = await live.raise_burst(subjects)

    said = f" Retry-After {retry_after}" if retry_after else ""
    outcome = await live.settle(
        f"provider outage {OUTAGE:g} s ({name})",
        f"{provider} {key} answers {status}{said} for {OUTAGE:g} s",
        lambda: fake.faults.injected(since=started),
        raised_at,
        within=OUTAGE + RECOVERY,
    )
    f = outcome.figures
    found = {
        "requests refused": fake.faults.injected(since=started) > 0,
        "lost, duplicated, recorded failed": (f.lost, f.duplicated, f.recorded_failed),
        "record problems": len(outcome.problems),
    }
    wanted = {
        "requests refused": True,
        "lost, duplicated, recorded failed": (0, 0, 0),
        "record problems": 0,
    }
    assert found == wanted, outcome.summary()
