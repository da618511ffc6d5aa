"""The Silence menu as rendered, and when each of its choices ends (pure: no Temporal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fakes.channel_samples import make_status

from escalator.activities.button_values import OPTION_VALUE_LIMIT, ButtonValue
from escalator.activities.silence_choices import SilenceEndError, silence_end
from escalator.activities.slack_blocks import MessageContext, render_message
from escalator.policies.calendars import Calendar
from escalator.workflows.contracts import ExceptionState

MENU = "escalator.silence"


def test_every_open_single_exception_message_has_the_menu() -> None:
    now = datetime.now(UTC)
    blocks = render_message(make_status(), MessageContext(), now)
    [menu] = [e for b in blocks for e in b.get("elements", []) if e.get("action_id") == MENU]
    labels = [o["text"]["text"] for o in menu["options"]]
    assert labels == [
        "for 1 hour",
        "for 4 hours",
        "for 24 hours",
        "until support hours start",
        "until this exception resolves",
    ]
    values = [ButtonValue.decode(o["value"]) for o in menu["options"]]
    assert [v.arg for v in values] == ["1h", "4h", "24h", "hours", "resolved"]
    assert all(len(o["value"]) <= OPTION_VALUE_LIMIT for o in menu["options"])
    assert "orderToShip/awaiting_inventory" in menu["confirm"]["text"]["text"]
    resolved = make_status(state=ExceptionState.RESOLVED, resolved_at=now, resolved_by="anna")
    storm = make_status(payload={"storm": True, "summary": "40 orders", "count": 40})
    for other in (resolved, storm):
        assert MENU not in str(render_message(other, MessageContext(), now))
    too_long = make_status(exception_id="exc:" + "x" * 140)  # no menu rather than a bad one
    assert MENU not in str(render_message(too_long, MessageContext(), now))


WAREHOUSE = Calendar.model_validate(
    {"name": "nl-warehouse", "timezone": "Europe/Amsterdam",
     "hours": {d: "07:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri")}}
)  # fmt: skip


def test_when_each_choice_ends() -> None:
    sunday_night = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert silence_end("4h", sunday_night, None) == sunday_night + timedelta(hours=4)
    assert silence_end("resolved", sunday_night, WAREHOUSE) is None
    monday_seven = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Amsterdam (CET)
    assert silence_end("hours", sunday_night, WAREHOUSE) == monday_seven
    with pytest.raises(SilenceEndError, match=r"support hours \(nl-warehouse\) are on now"):
        silence_end("hours", monday_seven + timedelta(hours=2), WAREHOUSE)
    with pytest.raises(SilenceEndError, match="no support-hours calendar"):
        silence_end("hours", sunday_night, None)
