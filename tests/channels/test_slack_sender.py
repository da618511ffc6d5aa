"""The Slack sender through the real AsyncWebClient against the fake Slack Web API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fakes.channel_samples import XID
from fakes.server import Fault
from fakes.slack_api import FakeSlack

from escalator.activities.button_values import ButtonValue
from escalator.activities.channels import ChannelSender, Notification
from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.slack_blocks import MessageContext
from escalator.activities.slack_client import slack_client
from escalator.activities.slack_context import default_context
from escalator.activities.slack_sender import SlackSender
from escalator.policy_source import load_configured_policies
from escalator.settings import Settings
from escalator.workflows.contracts import ExceptionState, ExceptionStatus, StepKind, TimelineStep

NotificationFactory = Callable[..., Notification]
StatusFactory = Callable[..., ExceptionStatus]


def sender(fake: FakeSlack, ledger: InMemoryLedger | None = None, **kw: object) -> SlackSender:
    """Wired as the worker wires it: no retries inside the client (Temporal retries)."""
    kw.setdefault("retries", False)
    client = slack_client(fake.token, base_url=fake.api_url, backoff=0.01, **kw)  # type: ignore[arg-type]
    ctx = MessageContext(
        hypothesis="Orders waiting for stock over 2 business hours miss the ship date.",
        runbook="https://runbooks.example/awaiting-inventory",
        reassign_roles=("inventory", "incident-leads"),
        members={"anna": "U0INV00001"},
    )
    return SlackSender(client, ledger or InMemoryLedger(), lambda status: ctx)


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_posts_one_block_kit_message_to_the_role_channel(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    s = sender(fake_slack)
    assert isinstance(s, ChannelSender)
    delivery = await s.send(notification())
    assert delivery.ok, delivery.error
    [msg] = fake_slack.top_level("C0INVENTORY")
    assert delivery.provider_message_id == f"C0INVENTORY:{msg.ts}"
    assert action_ids(msg.blocks) == [
        "escalator.runbook",
        "escalator.ack",
        "escalator.resolve",
        "escalator.false_alarm",
        "escalator.escalate",
        "escalator.snooze",
        "escalator.reassign",
        "escalator.silence",
    ]
    text = str(msg.blocks)
    assert "orderToShip: ORD-1042 awaiting_inventory" in text
    assert "miss the ship date" in text and "2h10m" in text
    ack = next(
        e
        for b in msg.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "escalator.ack"
    )
    assert ButtonValue.decode(ack["value"]).exception_id == XID
    assert msg.metadata and msg.metadata["event_payload"]["idempotency_key"].startswith(XID)


async def test_a_retried_send_does_not_post_again(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    s = sender(fake_slack)
    first = await s.send(notification())
    second = await s.send(notification(attempt=2))  # the retried activity
    assert first == second
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_worker_killed_after_slack_accepted_finds_the_message_instead_of_reposting(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    ledger = InMemoryLedger()
    # Earlier delivery of this exception taught the ledger the channel id.
    await sender(fake_slack, ledger).send(notification(idempotency_key="k-earlier"))
    n = notification(idempotency_key="k-level-2")
    await sender(fake_slack, ledger).send(n)
    # The worker died after Slack accepted but before "sent" was recorded:
    record = ledger.find("k-level-2")
    assert record is not None
    ledger.record(record.model_copy(update={"state": "pending", "provider_message_id": None}))

    retry = n.model_copy(update={"attempt": 2})
    delivery = await sender(fake_slack, ledger).send(retry)  # the retried activity, a new worker
    assert delivery.ok
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # not 3
    assert len(fake_slack.calls_to("conversations.history")) == 1
    assert delivery.provider_message_id == record.provider_message_id


async def test_rate_limit_is_a_retryable_failure_carrying_retry_after(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    """The activity raises with Retry-After as the next retry delay; the retry posts once."""
    fake_slack.inject("chat.postMessage", Fault(status=429, retry_after=7))
    s = sender(fake_slack)
    limited = await s.send(notification())
    assert not limited.ok and limited.retryable and limited.retry_after == 7
    retried = await s.send(notification(attempt=2))
    assert retried.ok
    assert len(fake_slack.top_level("C0INVENTORY")) == 1


async def test_server_error_is_retryable_and_the_retry_posts_once(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    fake_slack.inject("chat.postMessage", Fault(status=503))
    s = sender(fake_slack)
    failed = await s.send(notification())
    assert not failed.ok and failed.retryable and failed.retry_after is None
    retried = await s.send(notification(attempt=2))
    assert retried.ok
    assert len(fake_slack.top_level("C0INVENTORY")) == 1


async def test_the_receivers_client_still_retries_inside(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    """slack_client(retries=True), as the receiver uses it, waits out a 429 itself."""
    fake_slack.inject("chat.postMessage", Fault(status=429, retry_after=0))
    delivery = await sender(fake_slack, retries=True).send(notification())
    assert delivery.ok
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_persistent_server_errors_are_a_retryable_failure(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    fake_slack.inject("chat.postMessage", *[Fault(status=500)] * 3)
    ledger = InMemoryLedger()
    delivery = await sender(fake_slack, ledger).send(notification())
    assert not delivery.ok and delivery.retryable
    # Nothing reads as done: no guard, and the result (the activity's) says retrying.
    assert ledger.find(notification().idempotency_key) is None


@pytest.mark.parametrize("error", ["channel_not_found", "token_revoked", "invalid_auth"])
async def test_permanent_errors_are_recorded_and_not_retried(
    fake_slack: FakeSlack, notification: NotificationFactory, error: str
) -> None:
    fake_slack.inject("chat.postMessage", Fault(error=error))
    ledger = InMemoryLedger()
    s = sender(fake_slack, ledger)
    delivery = await s.send(notification())
    assert not delivery.ok and not delivery.retryable
    assert delivery.error and error in delivery.error
    # The refusal is a result (notifications), not a guard state: no guard says sent.
    assert ledger.find(notification().idempotency_key) is None
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_unknown_channel_and_wrong_token_against_the_fake_itself(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    bad_channel = await sender(fake_slack).send(notification(target="#no-such-room"))
    assert not bad_channel.retryable and "channel_not_found" in (bad_channel.error or "")
    client = slack_client("xoxb-revoked", base_url=fake_slack.api_url)
    revoked = await SlackSender(client, InMemoryLedger()).send(notification())
    assert not revoked.retryable and "invalid_auth" in (revoked.error or "")


async def test_a_timeout_is_a_retryable_failure(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    fake_slack.inject("chat.postMessage", Fault(delay=2.0))
    delivery = await sender(fake_slack, timeout=1).send(notification())
    assert not delivery.ok and delivery.retryable


async def test_update_rewrites_the_message_and_threads_each_step_once(
    fake_slack: FakeSlack, notification: NotificationFactory, status: StatusFactory
) -> None:
    ledger = InMemoryLedger()
    s = sender(fake_slack, ledger)
    now = datetime.now(UTC)
    detected = TimelineStep(exception_id=XID, run_id="r", seq=1, kind=StepKind.DETECTED, at=now)
    sent = await s.send(notification(status=status(timeline=[detected])))
    assert sent.provider_message_id
    steps = [
        detected,
        TimelineStep(
            exception_id=XID, run_id="r", seq=2, kind=StepKind.ACKNOWLEDGED, at=now, actor="anna"
        ),
    ]
    acked = status(
        state=ExceptionState.ACKNOWLEDGED,
        acknowledged_by="anna",
        acknowledged_at=now,
        timeline=steps,
    )
    update = notification(idempotency_key="k-update", reason="update", status=acked)
    result = await s.update(update, sent.provider_message_id)
    assert result.ok, result.error
    [msg] = fake_slack.top_level("C0INVENTORY")
    assert msg.edits == 1
    assert "Acknowledged by <@U0INV00001>" in str(msg.blocks)
    assert "escalator.ack" not in action_ids(msg.blocks)
    thread = fake_slack.thread("C0INVENTORY", msg.ts)
    assert [m.text.split(" · ")[1] for m in thread] == ["Acknowledged by <@U0INV00001>"]
    await s.update(update, sent.provider_message_id)  # same status again: no new thread line
    assert len(fake_slack.thread("C0INVENTORY", msg.ts)) == 1

    resolved = status(
        state=ExceptionState.RESOLVED,
        resolved_by="anna",
        resolved_at=now,
        resolution_note="stock moved",
    )
    await s.update(notification(reason="resolved", status=resolved), sent.provider_message_id)
    assert action_ids(fake_slack.top_level("C0INVENTORY")[0].blocks) == ["escalator.runbook"]


async def test_a_dm_is_updated_through_its_conversation_id(
    fake_slack: FakeSlack, notification: NotificationFactory, status: StatusFactory
) -> None:
    s = sender(fake_slack)
    n = notification(channel="slack_dm", target="U0INV00001", member="anna", idempotency_key="k-dm")
    sent = await s.send(n)
    assert (
        sent.ok and sent.provider_message_id and sent.provider_message_id.startswith("DU0INV00001:")
    )
    done = await s.update(
        n.model_copy(update={"status": status(level=2)}), sent.provider_message_id
    )
    assert done.ok
    assert fake_slack.top_level("DU0INV00001")[0].edits == 1


async def test_send_with_replaces_updates_instead_of_posting(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    s = sender(fake_slack)
    sent = await s.send(notification())
    again = await s.send(notification(idempotency_key="k2", replaces=sent.provider_message_id))
    assert again.ok and again.provider_message_id == sent.provider_message_id
    assert len(fake_slack.top_level("C0INVENTORY")) == 1
    assert fake_slack.top_level("C0INVENTORY")[0].edits == 1


async def test_the_policy_dir_context_fills_in_the_details(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    client = slack_client(fake_slack.token, base_url=fake_slack.api_url)
    context = default_context(Settings().policy_dir)
    await SlackSender(client, InMemoryLedger(), context).send(notification())
    [msg] = fake_slack.top_level("C0INVENTORY")
    rule = load_configured_policies().rule("awaiting_inventory")
    assert rule.runbook in str(msg.blocks)
    assert "escalator.reassign" in action_ids(msg.blocks)


async def test_an_answer_lost_after_slack_accepted_is_found_not_reposted(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    """Slack stores the message, then the answer never arrives (timeout): the retried
    activity must find that message by its idempotency key instead of posting again."""
    ledger = InMemoryLedger()
    s = sender(fake_slack, ledger, timeout=1)
    await s.send(notification(idempotency_key="k-teaches-the-channel-id"))
    fake_slack.inject("chat.postMessage", Fault(delay=2.0, after=True))
    n = notification(idempotency_key="k-lost", target="#ops-inventory")
    lost = await s.send(n)
    assert not lost.ok and lost.retryable
    assert len(fake_slack.top_level("C0INVENTORY")) == 2  # Slack has it nonetheless

    retried = await s.send(n.model_copy(update={"attempt": 2}))
    assert retried.ok
    assert len(fake_slack.top_level("C0INVENTORY")) == 2
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    posted = next(
        m
        for m in fake_slack.top_level("C0INVENTORY")
        if m.metadata and m.metadata["event_payload"]["idempotency_key"] == "k-lost"
    )
    assert retried.provider_message_id == f"C0INVENTORY:{posted.ts}"


async def test_a_lost_dm_is_found_through_conversations_open(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    """A DM to a user id: the worker died after Slack accepted and no guard survived
    (a new worker, an empty ledger). The retry opens the DM, finds the key, posts nothing."""
    n = notification(idempotency_key="k-dm", channel="slack_dm", target="U0INV00001")
    first = await sender(fake_slack).send(n)
    assert first.ok
    retried = await sender(fake_slack, InMemoryLedger()).send(n.model_copy(update={"attempt": 2}))
    assert retried.ok and retried.found_at_provider
    assert retried.provider_message_id == first.provider_message_id
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.calls_to("conversations.open")) == 1


async def test_a_lost_channel_post_by_name_is_found_through_conversations_list(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    """A first post to a channel by name, answer lost, restarted worker that never saw the
    channel's id: it finds the id by name, then the message by its key."""
    n = notification(idempotency_key="k-by-name", target="#ops-inventory")
    await sender(fake_slack).send(n)
    retried = await sender(fake_slack, InMemoryLedger()).send(n.model_copy(update={"attempt": 2}))
    assert retried.ok and retried.found_at_provider
    assert len(fake_slack.top_level("C0INVENTORY")) == 1
    assert len(fake_slack.calls_to("conversations.list")) == 1


async def test_a_retry_that_cannot_look_does_not_post_blind(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    """Slack down for the lookup too: the retry is retryable again, nothing is posted."""
    fake_slack.inject("conversations.history", Fault(status=503))
    n = notification(idempotency_key="k-blind", target="C0INVENTORY", attempt=2)
    delivery = await sender(fake_slack).send(n)
    assert not delivery.ok and delivery.retryable
    assert fake_slack.calls_to("chat.postMessage") == []
    again = await sender(fake_slack).send(n.model_copy(update={"attempt": 3}))
    assert again.ok and not again.found_at_provider
    assert len(fake_slack.top_level("C0INVENTORY")) == 1


async def test_a_first_attempt_posts_without_looking(
    fake_slack: FakeSlack, notification: NotificationFactory
) -> None:
    await sender(fake_slack).send(notification(idempotency_key="k-first", target="C0INVENTORY"))
    assert fake_slack.calls_to("conversations.history") == []
