"""The inbox: what the EscalationWorkflow's handlers leave for its main loop.

A handler answers at once (it changed the state already) and leaves an event;
the loop does the slow part (pages, messages, records) after the answer. An
event wakes the loop; some also tell it what to send. Carried over
continue-as-new as ``(kind, actor)`` pairs, the shape recorded histories carry.
No Temporal calls here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from escalator.workflows.carried import InboxPair

__all__ = [
    "Acknowledged",
    "EscalateNow",
    "Inbox",
    "InboxEvent",
    "NoteAdded",
    "Occurred",
    "PolicyApplied",
    "Reassigned",
    "Resolved",
    "Snoozed",
    "StormEscalatedHere",
]


@dataclass(frozen=True)
class _Response:
    """An owner's response, applied by its update handler."""

    kind: ClassVar[str]
    actor: str


@dataclass(frozen=True)
class Acknowledged(_Response):
    kind: ClassVar[str] = "acknowledged"


@dataclass(frozen=True)
class Snoozed(_Response):
    kind: ClassVar[str] = "snoozed"


@dataclass(frozen=True)
class Resolved(_Response):
    kind: ClassVar[str] = "resolved"


@dataclass(frozen=True)
class Reassigned(_Response):
    kind: ClassVar[str] = "reassigned"


@dataclass(frozen=True)
class EscalateNow(_Response):
    kind: ClassVar[str] = "escalate_now"


@dataclass(frozen=True)
class NoteAdded(_Response):
    kind: ClassVar[str] = "note"


@dataclass(frozen=True)
class PolicyApplied(_Response):
    kind: ClassVar[str] = "policy"


@dataclass(frozen=True)
class Occurred:
    """Another detection of the open exception was counted."""

    kind: ClassVar[str] = "occurred"


@dataclass(frozen=True)
class StormEscalatedHere:
    """The storm this exception joined escalated, and it was recorded here."""

    kind: ClassVar[str] = "storm"


InboxEvent = (
    Acknowledged
    | Snoozed
    | Resolved
    | Reassigned
    | EscalateNow
    | NoteAdded
    | PolicyApplied
    | Occurred
    | StormEscalatedHere
)
_RESPONSES: dict[str, Callable[[str], InboxEvent]] = {
    Acknowledged.kind: Acknowledged,
    Snoozed.kind: Snoozed,
    Resolved.kind: Resolved,
    Reassigned.kind: Reassigned,
    EscalateNow.kind: EscalateNow,
    NoteAdded.kind: NoteAdded,
    PolicyApplied.kind: PolicyApplied,
}
_WAKES: dict[str, InboxEvent] = {e.kind: e for e in (Occurred(), StormEscalatedHere())}


def to_pair(event: InboxEvent) -> InboxPair:
    return event.kind, event.actor if isinstance(event, _Response) else None


def from_pair(pair: InboxPair) -> InboxEvent:
    kind, actor = pair
    if kind in _WAKES:
        return _WAKES[kind]
    if kind not in _RESPONSES or actor is None:
        raise ValueError(f"not an inbox event: {pair!r}")
    return _RESPONSES[kind](actor)


class Inbox:
    """Events in arrival order. One object for the run: handlers put, the loop takes."""

    def __init__(self, pairs: list[InboxPair] | None = None) -> None:
        self._events: list[InboxEvent] = [from_pair(p) for p in pairs or []]

    def __bool__(self) -> bool:
        return bool(self._events)

    def put(self, event: InboxEvent) -> None:
        self._events.append(event)

    def take(self) -> InboxEvent:
        return self._events.pop(0)

    def clear(self) -> None:
        self._events.clear()

    def drop(self, *kinds: type[InboxEvent]) -> None:
        self._events = [e for e in self._events if not isinstance(e, kinds)]

    def pairs(self) -> list[InboxPair]:
        return [to_pair(e) for e in self._events]
