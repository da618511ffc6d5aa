"""Who is on call over a whole period, by an interval sweep: the timeline of a schedule.

:func:`escalator.policies.schedules.on_call` answers one instant and stays the single
definition of who is on call. Asking it at every candidate edge of a year costs ~1,100
calls a role (a zone conversion per layer and a hand-off search each), far too slow for
many roles. The sweep builds the same answers from intervals instead:

1. per layer, the instants it is active (its windows, read wall-clock in its zone) and
   its shifts (the hand-offs), both as intervals in UTC microseconds: the zone's UTC
   offset is constant between two daylight-saving changes, so a wall-clock interval
   maps to UTC by one subtraction inside each such stretch (a wall-clock time the clock
   skips maps to the jump, one it reads twice to both readings, as ``on_call`` reads
   them);
2. overlaid by precedence: the highest layer where it is active, the next one below
   where it is not, a gap where none is;
3. overrides and vacations: inside the periods they span, each change is answered by
   the same precedence rules ``on_call`` uses (:func:`~escalator.policies.schedules.decide`),
   fed with the layers' precomputed shifts.

``tests/policies/test_schedules.py`` checks with property tests that the sweep answers
the same member as ``on_call`` at random instants and at every boundary, across
daylight-saving changes in several zones.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import ne
from typing import cast
from zoneinfo import ZoneInfo

from escalator.policies.roles import OwnerRole
from escalator.policies.schedules import (
    Away,
    Layer,
    OnCall,
    Override,
    Schedule,
    decide,
    gap_answer,
    layer_answer,
    offset_changes,
)

__all__ = ["Timeline", "gaps", "next_handoffs", "on_call_at", "sweep", "timeline"]

US = 1_000_000
DAY_US = 86_400 * US
WEEK_US = 7 * DAY_US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = datetime(1970, 1, 1)
PAD = timedelta(days=2)  # a local day reaches at most ~26 h either side of UTC's

# A base answer: (member, layer index, shift) from the overlay; None for a gap. Answers
# inside overrides and vacations are OnCall objects, made by `decide`.
Base = tuple[str, int, int] | None


def _us(t: datetime) -> int:
    return (t - EPOCH) // timedelta(microseconds=1)


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@lru_cache(maxsize=512)
def _segments(zone_key: str, lo: int, hi: int) -> tuple[tuple[int, int, int], ...]:
    """``(start, end, UTC offset)`` in µs covering [lo, hi): the zone's offset is constant
    in each (cached: many layers share a zone and a period)."""
    zone = ZoneInfo(zone_key)
    cuts = [lo, *(_us(t) for t in offset_changes(zone, _dt(lo), _dt(hi))), hi]
    out = []
    for a, b in itertools.pairwise(cuts):
        off = _dt(a).astimezone(zone).utcoffset()
        assert off is not None
        out.append((a, b, off // timedelta(microseconds=1)))
    return tuple(out)


def _handoffs(
    layer: Layer, segments: Sequence[tuple[int, int, int]], k0: int, hi: int
) -> list[int]:
    """The layer's hand-offs after its shift ``k0`` (the one running at the start) until
    ``hi``, in µs."""
    k = k0 + 1
    every = layer.handoff_every // timedelta(microseconds=1)
    if not layer.wall_clock:
        first = _us(layer.first_utc) + k * every
        return list(range(first, hi, every)) if first < hi else []
    # A wall-clock hand-off happens at the first instant the local clock reads its time
    # or later (as ``schedules._first_reaching``): in the first stretch whose readings
    # reach past it, at that reading, or at the stretch's start when the clock skipped it.
    # Readings and hand-offs both only grow, so the stretch only moves forward.
    wall = (layer.first_local - NAIVE_EPOCH) // timedelta(microseconds=1) + k * every
    out: list[int] = []
    for a, b, off in segments:
        limit = b + off  # readings of this stretch end here
        if wall >= limit:
            continue
        # The first may fall where the clock skipped (clamped to the jump); whole-day
        # periods are longer than any jump, so the rest read normally in this stretch.
        t = max(a, wall - off)
        if t >= hi:
            return out
        out.append(t)
        wall += every
        if wall < limit:
            n = max((min(limit, hi + off) - wall + every - 1) // every, 0)
            out.extend(range(wall - off, wall - off + n * every, every))
            wall += n * every
            if wall - off >= hi:
                return out
    return out  # the stretches reach PAD past hi: no hand-off before hi is left


def _week(layer: Layer) -> list[tuple[int, int]]:
    """The layer's windows over one week of wall-clock time, µs from Monday 00:00,
    merged (an overnight window reaches into the next week)."""
    local = []
    for w in layer.windows:
        s, e = w.seconds
        length = (e - s if s < e else 86_400 + e - s) * US
        for day in w.weekdays:
            local.append((day * DAY_US + s * US, day * DAY_US + s * US + length))
    return _merged(sorted(local))


def _active(
    layer: Layer, segments: Sequence[tuple[int, int, int]], lo: int, hi: int
) -> list[tuple[int, int]]:
    """The UTC intervals in [lo, hi) the layer's windows are open, merged."""
    if not layer.windows:
        return [(lo, hi)]
    zone = layer.zone
    first: date = _dt(lo).astimezone(zone).date() - timedelta(days=8)
    first -= timedelta(days=first.weekday())  # a Monday: the weeks repeat from it
    weeks = ((_dt(hi).astimezone(zone).date() - first).days + 8) // 7 + 1
    monday = (datetime.combine(first, datetime.min.time()) - NAIVE_EPOCH) // timedelta(
        microseconds=1
    )
    template = _week(layer)
    if not template:
        return []
    local = [
        (monday + w * WEEK_US + x, monday + w * WEEK_US + y)
        for w in range(weeks)
        for x, y in template
    ]
    if template[-1][1] >= WEEK_US + template[0][0]:  # touches the next week's first window
        local = _merged(local)
    starts = [x for x, _ in local]
    out: list[tuple[int, int]] = []
    for a, b, off in segments:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        # This stretch reads [a + off, b + off) on the wall clock: the windows inside it.
        i = max(bisect_right(starts, a + off) - 1, 0)
        j = bisect_right(starts, b + off)
        part = [(x - off, y - off) for x, y in local[i:j]]
        if not part:
            continue
        part[0] = (max(part[0][0], a), part[0][1])
        part[-1] = (part[-1][0], min(part[-1][1], b))
        part = [(x, y) for x, y in part if x < y]
        if part and out and part[0][0] <= out[-1][1]:  # one window across the change
            out[-1] = (out[-1][0], max(out[-1][1], part[0][1]))
            part = part[1:]
        out += part
    return out


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in intervals:
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _pieces(
    active: list[tuple[int, int]], handoffs: list[int], k0: int
) -> list[tuple[int, int, int]]:
    """``(start, end, shift)`` where the layer is active, split at its hand-offs."""
    out = []
    j, n = 0, len(handoffs)
    for a, b in active:
        while j < n and handoffs[j] <= a:
            j += 1
        t = a
        while j < n and handoffs[j] < b:
            out.append((t, handoffs[j], k0 + j))
            t = handoffs[j]
            j += 1
        out.append((t, b, k0 + j))
    return out


