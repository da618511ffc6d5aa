"""On-call schedules: who is on call, checked against independent oracles.

The oracles below do not share code with ``escalator.policies.schedules``: a
hand-off is found by scanning minutes for the first one whose wall clock reaches
the hand-off time, and a window by reading the wall clock minute of the week.
The instants are drawn around the daylight-saving changes of several zones.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_counts import count

from escalator.policies.schedule_sweep import gaps, next_handoffs, sweep, timeline
from escalator.policies.schedules import Away, Layer, Override, Schedule, on_call

ZONES = ["Europe/Amsterdam", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
# Daylight-saving changes in 2026 (UTC) of the zones above that have them.
CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York spring
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Amsterdam spring
    datetime(2026, 4, 4, 16, tzinfo=UTC),  # Sydney autumn
    datetime(2026, 10, 3, 16, tzinfo=UTC),  # Sydney spring
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # Amsterdam autumn
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York autumn
]
PEOPLE = ["anna", "bram", "chloe", "dirk", "eva"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def windows(draw: st.DrawFn) -> dict[str, object]:
    start = draw(st.integers(0, 47)) * 30
    end = draw(st.integers(0, 48)) * 30
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    return {"days": days, "hours": f"{_hhmm(start)}-{_hhmm(end) if end < 1440 else '24:00'}"}


@st.composite
def layers(draw: st.DrawFn, i: int) -> dict[str, object]:
    hour = draw(st.integers(0, 23))
    minute = draw(st.sampled_from([0, 30]))
    return {
        "name": f"l{i}",
        "order": draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4, unique=True)),
        "start": f"2026-01-0{draw(st.integers(1, 7))}T{hour:02d}:{minute:02d}:00",
        "timezone": draw(st.sampled_from(ZONES)),
        "handoff_every": draw(st.sampled_from(["1d", "7d", "3d", "12h", "8h"])),
        "windows": draw(st.lists(windows(), max_size=2)),
    }


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    n = draw(st.integers(1, 3))
    return Schedule.model_validate(
        {"layers": [draw(layers(i)) for i in range(n)], "allow_gaps": True}
    )


instants = st.builds(
    lambda change, minutes: change + timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(-3 * 1440, 3 * 1440),
)


def _oracle_active(layer: Layer, at: datetime) -> bool:
    if not layer.windows:
        return True
    local = at.astimezone(ZoneInfo(layer.timezone))
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    for w in layer.windows:
        h1, m1 = (int(x) for x in w.hours[:5].split(":"))
        h2, m2 = (int(x) for x in w.hours[6:].split(":"))
        length = (h2 * 60 + m2 - h1 * 60 - m1) % 1440 or 1440
        for day in w.days:
            begin = DAYS.index(day) * 1440 + h1 * 60 + m1
            if (minute - begin) % (7 * 1440) < length:
                return True
    return False


def _oracle_handoff(layer: Layer, k: int) -> datetime:
    """Scan minutes for the first whose wall clock reaches the k-th hand-off time."""
    zone = ZoneInfo(layer.timezone)
    start = layer.start.replace(tzinfo=None)
    if layer.handoff_every % timedelta(days=1):
        first = start.replace(tzinfo=zone).astimezone(UTC)
        assert first.astimezone(zone).replace(tzinfo=None) == start  # starts are never skipped
        return first + k * layer.handoff_every
    wall = start + k * layer.handoff_every
    t = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    while t.astimezone(zone).replace(tzinfo=None) < wall:
        t += timedelta(
            minutes=30 if t.astimezone(zone).replace(tzinfo=None) < wall - timedelta(hours=1) else 1
        )
    return t


def _oracle_member(layer: Layer, at: datetime, away: set[str]) -> str | None:
    k = int((at - _oracle_handoff(layer, 0)) / layer.handoff_every)
    while _oracle_handoff(layer, k + 1) <= at:
        k += 1
    while _oracle_handoff(layer, k) > at:
        k -= 1
    n = len(layer.order)
    for j in range(n):
        name = layer.order[(k + j) % n]
        if name not in away:
            return name
    return None


def _oracle(schedule: Schedule, at: datetime, away: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    for layer in reversed(schedule.layers):
        if _oracle_active(layer, at):
            who = _oracle_member(layer, at, away)
            if who is not None:
                return who
    return None


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(schedules(), st.lists(instants, min_size=1, max_size=6))
def test_exactly_one_member_or_a_gap_across_daylight_saving(
    schedule: Schedule, moments: list[datetime]
) -> None:
    count("schedule instants")
    for at in moments:
        who = on_call(schedule, [], at)
        assert who.member == _oracle(schedule, at), (at, who)
        if who.member is not None:
            layer = next(x for x in schedule.layers if x.name == who.layer)
            assert who.member in layer.order
        else:
            assert not any(x.active(at) for x in schedule.layers)


@PROPS
@given(schedules(), st.sampled_from(CHANGES), st.data())
def test_timeline_is_exact_between_its_changes(
    schedule: Schedule, change: datetime, data: st.DataObject
) -> None:
    """Every instant between two changes of the timeline has the answer of the first:
    the changes (and so the gaps `policy check` reports) miss no edge."""
    count("schedule timelines")
    start, end = change - timedelta(days=2), change + timedelta(days=2)
    changes = timeline(schedule, [], start, end)
    assert changes[0][0] == start
    for (t, who), (nxt, _) in zip(changes, [*changes[1:], (end, None)], strict=True):
        assert t < nxt
        offsets = data.draw(st.lists(st.floats(0, 1, exclude_max=True), max_size=3))
        for f in [0.0, *offsets]:
            at = min(
                t + timedelta(microseconds=int((nxt - t) / timedelta(microseconds=1) * f)),
                nxt - timedelta(microseconds=1),
            )
            assert on_call(schedule, [], at).member == who.member, (t, at, nxt)
    found = gaps(schedule, start, end)
    for g_start, g_end in found:
        assert on_call(schedule, [], g_start).member is None
        assert on_call(schedule, [], g_end - timedelta(seconds=1)).member is None


@PROPS
@given(
    schedules(),
    instants,
    st.sampled_from(PEOPLE),
    st.integers(1, 72),
    st.sampled_from([None, *PEOPLE]),
    st.lists(instants, min_size=1, max_size=5),
)
def test_an_override_wins_while_it_lasts(
    schedule: Schedule,
    begin: datetime,
    who: str,
    hours: int,
    covers: str | None,
    moments: list[datetime],
) -> None:
    count("schedule overrides")
    o = Override(who, begin, begin + timedelta(hours=hours), covers=covers, id="ov-1")
    for at in [begin, *moments]:
        base = on_call(schedule, [], at).member
        got = on_call(schedule, [o], at)
        if o.active(at) and (covers is None or covers == base):
            assert got.member == who and got.override == "ov-1"
        else:
            assert got.member == base and got.override is None


@PROPS
@given(schedules(), st.sets(st.sampled_from(PEOPLE), max_size=3), st.lists(instants, max_size=5))
def test_a_member_away_is_skipped_by_every_layer(
    schedule: Schedule, away: set[str], moments: list[datetime]
) -> None:
    count("schedule vacations")
    far = datetime(2030, 1, 1, tzinfo=UTC)
    leave = [Away(m, datetime(2025, 1, 1, tzinfo=UTC), far) for m in sorted(away)]
    for at in moments:
        got = on_call(schedule, leave, at)
        assert got.member not in away
        assert got.member == _oracle(schedule, at, away)
    # An override made for a member who is away still wins: it was asked for explicitly.
    if away and moments:
        person = sorted(away)[0]
        cover = Override(person, moments[0], moments[0] + timedelta(hours=1), id="ov-2")
        assert on_call(schedule, [*leave, cover], moments[0]).member == person


def test_daily_handoff_stays_at_nine_across_daylight_saving() -> None:
    layer = {
        "name": "day",
        "order": ["anna", "bram"],
        "start": "2026-03-27T09:00:00",
        "timezone": "Europe/Amsterdam",
        "handoff_every": "1d",
    }
    schedule = Schedule.model_validate({"layers": [layer]})
    zone = ZoneInfo("Europe/Amsterdam")
    for day in (27, 28, 29, 30, 31):  # the clocks go forward on the 29th
        before = datetime(2026, 3, day, 8, 59, tzinfo=zone)
        at = datetime(2026, 3, day, 9, 0, tzinfo=zone)
        assert on_call(schedule, [], before).member != on_call(schedule, [], at).member
    nxt = next_handoffs(schedule, [], datetime(2026, 3, 28, 12, tzinfo=zone), count=2)
    assert [t.astimezone(zone).hour for t, _ in nxt] == [9, 9]
    assert [t.astimezone(zone).day for t, _ in nxt] == [29, 30]


def test_follow_the_sun_and_a_declared_gap() -> None:
    schedule = Schedule.model_validate(
        {
            "layers": [
                {
                    "name": "amsterdam",
                    "order": ["anna"],
                    "start": "2026-01-05T08:00:00",
                    "timezone": "Europe/Amsterdam",
                    "windows": [
                        {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "08:00-20:00"}
                    ],
                },
                {
                    "name": "new-york",
                    "order": ["dirk"],
                    "start": "2026-01-05T08:00:00",
                    "timezone": "America/New_York",
                    "windows": [
                        {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "14:00-02:00"}
                    ],
                },
            ]
        }
    )
    ams, ny = ZoneInfo("Europe/Amsterdam"), ZoneInfo("America/New_York")
    assert on_call(schedule, [], datetime(2026, 3, 10, 10, tzinfo=ams)).member == "anna"
    # 14:00 in New York (20:00 in Amsterdam, in winter): the later layer wins the overlap.
    who = on_call(schedule, [], datetime(2026, 1, 13, 14, 30, tzinfo=ny))
    assert (who.member, who.layer) == ("dirk", "new-york")
    # In January New York's 02:00 is Amsterdam's 08:00; between the two spring changes
    # (8 and 29 March) New York is an hour ahead: 02:00-03:00 there nobody is scheduled.
    assert on_call(schedule, [], datetime(2026, 1, 14, 2, 30, tzinfo=ny)).member == "anna"
    gap = on_call(schedule, [], datetime(2026, 3, 11, 2, 30, tzinfo=ny))
    assert gap.member is None and "gap" in gap.why
    march = gaps(schedule, datetime(2026, 3, 11, tzinfo=UTC), datetime(2026, 3, 12, tzinfo=UTC))
    assert march == [(datetime(2026, 3, 11, 6, tzinfo=UTC), datetime(2026, 3, 11, 7, tzinfo=UTC))]
    found = gaps(schedule, datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC))
    # Monday: only the end of the weekend, until 08:00 Amsterdam (07:00 UTC).
    assert found == [(datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 1, 12, 7, tzinfo=UTC))]


def test_a_schedule_needs_known_members_and_zones() -> None:
    from escalator.policies.roles import OwnerRole

    with pytest.raises(ValueError, match="unknown IANA time zone"):
        Schedule.model_validate(
            {
                "layers": [
                    {
                        "name": "x",
                        "order": ["a"],
                        "start": "2026-01-01T00:00:00",
                        "timezone": "Mars/Olympus",
                    }
                ]
            }
        )
    with pytest.raises(ValueError, match="schedule names zoe who are not members"):
        OwnerRole.model_validate(
            {
                "name": "r",
                "members": [{"name": "anna"}],
                "schedule": {
                    "layers": [
                        {
                            "name": "x",
                            "order": ["zoe"],
                            "start": "2026-01-01T00:00:00",
                            "timezone": "UTC",
                        }
                    ]
                },
            }
        )


@st.composite
def changes(draw: st.DrawFn, around: datetime) -> list[Override | Away]:
    """Overrides (some covering a member) and vacations near ``around``, made in order."""
    out: list[Override | Away] = []
    for i in range(draw(st.integers(0, 4))):
        begin = around + timedelta(minutes=draw(st.integers(-3 * 1440, 2 * 1440)))
        ends = begin + timedelta(minutes=draw(st.integers(1, 3 * 1440)))
        member = draw(st.sampled_from(PEOPLE))
        if draw(st.booleans()):
            covers = draw(st.sampled_from([None, *PEOPLE]))
            if covers == member:
                covers = None
            out.append(Override(member, begin, ends, covers, id=f"ov-{i}", created_by="eva"))
        else:
            out.append(Away(member, begin, ends, id=f"away-{i}"))
    return out


def _same(a: object, b: object) -> tuple[object, ...]:
    return tuple((x.member, x.layer, x.override, x.skipped) for x in (a, b))  # type: ignore[attr-defined]


@PROPS
@given(schedules(), st.sampled_from(CHANGES), st.data())
def test_the_sweep_answers_as_on_call_at_every_boundary_and_between(
    schedule: Schedule, change: datetime, data: st.DataObject
) -> None:
    """The interval sweep is a faster way to the answers of ``on_call``, the definition:
    the same member (layer, override, members skipped) at every instant where anything
    may change (hand-offs, window edges, daylight-saving changes, overrides and
    vacations starting or ending), a microsecond before each, and at random instants."""
    count("schedule sweeps")
    start, end = change - timedelta(days=3), change + timedelta(days=3)
    made = data.draw(changes(change))
    line = sweep(schedule, made, start, end)
    bounds = {start}
    for layer in schedule.layers:
        bounds.update(layer.edges(start, end))
    for o in made:
        bounds.update(t for t in (o.starts_at, o.ends_at) if start <= t < end)
    bounds.update(t for t, _ in line.changes())
    tick = timedelta(microseconds=1)
    moments = bounds | {t - tick for t in bounds if t - tick >= start}
    span = int((end - start) / tick)
    moments |= {start + tick * f for f in data.draw(st.lists(st.integers(0, span - 1), max_size=8))}
    for at in sorted(moments):
        want, got = on_call(schedule, made, at), line.at(at)
        a, b = _same(want, got)
        assert a == b, (at, want, got)
    # Consecutive changes differ, and the first is at the start.
    changed = line.changes()
    assert changed[0][0] == start
    keys = [(w.member, w.layer, w.override, w.skipped) for _, w in changed]
    assert all(x != y for x, y in itertools.pairwise(keys))


def test_the_sweep_refuses_instants_outside_it_and_naive_times() -> None:
    schedule = Schedule.model_validate(
        {
            "layers": [
                {"name": "x", "order": ["anna"], "start": "2026-01-05T09:00:00", "timezone": "UTC"}
            ]
        }
    )
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    line = sweep(schedule, [], t0, t0 + timedelta(days=1))
    assert line.at(t0).member == "anna"
    with pytest.raises(ValueError, match="outside the timeline"):
        line.at(t0 + timedelta(days=1))
    with pytest.raises(ValueError, match="aware"):
        sweep(schedule, [], t0.replace(tzinfo=None), t0 + timedelta(days=1))
