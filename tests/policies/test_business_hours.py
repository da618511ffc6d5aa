"""Business-hours arithmetic in Europe/Amsterdam: weekends, holidays, both DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalator.policies.business_hours import (
    add_business_time,
    business_time_between,
    is_open,
    next_close,
    next_open,
)
from escalator.policies.calendars import Calendar

AMS = ZoneInfo("Europe/Amsterdam")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def office(**extra: object) -> Calendar:
    """Mon-Fri 09:00-17:00 in Amsterdam; King's Day 2026 (Mon 27 April) closed."""
    return Calendar.model_validate(
        {
            "name": "office",
            "timezone": "Europe/Amsterdam",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "closed_dates": ["2026-04-27", "2026-12-25"],
            **extra,
        }
    )


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def test_inside_hours_adds_plainly() -> None:
    # Tue 10 Mar 2026 10:00 + 2h = 12:00 the same day.
    assert add_business_time(ams(2026, 3, 10, 10), 2 * H, office()) == ams(2026, 3, 10, 12)


def test_crossing_closing_time_continues_next_morning() -> None:
    # Tue 16:00 + 2h: one hour today, one tomorrow from 09:00 -> Wed 10:00.
    assert add_business_time(ams(2026, 3, 10, 16), 2 * H, office()) == ams(2026, 3, 11, 10)


def test_ending_exactly_at_closing_time_returns_closing_time() -> None:
    assert add_business_time(ams(2026, 3, 10, 16), H, office()) == ams(2026, 3, 10, 17)


def test_start_before_opening_counts_from_opening() -> None:
    assert add_business_time(ams(2026, 3, 10, 6, 30), 15 * M, office()) == ams(2026, 3, 10, 9, 15)


def test_start_after_closing_counts_from_next_opening() -> None:
    assert add_business_time(ams(2026, 3, 10, 20), 30 * M, office()) == ams(2026, 3, 11, 9, 30)


def test_weekend_is_skipped() -> None:
    # Fri 13 Mar 16:30 + 1h -> 30 min on Friday, 30 min on Monday 16 Mar.
    assert add_business_time(ams(2026, 3, 13, 16, 30), H, office()) == ams(2026, 3, 16, 9, 30)
    # Raised on Saturday: the clock starts Monday 09:00.
    assert add_business_time(ams(2026, 3, 14, 11), 2 * H, office()) == ams(2026, 3, 16, 11)
    assert business_time_between(ams(2026, 3, 13, 16), ams(2026, 3, 16, 10), office()) == 2 * H


def test_holiday_is_skipped() -> None:
    # Fri 24 Apr 2026 16:00 + 2h: Friday 1h, weekend, King's Day Monday closed, Tue 10:00.
    assert add_business_time(ams(2026, 4, 24, 16), 2 * H, office()) == ams(2026, 4, 28, 10)
    assert not is_open(ams(2026, 4, 27, 11), office())
    assert next_open(ams(2026, 4, 27, 11), office()) == ams(2026, 4, 28, 9)


def test_spring_forward_across_weekend_keeps_wall_clock_hours() -> None:
    # Clocks go 02:00 -> 03:00 on Sun 29 Mar 2026. Fri 16:00 (+01:00) + 2h business
    # is Mon 30 Mar 10:00, now at +02:00.
    result = add_business_time(ams(2026, 3, 27, 16), 2 * H, office())
    assert result == ams(2026, 3, 30, 10)
    assert result.utcoffset() == 2 * H
    assert result.astimezone(UTC) == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_fall_back_across_weekend_keeps_wall_clock_hours() -> None:
    # Clocks go 03:00 -> 02:00 on Sun 25 Oct 2026.
    result = add_business_time(ams(2026, 10, 23, 16), 2 * H, office())
    assert result == ams(2026, 10, 26, 10)
    assert result.utcoffset() == H
    assert business_time_between(ams(2026, 10, 23, 16), result, office()) == 2 * H


def test_spring_forward_day_is_23_hours_long() -> None:
    always = Calendar.model_validate(
        {"name": "always", "timezone": "Europe/Amsterdam", "hours": {"sun": ["00:00-24:00"]}}
    )
    assert business_time_between(ams(2026, 3, 28), ams(2026, 3, 31), always) == 23 * H
    # 23h after Sunday midnight is Monday midnight, the end of the open day.
    assert add_business_time(ams(2026, 3, 29), 23 * H, always) == ams(2026, 3, 30)
    # Hours that straddle the gap: 01:00-04:00 is only 2 real hours that night.
    night = Calendar.model_validate(
        {"name": "night", "timezone": "Europe/Amsterdam", "hours": {"sun": ["01:00-04:00"]}}
    )
    assert business_time_between(ams(2026, 3, 28), ams(2026, 3, 30), night) == 2 * H
    assert add_business_time(ams(2026, 3, 29, 1, 30), H, night) == ams(2026, 3, 29, 3, 30)


