"""Block Kit rendering and the typed button values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fakes.channel_samples import XID

from escalator.activities.button_values import (
    OPTION_VALUE_LIMIT,
    ButtonAction,
    ButtonValue,
    ButtonValueError,
)
from escalator.activities.slack_blocks import (
    MessageContext,
    format_age,
    render_message,
    resolve_modal,
)
from escalator.workflows.contracts import ExceptionState, ExceptionStatus

StatusFactory = Callable[..., ExceptionStatus]
NOW = datetime(2026, 3, 2, 10, 2, tzinfo=UTC)
CTX = MessageContext(
    hypothesis="Orders waiting for stock over 2 business hours miss the ship date.",
    runbook="https://runbooks.example/awaiting-inventory",
    reassign_roles=("billing", "incident-leads", "inventory"),
    members={"maria": "U0MARIA"},
)


def actions(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def text(blocks: list[dict]) -> str:
    return str(blocks)


def test_open_exception_shows_everything_an_owner_needs(status: StatusFactory) -> None:
    s = status(onset=NOW - timedelta(hours=2, minutes=10), ack_due=NOW + timedelta(minutes=30))
    blocks = render_message(s, CTX, NOW)
    body = text(blocks)
    for expected in [
        "orderToShip: ORD-1042 awaiting_inventory",  # title
        "*Journey*\\norderToShip",
        "*Case*\\nORD-1042",
        "_Orders waiting for stock over 2 business hours miss the ship date._",
        "*Age*\\n2h10m",
        "*Level*\\n1 · inventory",
        "*Deadline*\\n2026-03-02 10:32 UTC",
        "*Occurrences*\\n1",
        "Waiting for *inventory*",
    ]:
        assert expected in body, expected
    found = actions(blocks)
    assert found["escalator.runbook"]["url"] == CTX.runbook
    assert [o["text"]["text"] for o in found["escalator.reassign"]["options"]] == [
        "billing",
        "incident-leads",
    ]  # not the current owner
    assert [o["text"]["text"] for o in found["escalator.snooze"]["options"]] == [
        "30m",
        "1h",
        "2h",
        "4h",
    ]
    for action_id, element in found.items():
        raw = element.get("value") or (element.get("options") or [{}])[0].get("value")
        if raw:
            value = ButtonValue.decode(raw)
            assert value.exception_id == XID and action_id == f"escalator.{value.action.value}"


def test_states_change_the_message(status: StatusFactory) -> None:
    acked = render_message(
        status(state=ExceptionState.ACKNOWLEDGED, acknowledged_by="maria", acknowledged_at=NOW),
        CTX,
        NOW,
    )
    assert "Acknowledged by <@U0MARIA> at 2026-03-02 10:02 UTC" in text(acked)
    assert "escalator.ack" not in actions(acked) and "escalator.resolve" in actions(acked)
    resolved = render_message(
        status(
            state=ExceptionState.RESOLVED,
            resolved_by="maria",
            resolved_at=NOW,
            resolution_note="stock moved",
        ),
        CTX,
        NOW,
    )
    assert "Resolved by <@U0MARIA> at 2026-03-02 10:02 UTC: stock moved" in text(resolved)
    assert list(actions(resolved)) == ["escalator.runbook"]
    escalated = render_message(status(level=2, owner_role="incident-leads"), CTX, NOW)
    assert "Waiting for *incident-leads* (escalated)" in text(escalated)
    snoozed = render_message(status(state=ExceptionState.SNOOZED, snoozed_until=NOW), CTX, NOW)
    assert ":zzz: Snoozed until 2026-03-02 10:02 UTC" in text(snoozed)


def test_an_id_too_long_for_option_values_drops_the_selects_not_the_message(
    status: StatusFactory,
) -> None:
    long_id = "exc:orderToShip:awaiting_inventory:" + "X" * 140
    found = actions(render_message(status(exception_id=long_id), CTX, NOW))
    assert "escalator.snooze" not in found and "escalator.reassign" not in found
    assert ButtonValue.decode(found["escalator.ack"]["value"]).exception_id == long_id


def test_the_resolve_modal_carries_the_value_and_asks_for_note_and_cause() -> None:
    value = ButtonValue(exception_id=XID, action=ButtonAction.RESOLVE)
    modal = resolve_modal(value)
    assert ButtonValue.decode(modal["private_metadata"]) == value
    inputs = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert set(inputs) == {"note", "cause", "real"}
    assert inputs["cause"]["optional"] is True and "optional" not in inputs["note"]
    assert inputs["real"]["optional"] is True  # "was it real?": not said unless answered


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (None, "carried no value"),
        ("", "carried no value"),
        ("not json", "not escalator's"),
        ('{"x": "exc:a", "a": "delete"}', "not escalator's (a)"),
        ('{"x": "wf-123", "a": "ack"}', "not escalator's (x)"),
        ('{"x": "exc:a", "a": "ack", "admin": true}', "not escalator's (admin)"),
        ('{"v": 2, "x": "exc:a", "a": "ack"}', "not escalator's (v)"),
        ('{"x": "exc:a", "a": "snooze", "g": "99y"}', "unknown snooze choice"),
        ('{"x": "exc:a", "a": "reassign"}', "reassign needs a role"),
    ],
)
def test_values_that_escalator_did_not_write_are_refused(raw: str | None, why: str) -> None:
    with pytest.raises(ButtonValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        ButtonValue.decode(raw)


def test_encode_respects_slack_limits() -> None:
    value = ButtonValue(exception_id="exc:" + "y" * 200, action=ButtonAction.SNOOZE, arg="1h")
    with pytest.raises(ButtonValueError, match="Slack allows 150"):
        value.encode(OPTION_VALUE_LIMIT)
    assert ButtonValue.decode(value.encode()) == value


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(0), "0m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=2, minutes=10), "2h10m"),
        (timedelta(days=3, hours=4, minutes=5), "3d4h"),
        (timedelta(minutes=-5), "0m"),
    ],
)
def test_format_age(delta: timedelta, shown: str) -> None:
    assert format_age(delta) == shown
