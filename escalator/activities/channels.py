"""The channel protocol every notification sender implements, and the console sender.

A sender delivers one `Notification` (one message, one target) and reports a
`Delivery`. Slack and SMS senders (the channels issue) implement the same
protocol; the console sender is the default when no credentials are set: it
prints what would have been sent. `CapturingSender` is the in-memory fake
tests use to assert who was told what, when.

Senders must be idempotent on ``Notification.idempotency_key``: the notify
activity may be retried after a partial failure.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TextIO, runtime_checkable

from escalator.policies.roles import Channel
from escalator.workflows.activity_contracts import Delivery, Notification, NotificationReason
from escalator.workflows.contracts import ExceptionStatus

__all__ = [
    "CapturingSender",
    "ChannelSender",
    "ConsoleSender",
    "Delivery",
    "Notification",
    "NotificationReason",
    "Sent",
    "delivered",
    "not_delivered",
    "render_text",
    "role_post",
]


def delivered(message: Notification, provider_id: str | None) -> Delivery:
    """The provider took ``message`` (its id, where it gives one, finds it again)."""
    return Delivery(
        ok=True, channel=message.channel, target=message.target, provider_message_id=provider_id
    )


def not_delivered(
    message: Notification, error: str, *, retryable: bool, wait: float | None = None
) -> Delivery:
    """The provider did not take ``message``; ``wait`` is its Retry-After, if retryable."""
    return Delivery(
        ok=False,
        channel=message.channel,
        target=message.target,
        error=error,
        retryable=retryable,
        retry_after=wait if retryable else None,
    )


@runtime_checkable
class ChannelSender(Protocol):
    """Delivers notifications on one kind of channel (``name``: slack, sms, console...)."""

    name: str

    async def send(self, message: Notification) -> Delivery:
        """Send a new message. Failures come back as ``Delivery(ok=False, ...)``;
        set ``retryable`` when trying again later may succeed (rate limit, 5xx)."""
        ...

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        """Refresh an earlier message in place (Slack ``chat.update``). Channels that
        cannot edit (SMS) send a short new message, or nothing, and say so."""
        ...


_HEADLINE: dict[str, str] = {
    "first": "New exception",
    "escalated": "Escalated to you",
    "informed": "Escalated further",
    "reminder": "Reminder",
    "reverted": "Acknowledgement lapsed",
    "reassigned": "Reassigned to you",
    "broadcast": "All escalation levels exhausted",
    "repeat": "Still unacknowledged, paging again",
    "update": "Update",
    "resolved": "Resolved",
    "ticket": "Ticket",
    "notify": "For your information",
    "storm": "Storm",
    "digest": "Digest",
    "handoff": "Shift hand-off",
}


def render_text(message: Notification) -> str:
    """Plain text every channel can fall back to (SMS body, console line, Slack fallback)."""
    s: ExceptionStatus = message.status
    if message.reason in ("digest", "handoff") and s.payload.get("summary"):
        return str(s.payload["summary"])
    if message.reason == "storm" and s.payload.get("summary"):
        return f"[Storm] {s.payload['summary']}; id {s.exception_id}"
    parts = [
        f"[{_HEADLINE.get(message.reason, message.reason)}] {s.journey}/{s.rule} "
        f"subject {s.subject} ({s.severity}, level {message.level}, role {message.role})",
        f"state {s.state.value}",
    ]
    if s.acknowledged_by:
        parts.append(f"acknowledged by {s.acknowledged_by}")
    if s.resolved_by:
        parts.append(f"resolved by {s.resolved_by}: {s.resolution_note or ''}".rstrip(": "))
    if s.ack_due and s.state.value == "open":
        parts.append(f"ack due {s.ack_due:%Y-%m-%d %H:%M} UTC")
    if s.occurrences > 1:
        parts.append(f"{s.occurrences} occurrences")
    if s.routing_reason:
        parts.append(s.routing_reason)
    parts.append(f"id {s.exception_id}")
    return "; ".join(parts)


@dataclass
class ConsoleSender:
    """Prints what would have been sent: the default without Slack/Twilio credentials."""

    name: str = "console"
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    _sent: dict[str, Delivery] = field(default_factory=dict)

    async def send(self, message: Notification) -> Delivery:
        if message.idempotency_key in self._sent:  # a retried activity must not print twice
            return self._sent[message.idempotency_key]
        print(
            f"escalator → {message.channel}:{message.target} {render_text(message)}",
            file=self.stream,
            flush=True,
        )
        delivery = Delivery(
            ok=True,
            channel=message.channel,
            target=message.target,
            provider_message_id=f"console:{message.idempotency_key}",
        )
        self._sent[message.idempotency_key] = delivery
        return delivery

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        print(
            f"escalator ⟳ {message.channel}:{message.target} (updates {provider_message_id}) "
            f"{render_text(message)}",
            file=self.stream,
            flush=True,
        )
        return Delivery(
            ok=True,
            channel=message.channel,
            target=message.target,
            provider_message_id=provider_message_id,
        )


@dataclass(frozen=True)
class Sent:
    """One captured message: what, to whom, and the worker's clock when it went out."""

    notification: Notification
    at: datetime
    updated: str | None = None  # provider message id, for in-place updates


@dataclass
class CapturingSender:
    """In-memory fake channel: keeps every message; optionally fails targets on purpose."""

    name: str = "console"
    sent: list[Sent] = field(default_factory=list)
    fail_targets: dict[str, bool] = field(default_factory=dict)  # target -> retryable?
    _by_key: dict[str, Delivery] = field(default_factory=dict)

    async def send(self, message: Notification) -> Delivery:
        if message.idempotency_key in self._by_key:
            return self._by_key[message.idempotency_key]
        if message.target in self.fail_targets:
            return Delivery(
                ok=False,
                channel=message.channel,
                target=message.target,
                error=f"target {message.target} refused the message",
                retryable=self.fail_targets[message.target],
            )
        self.sent.append(Sent(message, datetime.now(UTC)))
        delivery = Delivery(
            ok=True,
            channel=message.channel,
            target=message.target,
            provider_message_id=f"msg-{len(self.sent)}",
        )
        self._by_key[message.idempotency_key] = delivery
        return delivery

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        self.sent.append(Sent(message, datetime.now(UTC), updated=provider_message_id))
        return Delivery(
            ok=True,
            channel=message.channel,
            target=message.target,
            provider_message_id=provider_message_id,
        )

    def for_exception(self, exception_id: str) -> list[Notification]:
        return [s.notification for s in self.sent if s.notification.exception_id == exception_id]


def role_post(
    slack_channel: str | None, role: str, senders: Mapping[str, ChannelSender]
) -> tuple[Channel, str]:
    """Where a role's own message (its shift hand-off, its digest) goes: (channel, target),
    the role's Slack channel when it has one and the worker can post to Slack, else the
    console under the role's name."""
    if slack_channel and "slack" in senders:
        return "slack", slack_channel
    return "console", role
