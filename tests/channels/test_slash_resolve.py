"""Reading `/escalator resolve ID [cause=CODE] [false-alarm|confirmed] NOTE` (the
receiver's use of it, against real Temporal, is in test_slack_false_alarm.py)."""

from __future__ import annotations

import pytest

from escalator.receiver.slash_resolve import FALSE_ALARM_NOTE, SlashResolve, parse_resolve


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (" exc:1 replenished bin 4", SlashResolve("exc:1", "replenished bin 4")),
        (
            " exc:1 cause=stock_sync moved  stock",
            SlashResolve("exc:1", "moved  stock", "stock_sync"),
        ),
        (" exc:1 false-alarm", SlashResolve("exc:1", FALSE_ALARM_NOTE, None, False)),
        (" exc:1 Confirmed cause=x done", SlashResolve("exc:1", "done", "x", True)),
        (" exc:1 confirmed confirmed done", SlashResolve("exc:1", "done", None, True)),
        (" exc:1 done cause=x false-alarm", SlashResolve("exc:1", "done cause=x false-alarm")),
    ],
)
def test_options_after_the_id_then_the_note(text: str, want: SlashResolve) -> None:
    assert parse_resolve(text) == want


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "which exception?"),
        (" exc:1", "a resolution needs a note"),
        (" exc:1 confirmed", "a resolution needs a note"),
        (" exc:1 cause= done", "cause= needs a code"),
        (" exc:1 cause=a cause=b done", "cause= is given twice"),
        (" exc:1 false-alarm confirmed done", "contradict each other"),
    ],
)
def test_what_is_wrong_is_said(text: str, why: str) -> None:
    said = parse_resolve(text)
    assert isinstance(said, str) and why in said, said