def test_fall_back_day_is_25_hours_long() -> None:
    always = Calendar.model_validate(
        {"name": "always", "timezone": "Europe/Amsterdam", "hours": {"sun": ["00:00-24:00"]}}
    )
    assert business_time_between(ams(2026, 10, 24), ams(2026, 10, 27), always) == 25 * H
    night = Calendar.model_validate(
        {"name": "night", "timezone": "Europe/Amsterdam", "hours": {"sun": ["01:00-04:00"]}}
    )
    assert business_time_between(ams(2026, 10, 24), ams(2026, 10, 26), night) == 4 * H


def test_around_the_clock_calendar_is_plain_elapsed_time() -> None:
    every_day = Calendar.model_validate(
        {
            "name": "around-the-clock",
            "timezone": "Europe/Amsterdam",
            "hours": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        }
    )
    start = ams(2026, 3, 27, 16)
    # 48 real hours after Fri 16:00 CET is Sun 17:00 CEST (the clocks moved an hour).
    assert add_business_time(start, 48 * H, every_day) == ams(2026, 3, 29, 17)
    assert add_business_time(start, 48 * H, every_day).astimezone(UTC) == (
        start.astimezone(UTC) + 48 * H
    )
    assert next_close(start, every_day) is None
    assert is_open(start, every_day)


def test_split_ranges_and_offsets_of_the_input() -> None:
    lunch = office(hours={"mon": ["09:00-12:00", "13:00-17:00"]})
    # Mon 16 Mar 11:30 + 1h: 30 min before lunch, 30 min after -> 13:30.
    assert add_business_time(ams(2026, 3, 16, 11, 30), H, lunch) == ams(2026, 3, 16, 13, 30)
    # The same instant given in UTC gives the same answer.
    start_utc = ams(2026, 3, 16, 11, 30).astimezone(UTC)
    assert add_business_time(start_utc, H, lunch) == ams(2026, 3, 16, 13, 30)
    assert not is_open(ams(2026, 3, 16, 12, 30), lunch)
    assert next_open(ams(2026, 3, 16, 12, 30), lunch) == ams(2026, 3, 16, 13)
    assert next_close(ams(2026, 3, 16, 12, 30), lunch) == ams(2026, 3, 16, 17)


def test_is_open_boundaries() -> None:
    cal = office()
    assert is_open(ams(2026, 3, 10, 9), cal)
    assert not is_open(ams(2026, 3, 10, 17), cal)
    assert not is_open(ams(2026, 3, 14, 12), cal)  # Saturday
    assert next_open(ams(2026, 3, 10, 10), cal) == ams(2026, 3, 10, 10)


def test_between_is_antisymmetric_and_zero_duration_returns_start() -> None:
    cal = office()
    a, b = ams(2026, 3, 10, 10), ams(2026, 3, 12, 10)
    assert business_time_between(a, b, cal) == 16 * H
    assert business_time_between(b, a, cal) == -16 * H
    sat = ams(2026, 3, 14, 12)
    assert add_business_time(sat, timedelta(0), cal) == sat


def test_no_calendar_means_always_open() -> None:
    start = ams(2026, 3, 28, 12)
    assert add_business_time(start, 24 * H, None) == start.astimezone(UTC) + 24 * H
    assert business_time_between(start, ams(2026, 3, 29, 12), None) == 23 * H


def test_naive_datetimes_and_bad_input_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_business_time(datetime(2026, 3, 10, 10), H, office())
    with pytest.raises(ValueError, match="naive"):
        is_open(datetime(2026, 3, 10, 10), office())
    with pytest.raises(ValueError, match="negative"):
        add_business_time(ams(2026, 3, 10, 10), -H, office())
    never = office(hours={})
    with pytest.raises(ValueError, match="never open"):
        add_business_time(ams(2026, 3, 10, 10), H, never)


def test_closed_dates_are_local_dates() -> None:
    # 23:30 UTC on 26 April is already 27 April (King's Day) in Amsterdam.
    cal = office(hours={"mon": ["00:00-24:00"], "sun": ["00:00-24:00"]})
    assert date(2026, 4, 27) in cal.closed_dates
    assert not is_open(datetime(2026, 4, 26, 23, 30, tzinfo=UTC), cal)
    assert is_open(datetime(2026, 4, 26, 21, 30, tzinfo=UTC), cal)
