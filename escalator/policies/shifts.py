"""Shifts: the stretches of time one member is on call for a role, overrides and
vacations applied.

A shift is what a person sees in a calendar or a hand-off message: "dirk is on call
for inventory from Mon 09:00 until Mon 09:00". It is cut from
:func:`escalator.policies.schedules.timeline`, with consecutive stretches of the same
member joined (a member on call in two layers back to back has one shift), so a shift
starts and ends exactly where the member on call changes (a hand-off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from escalator.policies.roles import OwnerRole
from escalator.policies.schedules import Away, OnCall, Override, timeline

__all__ = ["LOOK_BACK", "Shift", "shift_at", "shifts"]

# How far before a window's start a shift's real start is looked for: a shift that began
# longer ago starts, as far as the window is concerned, this long before it.
LOOK_BACK = timedelta(days=62)


@dataclass(frozen=True)
class Shift:
    """``member`` (None in a gap) is on call for ``role`` from ``start`` until ``end``;
    ``who`` is the answer at its start (layer, override, why)."""

    role: str
    member: str | None
    start: datetime
    end: datetime
    who: OnCall


def shifts(
    role: OwnerRole,
    changes: Sequence[Override | Away],
    start: datetime,
    end: datetime,
) -> list[Shift]:
    """The shifts of ``role`` overlapping [start, end), with their real starts and ends
    (up to ``LOOK_BACK`` before ``start`` and after ``end``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    schedule = role.effective_schedule(start)
    changed = timeline(schedule, changes, start - LOOK_BACK, end + LOOK_BACK)
    out: list[Shift] = []
    for i, (at, who) in enumerate(changed):
        until = changed[i + 1][0] if i + 1 < len(changed) else end + LOOK_BACK
        if out and out[-1].member == who.member:  # the same person, another layer: one shift
            out[-1] = Shift(role.name, who.member, out[-1].start, until, out[-1].who)
            continue
        out.append(Shift(role.name, who.member, at, until, who))
    return [s for s in out if s.end > start and s.start < end]


def shift_at(role: OwnerRole, changes: Sequence[Override | Away], at: datetime) -> Shift:
    """The shift under way at ``at``."""
    found = shifts(role, changes, at, at + timedelta(seconds=1))
    return found[0]
