"""A digest on a day that is not a business day of the role's calendar posts nothing and says
why; the next business day's digest covers everything since the last one that was due.

Real pieces: the DigestWorkflow on the session's Temporal server, tickets in a SQLite records
database, the real Slack sender and slack_sdk client talking to the fake Slack API. The
digests run "as of" fixed instants around King's Day 2026 (Monday 27 April, a public holiday
in the Netherlands): the time-skipping server's clock is no use for dates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from digest_helpers import DIGEST_HISTORIES, policy_dir, record_ticket
from fakes.slack_api import FakeSlack, fake_slack_fixture
from harness import RECORD
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.digest import StoreDigestSource
from escalator.activities.slack_client import slack_client
from escalator.activities.slack_context import policy_context
from escalator.activities.slack_sender import SlackSender
from escalator.client import with_pydantic
from escalator.policies.loader import load_policies
from escalator.policies.policy_set import PolicySet
from escalator.records.store import Store
from escalator.worker.digest_schedules import digest_request
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.digest_contracts import DIGEST_WORKFLOW, DigestResult

pytestmark = pytest.mark.temporal

# 09:00 in Amsterdam (CEST, UTC+2) on each day.
FRIDAY = datetime(2026, 4, 24, 7, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 4, 25, 7, 0, tzinfo=UTC)  # the warehouse works Saturdays
KINGS_DAY = datetime(2026, 4, 27, 7, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 4, 28, 7, 0, tzinfo=UTC)
HOUR = TUESDAY - datetime(2026, 4, 28, 6, 0, tzinfo=UTC)
X = "exc:orderToShip:payment_pending:"


slack = pytest.fixture(fake_slack_fixture, name="slack")


@pytest.fixture
def policies(tmp_path: Path) -> PolicySet:
    # inventory keeps the warehouse calendar; billing has a digest without one.
    return load_policies(
        [
            policy_dir(
                tmp_path,
                {"inventory": '{at: "09:00", calendar: nl-warehouse}', "billing": '{at: "09:00"}'},
            )
        ]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        yield opened
    finally:
        opened.close()


async def _digest(
    client: Client,
    slack: FakeSlack,
    store: Store,
    policies: PolicySet,
    role: str,
    at: datetime,
    history: str | None = None,
) -> tuple[DigestResult, str]:
    """One scheduled digest run for ``role`` as of ``at``: its result and UI details (its
    history kept as ``history`` for test_digest_replay.py under ESCALATOR_RECORD_HISTORIES=1)."""
    sender = SlackSender(
        slack_client(slack.token, base_url=slack.api_url, backoff=0.01),
        InMemoryLedger(),
        policy_context(policies),
    )
    wiring = Wiring(senders={"slack": sender}, digest_source=StoreDigestSource(store.engine, {}))
    req = digest_request(policies.role(role), policies).model_copy(update={"as_of": at})
    client = with_pydantic(client)
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(client, task_queue, wiring):
        handle = await client.start_workflow(
            DIGEST_WORKFLOW, req, id=f"digest:{role}:{uuid.uuid4()}", task_queue=task_queue,
            result_type=DigestResult,
        )  # fmt: skip
        result = await handle.result()
        meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        if history and RECORD:
            DIGEST_HISTORIES.mkdir(parents=True, exist_ok=True)
            (DIGEST_HISTORIES / f"{history}.json").write_text(
                (await handle.fetch_history()).to_json()
            )
    return result, meta.current_details


async def test_a_holiday_digest_posts_nothing_and_says_why(
    client: Client, slack: FakeSlack, store: Store, policies: PolicySet
) -> None:
    record_ticket(store, X + "o-1", "inventory", FRIDAY + HOUR)
    result, details = await _digest(client, slack, store, policies, "inventory", KINGS_DAY)
    said = (
        "skipped: King's Day is a holiday in nl-warehouse; "
        "next digest Tuesday 28 Apr 09:00 Europe/Amsterdam"
    )
    assert result.skipped == said and result.ok and result.tickets == 0
    assert f"Digest for inventory {said}. Nothing posted." in details
    assert slack.top_level("C0INVENTORY") == [] and slack.messages == {}


async def test_a_sunday_is_skipped_too_and_a_calendarless_role_posts_on_holidays(
    client: Client, slack: FakeSlack, store: Store, policies: PolicySet
) -> None:
    sunday = datetime(2026, 4, 26, 7, 0, tzinfo=UTC)
    result, _ = await _digest(client, slack, store, policies, "inventory", sunday)
    assert result.skipped is not None
    assert result.skipped.startswith("skipped: Sunday is not a business day in nl-warehouse;")
    record_ticket(store, X + "b-1", "billing", KINGS_DAY - HOUR)
    nine_utc = KINGS_DAY + 2 * HOUR  # no calendar: 09:00 UTC
    result, details = await _digest(client, slack, store, policies, "billing", nine_utc)
    assert result.skipped is None and result.ok and result.tickets == 1
    [posted] = slack.top_level("C0BILLING")
    assert "b-1" in str(posted.blocks) and "posted to #ops-billing" in details
    assert result.since == nine_utc.replace(day=26)  # every day is a digest day: yesterday


async def test_the_next_business_day_covers_the_holiday(
    client: Client, slack: FakeSlack, store: Store, policies: PolicySet
) -> None:
    record_ticket(store, X + "fri-open", "inventory", FRIDAY + HOUR)
    record_ticket(store, X + "fri-done", "inventory", FRIDAY + HOUR, resolved=True)
    record_ticket(store, X + "hol-open", "inventory", KINGS_DAY + 3 * HOUR)
    record_ticket(store, X + "hol-done", "inventory", KINGS_DAY + 5 * HOUR, resolved=True)
    record_ticket(store, X + "other-role", "billing", KINGS_DAY + 3 * HOUR)

    skipped, _ = await _digest(
        client, slack, store, policies, "inventory", KINGS_DAY, history="skipped_holiday"
    )
    assert skipped.skipped and slack.messages == {}
    result, details = await _digest(
        client, slack, store, policies, "inventory", TUESDAY, history="after_holiday"
    )
    assert result.skipped is None and result.ok
    # The window starts at the last digest that was due: Saturday 09:00, not Monday's.
    assert result.since == SATURDAY
    [posted] = slack.top_level("C0INVENTORY")
    text = posted.blocks[0]["text"]["text"]
    assert text == result.text
    lines = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("• `")}
    assert set(lines) == {X + "fri-open", X + "hol-open", X + "hol-done"}
    assert "(r, new)" in lines[X + "hol-open"]
    assert "(r, new, resolved)" in lines[X + "hol-done"]
    assert "new" not in lines[X + "fri-open"]
    assert "3 ticket(s), 2 new" in text and "covers since 2026-04-25 07:00 UTC" in text
    assert result.tickets == 3 and "3 ticket(s), posted to #ops-inventory" in details
