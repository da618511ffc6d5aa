"""Heartbeat monitors (dead-man switches): a source that must be seen every so often.

A batch job, an integration or a journey's event feed beats (``POST /heartbeats/NAME``
on the receiver, or new events of the heartbeat's ``journey`` read by `detect --watch`); when no beat comes within ``every`` (counted in the calendar's open
hours when a calendar is given) the heartbeat's rule is raised for subject
``heartbeat:NAME`` through the normal routing and escalation; the next beat clears it.
"""

from __future__ import annotations

from pydantic import Field

from escalator.policies.base import Name, PolicyModel
from escalator.policies.duration import Duration

__all__ = ["HEARTBEAT_SUBJECT_PREFIX", "Heartbeat", "heartbeat_subject"]

HEARTBEAT_SUBJECT_PREFIX = "heartbeat:"


def heartbeat_subject(name: str) -> str:
    return f"{HEARTBEAT_SUBJECT_PREFIX}{name}"


class Heartbeat(PolicyModel):
    """A source that must be seen every `every`; a missed beat raises `rule`."""

    name: Name
    """The heartbeat's name, in `POST /heartbeats/NAME` and the exception's subject."""
    description: str = ""
    """Plain words for people: what stops when the beats stop."""
    every: Duration
    """The longest gap between two beats before the rule is raised."""
    rule: Name
    """The rule raised (subject `heartbeat:NAME`) when a beat is missed: its owner, severity and escalation apply."""
    calendar: Name | None = None
    """Count `every` in this calendar's open hours only (a nightly job need not beat at the weekend)."""
    journey: Name | None = None
    """Also beat on the journey's own events: each `detect --watch` poll that reads new ones beats."""
    events: list[str] = Field(default_factory=list)
    """With `journey`: only these event names beat; empty: any event of the journey."""
