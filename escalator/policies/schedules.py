"""On-call schedules: layers of rotations, restricted to time windows, and who is on call.

A role's ``schedule`` is a list of layers. Each layer is a rotation (``order``,
anchored at ``start``, handing off every ``handoff_every``) in an IANA time zone,
active only inside its ``windows`` (all the time without any). Where layers
overlap, the one listed **later** wins, so "business hours vs nights" or
"follow the sun" is a base layer plus layers on top.

Hand-offs of a whole number of days happen at the start's wall-clock time in the
layer's zone (09:00 stays 09:00 across daylight saving; a wall-clock time that does
not exist on the spring-forward day hands off when it would have, an hour later on
the clock; an ambiguous one at its first occurrence). Other periods (``12h``) count
elapsed time from ``start``. A rotation extends before its start too: ``start`` only
anchors who is first.

Who is on call is a pure function of the schedule, the overrides and the time
(:func:`on_call`, the definition; ``escalator.policies.schedule_sweep`` answers a whole
period at once by the same rules); the overrides and vacations come from the records database
(they are operational data, not policy). Precedence, highest first:

1. an override active at that instant (the one made last wins); one that
   ``covers`` a member applies only while that member would be on call;
2. the highest layer whose window contains the instant; a member away (vacation)
   is skipped and the next in that layer's order covers; a layer whose members
   are all away falls through to the layers below;
3. otherwise nobody: a gap (``policy check`` refuses gaps unless ``allow_gaps``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from escalator.policies.base import Name, PolicyModel
from escalator.policies.calendars import WEEKDAYS, Weekday, known_zone
from escalator.policies.duration import Duration

__all__ = [
    "Away",
    "Layer",
    "OnCall",
    "Override",
    "Schedule",
    "ShiftWindow",
    "decide",
    "gap_answer",
    "layer_answer",
    "offset_changes",
    "on_call",
]

DAY = timedelta(days=1)
_HOURS_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$"
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ShiftWindow(PolicyModel):
    """When a layer is active, in the layer's zone: ``days`` and ``hours``.

    ``hours`` ending at or before its start runs overnight into the next day
    (``17:00-09:00`` on ``fri`` covers Friday evening until Saturday 09:00)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    """Weekdays the window starts on (`mon` … `sun`); all days when left out."""
    hours: str = Field(default="00:00-24:00", pattern=_HOURS_PATTERN)
    """`HH:MM-HH:MM` in the layer's zone; an end at or before the start runs past midnight."""

    @cached_property
    def seconds(self) -> tuple[int, int]:
        """Start and end as seconds after midnight (end 86400 for 24:00)."""
        m = _HOURS.match(self.hours)
        assert m is not None  # the field pattern guarantees it
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        return h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60

    @cached_property
    def weekdays(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(d) for d in self.days)

    def contains(self, weekday: int, second: float) -> bool:
        start, end = self.seconds
        if start < end:
            return weekday in self.weekdays and start <= second < end
        # Overnight (or a full 24 hours from `start` when end == start).
        return (weekday in self.weekdays and second >= start) or (
            (weekday - 1) % 7 in self.weekdays and second < end
        )


