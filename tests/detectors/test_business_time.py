"""The vectorised business clock agrees with the scalar escalator.policies.business_hours functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from escalator.detectors.business_time import BusinessClock, expand_holidays
from escalator.policies.business_hours import add_business_time, business_time_between
from escalator.policies.calendars import Calendar

CALENDARS = [
    Calendar.model_validate(
        {
            "name": "nl",
            "timezone": "Europe/Amsterdam",
            "hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "NL"},
        }
    ),
    Calendar.model_validate(
        {
            "name": "split",
            "timezone": "America/New_York",
            "hours": {
                "mon": ["08:00-12:00", "13:00-18:30"],
                "sat": "10:00-24:00",
                "sun": "00:00-02:00",
            },
            "closed_dates": ["2024-11-04"],
        }
    ),
]


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.name)
def test_vectorised_clock_agrees_with_the_scalar_functions(calendar: Calendar) -> None:
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    # Spans both DST changes of 2024 in both zones.
    stamps = [start + timedelta(seconds=rng.randrange(0, 330 * 86400)) for _ in range(300)]
    clock = BusinessClock(calendar, start, start + timedelta(days=400))
    scalar_cal = expand_holidays(calendar, 2023, 2025)
    series = pl.Series(stamps, dtype=pl.Datetime("us", "UTC"))
    for duration in (
        timedelta(minutes=1),
        timedelta(hours=3),
        timedelta(hours=30),
        timedelta(days=6),
    ):
        got = clock.add(series, duration).to_list()
        want = [add_business_time(t, duration, scalar_cal).astimezone(UTC) for t in stamps]
        assert got == want, duration
    later = [t + timedelta(hours=rng.randrange(1, 400)) for t in stamps]
    got_between = clock.between(series, pl.Series(later, dtype=pl.Datetime("us", "UTC"))).to_list()
    assert got_between == [
        business_time_between(a, b, scalar_cal) for a, b in zip(stamps, later, strict=True)
    ]


def test_beyond_the_horizon_is_null_not_wrong() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    clock = BusinessClock(CALENDARS[0], start, start + timedelta(days=3))
    [value] = clock.add(
        pl.Series([start], dtype=pl.Datetime("us", "UTC")), timedelta(days=30)
    ).to_list()
    assert value is None