def _complement(covered: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) without ``covered`` (sorted, disjoint, inside [lo, hi))."""
    bounds = [lo, *(t for ab in covered for t in ab), hi]
    return [
        (bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2) if bounds[i] < bounds[i + 1]
    ]


def _within(
    pieces: list[tuple[int, int, int]], free: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """``pieces`` (sorted, disjoint) clipped to ``free`` (sorted, disjoint)."""
    out = []
    starts = [p[0] for p in pieces]
    n = len(pieces)
    for a, b in free:
        i = bisect_right(starts, a) - 1
        if i < 0:
            i = 0
        while i < n:
            x, y, k = pieces[i]
            if x >= b:
                break
            if y > a:
                out.append((x if x > a else a, y if y < b else b, k))
            i += 1
    return out


@dataclass(frozen=True)
class _Layered:
    """A layer's shifts where it is active: starts (for bisect) and pieces."""

    starts: list[int]
    pieces: list[tuple[int, int, int]]

    def shift(self, t: int) -> int | None:
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return None
        _a, b, k = self.pieces[i]
        return k if t < b else None


class Timeline:
    """Who is on call from ``start`` until ``end``: the instants (µs) each answer starts.

    Answers stay compact until asked for (:meth:`at`, :meth:`changes`): a year of a
    role is a few hundred of them, a thousand roles' a few hundred thousand."""

    def __init__(
        self,
        schedule: Schedule,
        start: datetime,
        end: datetime,
        starts: list[int],
        answers: list[Base | OnCall],
    ) -> None:
        self.schedule, self.start, self.end = schedule, start, end
        self._starts, self._answers = starts, answers

    def __len__(self) -> int:
        return len(self._starts)

    def _answer(self, a: Base | OnCall) -> OnCall:
        if isinstance(a, OnCall):
            return a
        if a is None:
            return gap_answer()
        member, i, k = a
        return layer_answer(self.schedule.layers[i], k, member)

    def at(self, t: datetime) -> OnCall:
        """Who is on call at ``t`` (within [start, end)): as ``on_call`` answers."""
        us = _us(t.astimezone(UTC))
        if not self._starts or us < self._starts[0] or t >= self.end:
            raise ValueError(f"{t.isoformat()} is outside the timeline")
        return self._answer(self._answers[bisect_right(self._starts, us) - 1])

    def changes(self) -> list[tuple[datetime, OnCall]]:
        """(from, answer) at each change of member, layer, override or members skipped as
        away; each answer holds until the next (its ``why`` names the shift it began in)."""
        return [(_dt(t), self._answer(a)) for t, a in zip(self._starts, self._answers, strict=True)]

    def members(self) -> list[str | None]:
        """The member of each change, without building the answers."""
        return [a.member if isinstance(a, OnCall) else (a[0] if a else None) for a in self._answers]


