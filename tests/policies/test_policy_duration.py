"""Durations as policy authors write them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalator.policies.duration import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("28d", timedelta(days=28)),
        ("1w", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("90s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        (" 45m ", timedelta(minutes=45)),
        ("0s", timedelta(0)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "15", "2 hours", "h", "15x", "m15", "1h-30m", "-5m", "1..5h"])
def test_refused_text(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", [15, 1.5, True, None, ["15m"]])
def test_refused_types(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(bad)


def test_timedelta_passes_through() -> None:
    assert parse_duration(timedelta(hours=3)) == timedelta(hours=3)


@pytest.mark.parametrize("text", ["15m", "2h", "28d", "1h30m", "2d3h4m5s"])
def test_format_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_format_edges() -> None:
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(weeks=1)) == "7d"
    assert format_duration(-timedelta(minutes=5)) == "-5m"


@pytest.mark.parametrize(
    "td",
    [timedelta(milliseconds=250), timedelta(seconds=3.75), timedelta(minutes=1, microseconds=1)],
)
def test_sub_second_durations_survive_the_round_trip(td: timedelta) -> None:
    # Policies cross the Temporal boundary as text: 0.25 s must not become 0 s.
    assert parse_duration(format_duration(td)) == td