class Layer(PolicyModel):
    """A rotation in an IANA zone, active inside its windows."""

    name: Name
    """The layer's name, shown in who-is-on-call answers and the timeline."""
    order: list[Name] = Field(min_length=1)
    """Member names in on-call order."""
    start: datetime
    """When `order[0]` takes over; without a UTC offset it is wall-clock time in `timezone`."""
    timezone: str
    """IANA zone of the hand-off time and the windows, e.g. `Europe/Amsterdam`."""
    handoff_every: Duration = timedelta(days=7)
    """`1d` daily, `7d` weekly, or any period; whole days hand off at the start's wall-clock time."""
    windows: list[ShiftWindow] = Field(default_factory=list)
    """When this layer is on call; always when left out."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return known_zone(v)

    @field_validator("handoff_every")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v < timedelta(minutes=1):
            raise ValueError("handoff_every must be at least 1m")
        return v

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def first_local(self) -> datetime:
        start = self.start
        if start.tzinfo is not None:
            start = start.astimezone(self.zone)
        return start.replace(tzinfo=None)

    @cached_property
    def first_utc(self) -> datetime:
        return _first_reaching(self.zone, self.first_local)

    @cached_property
    def wall_clock(self) -> bool:
        return self.handoff_every % DAY == timedelta(0)

    def handoff(self, k: int) -> datetime:
        """The instant (UTC) the ``k``-th hand-off after ``start`` happens."""
        if not self.wall_clock:
            return self.first_utc + k * self.handoff_every
        return _first_reaching(self.zone, self.first_local + k * self.handoff_every)

    def period(self, at: datetime) -> int:
        """How many hand-offs after ``start`` have happened at ``at`` (negative before it)."""
        at = at.astimezone(UTC)
        k = (at - self.first_utc) // self.handoff_every
        # Daylight saving moves a wall-clock hand-off by at most a few hours: adjust.
        while self.handoff(k + 1) <= at:
            k += 1
        while self.handoff(k) > at:
            k -= 1
        return k

    def active(self, at: datetime) -> bool:
        if not self.windows:
            return True
        local = at.astimezone(self.zone)
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        weekday = local.weekday()
        return any(w.contains(weekday, second) for w in self.windows)

    def edges(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every instant in [start, end) where this layer's activity or member may change."""
        k = self.period(start) + 1
        while (t := self.handoff(k)) < end:
            yield t
            k += 1
        if not self.windows:
            return
        first = start.astimezone(self.zone).date() - DAY
        last = end.astimezone(self.zone).date() + DAY
        for d in _days(first, last):
            for w in self.windows:
                for s in w.seconds:
                    for t in _wall_instants(self.zone, d, s):
                        if start <= t < end:
                            yield t
        # Where the clock jumps, a wall-clock window edge inside the jump takes effect.
        yield from offset_changes(self.zone, start, end)


class Schedule(PolicyModel):
    """Who of a role's members is on call when: layers, the later one winning."""

    layers: list[Layer] = Field(min_length=1)
    """Rotations, lowest first: where two are active, the one listed later is on call."""
    allow_gaps: bool = False
    """Times when no layer is active are intended (the role's channel is posted, nobody is paged by DM, SMS or voice); `policy check` refuses gaps otherwise."""

    @model_validator(mode="after")
    def _unique_layers(self) -> Schedule:
        names = [layer.name for layer in self.layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate layer names: {', '.join(dupes)}")
        return self

    def members(self) -> set[str]:
        return {n for layer in self.layers for n in layer.order}


@dataclass(frozen=True)
class Override:
    """``member`` is on call from ``starts_at`` until ``ends_at`` (in place of ``covers``
    only, when set)."""

    member: str
    starts_at: datetime
    ends_at: datetime
    covers: str | None = None
    id: str = ""
    created_by: str = ""

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class Away:
    """``member`` is away (vacation) from ``starts_at`` until ``ends_at``."""

    member: str
    starts_at: datetime
    ends_at: datetime
    id: str = ""

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class OnCall:
    """The answer to "who is on call": ``member`` (None in a gap) and why."""

    member: str | None
    why: str
    layer: str | None = None
    override: str | None = None
    skipped: tuple[str, ...] = field(default=())  # away members passed over
    override_by: str | None = None  # who made the override, when one decided
    timezone: str | None = None  # the zone of the layer (under an override: the layer's below)

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "why": self.why,
            "layer": self.layer,
            "override": self.override,
            "skipped": list(self.skipped),
            "override_by": self.override_by,
            "timezone": self.timezone,
        }


def on_call(schedule: Schedule, overrides: Sequence[Override | Away], at: datetime) -> OnCall:
    """Who is on call at ``at``; pure: the same inputs always give the same answer."""
    if at.tzinfo is None:
        raise ValueError("on_call needs an aware datetime")
    layers = schedule.layers

    def shift(i: int) -> int | None:
        layer = layers[i]
        return layer.period(at) if layer.active(at) else None

    return decide(schedule, overrides, at, shift)


