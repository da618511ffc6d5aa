"""The shift hand-off message: the HandoffWorkflow on the time-skipping server sleeps to
the hand-off and posts once to the role's channel through the real Slack sender (the
fake Slack API); an override made after it foresaw the hand-off changes who the message
names (or cancels it); a post whose answer Slack lost is retried without a second
message. With ESCALATOR_RECORD_HISTORIES=1 the first run's history is kept for
test_handoff_replay.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from fakes.channel_stack import eventually
from fakes.server import Fault
from fakes.slack_api import FakeSlack, fake_slack_fixture
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.handoff_blocks import TAKE_SHIFT_ACTION, ShiftValue
from escalator.activities.oncall import store_changes
from escalator.activities.slack_client import slack_client
from escalator.activities.slack_sender import SlackSender
from escalator.client import with_pydantic
from escalator.policies.roles import Member, OwnerRole
from escalator.policies.schedules import Away, Layer, Override, Schedule
from escalator.records.oncall import OnCallStore
from escalator.records.store import Store
from escalator.worker.handoff_startup import start_handoff
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.handoff_contracts import (
    HANDOFF_WORKFLOW,
    HandoffInput,
    HandoffStatus,
    handoff_workflow_id,
)

pytestmark = pytest.mark.temporal

RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
HANDOFF_HISTORIES = Path(__file__).parent.parent / "histories" / "handoff"
AMS = ZoneInfo("Europe/Amsterdam")
HOUR = timedelta(hours=1)


def two_hour_role(start: datetime) -> OwnerRole:
    """anna, bram, chloe hand over every 2 hours from ``start`` (elapsed time)."""
    return OwnerRole(
        name="inventory",
        slack_channel="#ops-inventory",
        members=[
            Member(name="anna", slack_user_id="U0INV00001"),
            Member(name="bram", slack_user_id="U0INV00002"),
            Member(name="chloe", slack_user_id="U0INV00003"),
        ],
        schedule=Schedule(
            layers=[
                Layer(
                    name="days",
                    order=["anna", "bram", "chloe"],
                    start=start,
                    timezone="Europe/Amsterdam",
                    handoff_every=2 * HOUR,
                )
            ]
        ),
    )


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    slack: FakeSlack
    oncall: OnCallStore
    task_queue: str
    now: datetime  # the server's clock when the role was made
    role: OwnerRole

    async def start(self) -> WorkflowHandle[object, None]:
        handle = await self.client.start_workflow(
            HANDOFF_WORKFLOW,
            HandoffInput(role=self.role),
            id=f"{handoff_workflow_id(self.role.name)}:{uuid.uuid4().hex[:6]}",
            task_queue=self.task_queue,
        )

        async def foreseen() -> HandoffStatus | None:
            status = await status_of(handle)
            return status if status and status.next_at else None

        await eventually(foreseen)
        return handle

    def messages(self) -> list[str]:
        return [m.text for m in self.slack.top_level("C0INVENTORY")]


slack = pytest.fixture(fake_slack_fixture, name="slack")


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, slack: FakeSlack, tmp_path: Path, task_queue: str
) -> AsyncIterator[Stack]:
    if not temporal_env.supports_time_skipping:
        pytest.skip("sleeps two hours of workflow time: the time-skipping server only")
    oncall = OnCallStore(Store.open(f"sqlite:///{tmp_path / 'records.db'}").engine)
    # timeout=1 s: the lost-answer fault (a 2 s stall after Slack stored the message)
    # makes the first attempt give up, so the activity is retried.
    sender = SlackSender(
        slack_client(slack.token, base_url=slack.api_url, timeout=1, retries=False),
        InMemoryLedger(),
    )
    wiring = Wiring(senders={"slack": sender}, oncall_changes=store_changes(oncall))
    client = with_pydantic(temporal_env.client)
    now = await temporal_env.get_current_time()
    role = two_hour_role(now - HOUR)  # anna since an hour ago; bram from now + 1 h
    async with build_worker(client, task_queue, wiring):
        yield Stack(temporal_env, client, slack, oncall, task_queue, now, role)


async def status_of(handle: WorkflowHandle[Any, Any]) -> HandoffStatus | None:
    # None until the workflow's first question is answered.
    found = await handle.query("status", result_type=cast(type, HandoffStatus | None))
    return cast(HandoffStatus | None, found)


def until(at: datetime) -> str:
    local = at.astimezone(AMS)
    return f"{local:%a %H:%M} {local.tzname()}"


async def test_the_handoff_is_posted_once_with_its_button_and_a_lost_answer_is_not_posted_twice(
    stack: Stack,
) -> None:
    # Slack stores the first post but its answer never arrives in time: the activity fails,
    # Temporal retries it, and the retry finds the message by its idempotency key.
    stack.slack.inject("chat.postMessage", Fault(delay=2.0, after=True))
    handle = await stack.start()
    first_run = handle.result_run_id
    await stack.env.sleep(50 * timedelta(minutes=1))
    assert stack.messages() == []  # not before the hand-off
    await stack.env.sleep(20 * timedelta(minutes=1))  # past now + 1 h
    said = f"bram is on call for inventory until {until(stack.now + 3 * HOUR)}"
    await eventually(lambda: stack.messages() == [said])
    assert len(stack.slack.calls_to("chat.postMessage")) == 1  # the lost one; the retry found it
    assert stack.slack.calls_to("conversations.history")  # the retry looked first
    [message] = stack.slack.top_level("C0INVENTORY")
    button = message.blocks[-1]["elements"][0]
    assert button["action_id"] == TAKE_SHIFT_ACTION
    assert button["text"]["text"] == "Take this shift"
    offered = ShiftValue.decode(button["value"])
    assert (offered.role, offered.member) == ("inventory", "bram")
    assert (offered.start, offered.end) == (stack.now + HOUR, stack.now + 3 * HOUR)
    # The next hand-off, two hours on: one more message, from the run continued as new.
    await stack.env.sleep(2 * HOUR)
    chloe = f"chloe is on call for inventory until {until(stack.now + 5 * HOUR)}"
    await eventually(lambda: stack.messages() == [said, chloe])
    if RECORD:
        HANDOFF_HISTORIES.mkdir(parents=True, exist_ok=True)
        first = stack.client.get_workflow_handle(handle.id, run_id=first_run)
        history = await first.fetch_history()
        (HANDOFF_HISTORIES / "handoff_posted.json").write_text(history.to_json())
    await handle.terminate("test over")


async def test_an_override_made_after_the_handoff_was_foreseen_changes_who_it_names(
    stack: Stack,
) -> None:
    handle = await stack.start()  # it foresaw bram at now + 1 h
    stack.oncall.add(
        kind="override",
        role="inventory",
        member="chloe",
        covers="bram",
        starts_at=stack.now,
        ends_at=stack.now + 2 * HOUR,
        created_by="chloe",
        now=stack.now,
    )
    await stack.env.sleep(70 * timedelta(minutes=1))
    # chloe until her override ends (then bram has the rest of his shift).
    said = f"chloe is on call for inventory until {until(stack.now + 2 * HOUR)}"
    await eventually(lambda: stack.messages() == [said])
    await handle.terminate("test over")


async def test_an_override_that_keeps_the_member_on_call_posts_nothing_and_says_why(
    stack: Stack,
) -> None:
    handle = await stack.start()
    stack.oncall.add(
        kind="override",
        role="inventory",
        member="anna",
        covers="bram",
        starts_at=stack.now,
        ends_at=stack.now + 3 * HOUR,  # all of bram's shift
        created_by="anna",
        now=stack.now,
    )
    await stack.env.sleep(90 * timedelta(minutes=1))
    # anna stays on call through bram's shift: the next hand-off is chloe's, at now + 3 h.
    status = await status_of(handle)
    assert status is not None and status.next_at == stack.now + 3 * HOUR
    assert stack.messages() == []
    await stack.env.sleep(2 * HOUR)
    said = f"chloe is on call for inventory until {until(stack.now + 5 * HOUR)}"
    await eventually(lambda: stack.messages() == [said])
    await handle.terminate("test over")


async def test_the_worker_starts_one_workflow_per_role_and_updates_it(stack: Stack) -> None:
    """`start_handoff` (what the worker runs at start) twice: one workflow, whose next
    hand-off follows the role as the policies say the second time."""
    await start_handoff(stack.client, stack.role, "v1", stack.task_queue)
    handle = stack.client.get_workflow_handle(handoff_workflow_id("inventory"))

    async def next_at() -> datetime | None:
        status = await status_of(handle)
        return status.next_at if status else None

    assert await eventually(next_at) == stack.now + HOUR
    later = two_hour_role(stack.now - HOUR + 30 * timedelta(minutes=1))
    await start_handoff(stack.client, later, "v2", stack.task_queue)
    assert await eventually(lambda: _is(next_at, stack.now + 90 * timedelta(minutes=1)))
    await stack.env.sleep(100 * timedelta(minutes=1))
    said = f"bram is on call for inventory until {until(stack.now + 210 * timedelta(minutes=1))}"
    await eventually(lambda: stack.messages() == [said])
    await handle.terminate("test over")


async def _is(read: Callable[[], Awaitable[datetime | None]], expected: datetime) -> bool:
    return await read() == expected


async def test_hand_offs_missed_while_nothing_ran_are_one_message_for_the_shift_under_way(
    stack: Stack,
) -> None:
    """Started as if its last message was ten hours ago (a worker down since): of the five
    hand-offs due meanwhile only the latest is announced, then the next on time."""
    handle = await stack.client.start_workflow(
        HANDOFF_WORKFLOW,
        HandoffInput(role=stack.role, announced_until=stack.now - 10 * HOUR, last_member="bram"),
        id=f"{handoff_workflow_id(stack.role.name)}:{uuid.uuid4().hex[:6]}",
        task_queue=stack.task_queue,
    )
    anna = f"anna is on call for inventory until {until(stack.now + HOUR)}"
    await eventually(lambda: stack.messages() == [anna])
    await stack.env.sleep(70 * timedelta(minutes=1))
    bram = f"bram is on call for inventory until {until(stack.now + 3 * HOUR)}"
    await eventually(lambda: stack.messages() == [anna, bram])
    await handle.terminate("test over")


async def test_a_records_outage_while_asking_is_waited_out_not_fatal(
    temporal_env: WorkflowEnvironment, slack: FakeSlack
) -> None:
    """The first four questions fail (more than the activity's three attempts): the
    workflow asks again after a while and still posts the hand-off."""
    if not temporal_env.supports_time_skipping:
        pytest.skip("sleeps an hour of workflow time: the time-skipping server only")
    failures = [RuntimeError("records unreachable")] * 4

    async def changes(role: OwnerRole, at: datetime) -> list[Override | Away]:
        if failures:
            raise failures.pop()
        return []

    sender = SlackSender(slack_client(slack.token, base_url=slack.api_url), InMemoryLedger())
    wiring = Wiring(senders={"slack": sender}, oncall_changes=changes)
    client = with_pydantic(temporal_env.client)
    now = await temporal_env.get_current_time()
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(client, task_queue, wiring):
        handle = await client.start_workflow(
            HANDOFF_WORKFLOW,
            HandoffInput(role=two_hour_role(now - HOUR)),
            id=f"handoff:inventory:{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
        )
        await temporal_env.sleep(70 * timedelta(minutes=1))
        said = f"bram is on call for inventory until {until(now + 3 * HOUR)}"
        await eventually(lambda: [m.text for m in slack.top_level("C0INVENTORY")] == [said])
        assert failures == []
        await handle.terminate("test over")