def sweep(
    schedule: Schedule,
    overrides: Sequence[Override | Away],
    start: datetime,
    end: datetime,
) -> Timeline:
    """Who is on call from ``start`` until ``end``, by intervals (see the module doc)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the sweep needs aware datetimes")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    lo, hi = _us(start), _us(end)
    if hi <= lo:
        return Timeline(schedule, start, end, [], [])
    pad = PAD // timedelta(microseconds=1)
    layered: list[_Layered] = []
    actives: list[list[tuple[int, int]]] = []
    for layer in schedule.layers:
        segments = _segments(layer.timezone, lo - pad, hi + pad)
        k0 = layer.period(start)
        active = _active(layer, segments, lo, hi)
        pieces = _pieces(active, _handoffs(layer, segments, k0, hi), k0)
        layered.append(_Layered([p[0] for p in pieces], pieces))
        actives.append(active)

    # Overlay: the highest layer where it is active, then the next below, then gaps.
    free = [(lo, hi)]
    covered: list[tuple[int, int]] = []
    spans: list[tuple[int, int, int, int]] = []  # (start, end, layer index or -1, shift)
    for i in range(len(layered) - 1, -1, -1):
        if not free:
            break
        pieces = layered[i].pieces
        if covered:
            pieces = _within(pieces, free)
        spans += [(a, b, i, k) for a, b, k in pieces]
        covered = _merged(sorted(covered + actives[i])) if covered else actives[i]
        free = _complement(covered, lo, hi)
    spans += [(a, b, -1, 0) for a, b in free]
    spans.sort()  # disjoint: the starts decide
    orders = [layer.order for layer in schedule.layers]

    def base(i: int, k: int) -> Base:
        return (orders[i][k % len(orders[i])], i, k) if i >= 0 else None

    starts: list[int] = []
    answers: list[Base | OnCall] = []
    changed = _changed_periods(overrides, lo, hi)
    if not changed:
        # Keep the spans whose (layer, member) differs from the one before, as `timeline`
        # lists changes; comprehensions, as this runs for every span of every role.
        sizes = [len(o) for o in orders]
        keys = [(i, orders[i][k % sizes[i]]) if i >= 0 else (-1, None) for _, _, i, k in spans]
        kept = [True, *map(ne, keys[1:], keys[:-1])]
        starts = [sp[0] for sp, keep in zip(spans, kept, strict=True) if keep]
        answers = cast(
            list[Base | OnCall],
            [
                (key[1], key[0], sp[3]) if key[0] >= 0 else None
                for sp, key, keep in zip(spans, keys, kept, strict=True)
                if keep
            ],
        )
        return Timeline(schedule, start, end, starts, answers)

    names = [layer.name for layer in schedule.layers]

    def key(a: Base | OnCall) -> tuple[str | None, str | None, str | None, tuple[str, ...]]:
        if isinstance(a, OnCall):
            return a.member, a.layer, a.override, a.skipped
        return (a[0], names[a[1]], None, ()) if a is not None else (None, None, None, ())

    def add(t: int, a: Base | OnCall) -> None:
        if answers and key(answers[-1]) == key(a):
            return
        starts.append(t)
        answers.append(a)

    # Inside the periods overrides and vacations span, every boundary is answered by the
    # precedence rules themselves, fed with the layers' shifts.
    edges = sorted(
        {_us(t.astimezone(UTC)) for o in overrides for t in (o.starts_at, o.ends_at)}
        | {t for lay in layered for p in lay.pieces for t in p[:2]}
    )
    ci = 0
    for a, b, i, k in spans:
        who = base(i, k)
        t = a
        while t < b:
            while ci < len(changed) and changed[ci][1] <= t:
                ci += 1
            if ci == len(changed) or changed[ci][0] >= b:
                add(t, who)  # the rest of the span: as the overlay says
                break
            c0, c1 = changed[ci]
            if c0 > t:
                add(t, who)
                t = c0
            stop = min(c1, b)
            add(t, _decided(schedule, layered, overrides, t))
            i = bisect_right(edges, t)
            while i < len(edges) and edges[i] < stop:
                add(edges[i], _decided(schedule, layered, overrides, edges[i]))
                i += 1
            t = stop
    return Timeline(schedule, start, end, starts, answers)


def _decided(
    schedule: Schedule,
    layered: list[_Layered],
    overrides: Sequence[Override | Away],
    t: int,
) -> OnCall:
    return decide(schedule, overrides, _dt(t), lambda i: layered[i].shift(t))


def _changed_periods(
    overrides: Sequence[Override | Away], lo: int, hi: int
) -> list[tuple[int, int]]:
    """The merged periods in [lo, hi) some override or vacation spans."""
    spans = []
    for o in overrides:
        a, b = max(_us(o.starts_at.astimezone(UTC)), lo), min(_us(o.ends_at.astimezone(UTC)), hi)
        if a < b:
            spans.append((a, b))
    return _merged(sorted(spans))


def timeline(
    schedule: Schedule,
    overrides: Sequence[Override | Away],
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, OnCall]]:
    """Who is on call from ``start`` until ``end``: (from, answer) at each change."""
    return sweep(schedule, overrides, start, end).changes()


def next_handoffs(
    schedule: Schedule,
    overrides: Sequence[Override | Away],
    at: datetime,
    count: int = 3,
    horizon: timedelta = timedelta(days=62),
) -> list[tuple[datetime, OnCall]]:
    """The next ``count`` changes of who is on call after ``at`` (within ``horizon``)."""
    changes = timeline(schedule, overrides, at, at + horizon)
    out = []
    current = changes[0][1].member if changes else None
    for t, who in changes[1:]:
        if who.member != current:
            out.append((t, who))
            current = who.member
            if len(out) == count:
                break
    return out


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The periods in [start, end) when no layer is active (nobody on call)."""
    line = sweep(schedule, [], start, end)
    members = line.members()
    bounds = [*line._starts[1:], _us(line.end)]
    return [
        (_dt(t), _dt(u))
        for t, u, who in zip(line._starts, bounds, members, strict=True)
        if who is None
    ]


def on_call_at(
    role: OwnerRole, overrides: Sequence[Override | Away], times: Sequence[datetime]
) -> dict[datetime, OnCall]:
    """Who of ``role`` is on call at each of ``times`` (as ``role.who`` answers each), from
    one sweep over their span."""
    if not times:
        return {}
    first, last = min(times), max(times)
    schedule = role.effective_schedule(first)
    if schedule != role.effective_schedule(last):  # a rotation starts within the span
        return {t: role.who(t, overrides) for t in times}
    line = sweep(schedule, overrides, first, last + timedelta(microseconds=1))
    return {t: line.at(t) for t in times}