def decide(
    schedule: Schedule,
    overrides: Sequence[Override | Away],
    at: datetime,
    shift: Callable[[int], int | None],
) -> OnCall:
    """The precedence rules (overrides, then layers with vacations skipped, then a gap),
    given ``shift(i)``: the hand-offs layer ``i`` has had at ``at``, None when it is not
    active then. :func:`on_call` reads the clock for it; the sweep
    (``escalator.policies.schedule_sweep``) its precomputed intervals, so both answer by
    the same rules."""
    away = {o.member for o in overrides if isinstance(o, Away) and o.active(at)}
    base = _scheduled(schedule, away, shift)
    for o in reversed(overrides):  # the one made last wins
        if not isinstance(o, Override) or not o.active(at):
            continue
        if o.covers is not None and o.covers not in (base.member, *base.skipped):
            continue
        until = o.ends_at.isoformat(timespec="minutes")
        instead = f" in place of {o.covers}" if o.covers else ""
        by = f" (made by {o.created_by})" if o.created_by else ""
        return OnCall(
            o.member,
            f"override {o.id or ''}{by}: {o.member}{instead} until {until}".replace("  ", " "),
            layer=base.layer,
            override=o.id or "override",
            skipped=base.skipped,
            override_by=o.created_by or None,
            timezone=base.timezone,
        )
    return base


def layer_answer(layer: Layer, k: int, name: str, skipped: Sequence[str] = ()) -> OnCall:
    """``name`` of layer ``layer`` is on call in its shift ``k`` (``skipped`` passed over
    as away)."""
    why = f"layer {layer.name} ({layer.timezone}), shift {k}"
    if skipped:
        why += f"; {', '.join(skipped)} away, next in order covers"
    return OnCall(name, why, layer=layer.name, skipped=tuple(skipped), timezone=layer.timezone)


def gap_answer(skipped: Sequence[str] = ()) -> OnCall:
    why = "nobody scheduled (a gap)"
    if skipped:
        why = f"{', '.join(skipped)} away and nobody else scheduled (a gap)"
    return OnCall(None, why, skipped=tuple(skipped))


def _scheduled(schedule: Schedule, away: set[str], shift: Callable[[int], int | None]) -> OnCall:
    skipped: list[str] = []
    for i in range(len(schedule.layers) - 1, -1, -1):
        k = shift(i)
        if k is None:
            continue
        layer = schedule.layers[i]
        n = len(layer.order)
        for j in range(n):
            name = layer.order[(k + j) % n]
            if name in away:
                if name not in skipped:
                    skipped.append(name)
                continue
            return layer_answer(layer, k, name, skipped)
    return gap_answer(skipped)


def _days(first: date, last: date) -> Iterable[date]:
    d = first
    while d <= last:
        yield d
        d += DAY


def _first_reaching(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first instant (UTC) the wall clock in ``zone`` reads ``wall`` or later: an
    ambiguous time's first occurrence; for a time the clock skips (spring forward),
    the moment of the jump."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # read with the old offset
    return next(offset_changes(zone, min(before, first), max(before, first) + DAY), first)


def _wall_instants(zone: ZoneInfo, d: date, second: int) -> set[datetime]:
    """The instants (UTC) the wall clock in ``zone`` reads ``d`` + ``second`` (both folds)."""
    base = datetime.combine(d, time(0)) + timedelta(seconds=second)
    return {base.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)} | {
        _first_reaching(zone, base)
    }


def offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Instants in [start, end) where ``zone``'s UTC offset changes (to the second)."""

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).utcoffset()

    t, stop = int(start.timestamp()), int(end.timestamp())
    step = 6 * 3600  # offsets change at most twice a year, never twice within hours
    while t < stop:
        nxt = min(t + step, stop)
        if offset(t) != offset(nxt):
            lo, hi = t, nxt  # offset(lo) != offset(hi): bisect to the first new second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == offset(lo):
                    lo = mid
                else:
                    hi = mid
            moment = datetime.fromtimestamp(hi, UTC)
            if start <= moment < end:
                yield moment
        t = nxt
