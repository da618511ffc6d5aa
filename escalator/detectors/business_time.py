"""Business-hours arithmetic over whole columns, for latency rules on millions of cases.

The scalar functions in :mod:`escalator.policies.business_hours` walk open intervals one at a
time; here the same intervals (taken from :func:`escalator.policies.business_hours.open_intervals`,
so both agree by construction and a test checks it) are laid out once as a table with
the cumulative open time before each, and every timestamp is placed with a binary
search. Public holidays are expanded for every year the log spans.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays as holidays_lib
import polars as pl

from escalator.policies.business_hours import open_intervals
from escalator.policies.calendars import Calendar

__all__ = ["BusinessClock", "expand_holidays"]

_US = pl.Datetime("us", "UTC")


def expand_holidays(calendar: Calendar, first_year: int, last_year: int) -> Calendar:
    """The calendar with its holiday source written out as closed dates for those years."""
    closed: set[date] = set(calendar.closed_dates)
    if calendar.holidays is not None:
        found = holidays_lib.country_holidays(
            calendar.holidays.country,
            subdiv=calendar.holidays.subdivision,
            years=range(first_year, last_year + 1),
        )
        closed.update(found.keys())
    return calendar.model_copy(update={"closed_dates": sorted(closed), "holidays": None})


class BusinessClock:
    """Open intervals of ``calendar`` covering ``[start, end]``, as sorted columns."""

    def __init__(self, calendar: Calendar, start: datetime, end: datetime) -> None:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        cal = expand_holidays(calendar, start.year - 1, end.year + 1)
        opens: list[datetime] = []
        closes: list[datetime] = []
        for s, e in open_intervals(cal, start - timedelta(days=1)):
            opens.append(s)
            closes.append(e)
            if e > end:
                break
        self.opens = pl.Series("open", opens, dtype=_US)
        self.closes = pl.Series("close", closes, dtype=_US)
        lengths = (self.closes - self.opens).dt.total_microseconds()
        self.cum_end = lengths.cum_sum()  # open µs up to each interval's close
        self.cum_start = self.cum_end - lengths  # open µs before each interval opens
        self.horizon = closes[-1] if closes else start

    def elapsed_before(self, ts: pl.Series) -> pl.Series:
        """Open microseconds from the first interval up to each of ``ts``."""
        idx = (self.opens.search_sorted(ts, side="right").cast(pl.Int64) - 1).clip(lower_bound=0)
        open_at = self.opens.gather(idx)
        length = self.cum_end.gather(idx) - self.cum_start.gather(idx)
        inside = (ts - open_at).dt.total_microseconds().clip(lower_bound=0)
        before = (
            self.cum_start.gather(idx) + pl.select(pl.min_horizontal(inside, length)).to_series()
        )
        # Before the first interval nothing is open yet.
        return pl.select(pl.when(ts < self.opens[0]).then(0).otherwise(before)).to_series()

    def add(self, ts: pl.Series, duration: timedelta) -> pl.Series:
        """``ts + duration`` of open time; null when that lies beyond the horizon."""
        if duration <= timedelta(0):
            return ts
        target = self.elapsed_before(ts) + int(duration / timedelta(microseconds=1))
        # First interval whose cumulative end reaches the target ("left": a duration
        # ending exactly at closing time ends at the closing time, as the scalar does).
        j = self.cum_end.search_sorted(target, side="left").cast(pl.Int64)
        beyond = j >= self.cum_end.len()
        j = j.clip(upper_bound=max(self.cum_end.len() - 1, 0))
        offset = target - self.cum_start.gather(j)
        result = (
            self.opens.gather(j) + pl.select(pl.duration(microseconds=pl.lit(offset))).to_series()
        )
        return pl.select(pl.when(beyond).then(None).otherwise(result)).to_series().alias(ts.name)

    def between(self, a: pl.Series, b: pl.Series) -> pl.Series:
        """Open time from ``a`` to ``b`` (element-wise), as a duration column."""
        us = self.elapsed_before(b) - self.elapsed_before(a)
        return pl.select(pl.duration(microseconds=pl.lit(us))).to_series()
