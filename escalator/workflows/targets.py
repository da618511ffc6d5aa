"""Who gets a message, on which channel, at which address.

A level names a role and channels; the role's on-call member (rotation) is
the person paged by DM, SMS or voice, the role's Slack channel gets the
channel post. A channel with no address for this role is skipped and said so;
when nothing is left, the console target keeps the page from vanishing.
A ``webhook:NAME`` channel is a tool, not a person: its target is the webhook's
name, and the worker's webhook sender knows its URL and secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from escalator.policies.roles import Channel, LevelChannel, Member, OwnerRole
from escalator.policies.snapshot import ExceptionPolicy
from escalator.policies.webhooks import webhook_name
from escalator.workflows.constants import CHAT_CHANNELS

__all__ = [
    "Target",
    "member_targets",
    "quiet_channels",
    "role_targets",
    "sent_webhooks",
    "update_targets",
]


@dataclass(frozen=True)
class Target:
    role: str
    channel: Channel
    target: str
    member: str | None = None

    @property
    def key(self) -> str:
        return f"{self.role}|{self.channel}|{self.target}"


def _address(role: OwnerRole, member: Member, channel: Channel) -> tuple[str | None, str | None]:
    if channel == "slack":
        return role.slack_channel, None
    if channel == "slack_dm":
        return member.slack_user_id, member.name
    if channel in ("sms", "voice"):
        return member.phone, member.name
    return role.name, member.name  # console


def _person_channel(channel: LevelChannel) -> Channel:
    if channel in ("slack", "slack_dm", "sms", "voice", "console"):
        return channel
    raise ValueError(f"not a person's channel: {channel!r}")


def quiet_channels(channels: list[LevelChannel]) -> list[LevelChannel]:
    """A level's channels for a notification (a notify-routed exception, or a storm of
    them): SMS and voice dropped, webhooks kept (they page nobody); a level left with
    none of these posts to Slack."""
    quiet = [c for c in channels if c in CHAT_CHANNELS or webhook_name(c) is not None]
    return quiet or ["slack"]


def role_targets(
    policy: ExceptionPolicy,
    role_name: str,
    channels: Iterable[LevelChannel],
    at: datetime,
    on_call: str | None = None,
    *,
    fallback: bool = True,
) -> tuple[list[Target], list[str]]:
    """Targets for paging ``role_name`` now, and the channels skipped (with why).
    ``on_call`` names the member resolved at the level's start (schedule, overrides,
    vacations); without it, the policy's rotation at ``at``. Without ``fallback`` an
    empty list stays empty (the caller has targets of its own: a member's rule)."""
    role = policy.role(role_name)
    member = role.member(on_call) or role.on_call(at)
    targets: list[Target] = []
    skipped: list[str] = []
    for level_channel in channels:
        hook = webhook_name(level_channel)
        if hook is not None:
            targets.append(Target(role.name, "webhook", hook))
            continue
        channel = _person_channel(level_channel)
        address, person = _address(role, member, channel)
        if address is None:
            skipped.append(f"{channel}: no address for {person or role.name} in role {role.name}")
            continue
        targets.append(Target(role.name, channel, address, person))
    if not targets and fallback:
        targets.append(Target(role.name, "console", role.name, member.name))
    return targets, skipped


def member_targets(
    policy: ExceptionPolicy, member_name: str, channels: Iterable[LevelChannel]
) -> list[Target]:
    """A person directly (a reminder to whoever acknowledged): DM, SMS or console."""
    for role in policy.roles.values():
        member = next((m for m in role.members if m.name == member_name), None)
        if member is None:
            continue
        targets = []
        for level_channel in channels:
            if webhook_name(level_channel) is not None:
                continue  # a reminder is for the person, not for a tool
            channel = _person_channel(level_channel)
            if channel == "slack":
                channel = "slack_dm"  # remind the person, not the whole channel
            address, person = _address(role, member, channel)
            if address is not None and person is not None:
                targets.append(Target(role.name, channel, address, person))
        unique = list({t.key: t for t in targets}.values())
        return unique or [Target(role.name, "console", member.name, member.name)]
    return []


def update_targets(policy: ExceptionPolicy, roles: Iterable[str]) -> list[Target]:
    """Roles kept in the loop: their Slack channel (updated in place), else the console."""
    targets = []
    for name in roles:
        role = policy.roles.get(name)
        if role is None:
            continue
        if role.slack_channel:
            targets.append(Target(name, "slack", role.slack_channel))
        else:
            targets.append(Target(name, "console", name))
    return targets


def sent_webhooks(messages: Mapping[str, str], *, besides: Iterable[Target] = ()) -> list[Target]:
    """The webhooks this exception delivered a page to (``messages``: role|channel|target ->
    the tool's id, kept when the tool answered 2xx), in the order they were first sent: one
    per webhook name, also when two roles' levels named it (one event per state change).
    A webhook already in ``besides`` (the batch being sent) is left out."""
    names = {t.target for t in besides if t.channel == "webhook"}
    found: list[Target] = []
    for key in messages:
        role, channel, target = key.split("|", 2)
        if channel == "webhook" and target not in names:
            names.add(target)
            found.append(Target(role, "webhook", target))
    return found
