"""Business days of the shipped calendars: why a day is closed, and the next and previous
business day's slot (what a skipped digest says and what the next one covers)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from escalator.policies.business_days import (
    closed_reason,
    next_business_slot,
    previous_business_slot,
)
from escalator.policies.loader import load_policies
from escalator.settings import SHIPPED_POLICY_DIR

POLICIES = load_policies([SHIPPED_POLICY_DIR])
WAREHOUSE = POLICIES.calendar("nl-warehouse")  # mon-fri 07-22, sat 08-16, NL holidays
OFFICE = POLICIES.calendar("nl-office")  # mon-fri
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 4, 24), None),  # a Friday
        (date(2026, 4, 25), None),  # the warehouse works Saturdays
        (date(2026, 4, 26), "Sunday is not a business day in nl-warehouse"),
        (date(2026, 4, 27), "King's Day is a holiday in nl-warehouse"),
        (date(2026, 12, 26), "Second Day of Christmas is a holiday in nl-warehouse"),
        (date(2026, 12, 31), "nl-warehouse is closed on Thu 31 Dec 2026"),  # closed_dates
        (date(2027, 4, 27), "King's Day is a holiday in nl-warehouse"),  # any year
    ],
)
def test_closed_reason(day: date, reason: str | None) -> None:
    assert closed_reason(WAREHOUSE, day) == reason


def test_the_next_digest_after_christmas_is_monday() -> None:
    # Fri 25 Dec and Sat 26 Dec 2026 are holidays; the office never opens on Sundays.
    assert next_business_slot(OFFICE, date(2026, 12, 25), 9, 0) == datetime(
        2026, 12, 28, 9, 0, tzinfo=AMS
    )
    assert next_business_slot(WAREHOUSE, date(2026, 12, 30), 9, 0) == datetime(
        2027,
        1,
        2,
        9,
        0,
        tzinfo=AMS,  # 31 Dec stock-take, 1 Jan New Year's Day: Saturday
    )


def test_the_previous_digest_skips_the_closed_days() -> None:
    assert previous_business_slot(WAREHOUSE, date(2026, 4, 28), 9, 0) == datetime(
        2026, 4, 25, 9, 0, tzinfo=AMS
    )
    assert previous_business_slot(None, date(2026, 4, 28), 6, 45) == datetime(
        2026, 4, 27, 6, 45, tzinfo=ZoneInfo("UTC")
    )
