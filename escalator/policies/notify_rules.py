"""Personal notification rules: how a member wants to be reached, per urgency.

A member of an owner role may list **steps** for a page and for a notification
(``notify: {page: [...], notify: [...]}``): each step a channel of their own
(``slack_dm``, ``sms``, ``voice``) and how long ``after`` the page it goes out.
The EscalationWorkflow follows them with durable timers, within the channels
the escalation level allows; an acknowledgement stops the remaining steps
(`escalator/workflows/personal_steps.py`, docs/escalation.md).
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from itertools import pairwise
from typing import Literal

from pydantic import Field, field_validator

from escalator.policies.base import PolicyModel
from escalator.policies.duration import Duration, format_duration

__all__ = ["PERSONAL_CHANNELS", "NotifyRules", "NotifyStep", "PersonalChannel", "Urgency"]

# A member's own channels: the role's Slack channel, the console and webhooks are the
# level's, not a person's, so a personal rule cannot ask for them.
PersonalChannel = Literal["slack_dm", "sms", "voice"]
PERSONAL_CHANNELS: tuple[PersonalChannel, ...] = ("slack_dm", "sms", "voice")
# What routing made of the exception: a page (the escalation in full) or a notification
# (chat only, slower). A ticket interrupts nobody, so it has no steps.
Urgency = Literal["page", "notify"]
MAX_STEPS = 10
MAX_AFTER = timedelta(days=1)


class NotifyStep(PolicyModel):
    """One step of a member's rule: a channel, and when after the page it goes out."""

    channel: PersonalChannel
    """`slack_dm`, `sms` or `voice`: the member's own channel (`slack` posts to the role's channel, which the level does)."""
    after: Duration = timedelta(0)
    """How long after the page this step goes out (`0s`, the default: at once; at most `1d`)."""

    @field_validator("channel", mode="before")
    @classmethod
    def _known_channel(cls, v: object) -> object:
        if isinstance(v, str) and v not in PERSONAL_CHANNELS:
            hint = ""
            if v == "slack":
                hint = " ('slack' posts to the role's channel, which the level does; use slack_dm)"
            elif close := difflib.get_close_matches(v, PERSONAL_CHANNELS, n=1):
                hint = f" (did you mean {close[0]!r}?)"
            raise ValueError(
                f"unknown channel {v!r} for a personal step{hint}; "
                f"expected one of: {', '.join(PERSONAL_CHANNELS)}"
            )
        return v

    @field_validator("after")
    @classmethod
    def _bounded(cls, v: timedelta) -> timedelta:
        if v > MAX_AFTER:
            raise ValueError(
                f"a step after {format_duration(v)} is past the longest of "
                f"{format_duration(MAX_AFTER)}; the escalation has moved on long before"
            )
        return v


def _in_order(steps: list[NotifyStep] | None) -> list[NotifyStep] | None:
    if not steps:
        return steps
    for i, (prev, step) in enumerate(pairwise(steps), start=2):
        if step.after < prev.after:
            raise ValueError(
                f"steps out of order: step {i} ({step.channel} after "
                f"{format_duration(step.after)}) comes before step {i - 1} ({prev.channel} "
                f"after {format_duration(prev.after)}); list the steps in the order they go out"
            )
    return steps


class NotifyRules(PolicyModel):
    """How a member wants to be reached: steps for a page, steps for a notification (at
    most 10 each); an urgency without steps reaches the member as the level says."""

    page: list[NotifyStep] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)
    """Steps when the exception pages (routing `page`, a broadcast), in the order they go out."""
    notify: list[NotifyStep] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)
    """Steps when the exception only notifies (routing `notify`: chat only, so `sms` and `voice` are skipped)."""

    @field_validator("page", "notify")
    @classmethod
    def _ordered(cls, v: list[NotifyStep] | None) -> list[NotifyStep] | None:
        return _in_order(v)

    def steps(self, urgency: Urgency) -> list[NotifyStep] | None:
        return self.page if urgency == "page" else self.notify
