"""The Silence menu of an exception's Slack message, end to end: a real worker (routing
through the real Router over silences in a real SQLite records database, records written
to it), the real receiver under signed HTTP requests, Slack faked over HTTP.

A choice creates a silence of the exception's journey and rule, notes it in that
exception's timeline, and holds the next exception of the rule back until the silence
ends (expired from Slack) or the clicked exception resolves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.channel_stack import ChannelStack, channel_stack, eventually, slack_headers
from fakes.slack_api import Message
from sqlalchemy.exc import OperationalError
from temporalio.client import Client
from typer.testing import CliRunner

from escalator.activities.button_values import ButtonValue
from escalator.activities.routing import Router, SqlSilences
from escalator.cli.main import app as cli
from escalator.policies.business_hours import is_open, next_open
from escalator.policies.snapshot import snapshot
from escalator.policy_source import load_configured_policies
from escalator.receiver.silence import SlackSilencer
from escalator.records.silences import SilenceStore
from escalator.records.store import Store
from escalator.worker.main import StoreRecorder
from escalator.worker.routing import page_unless_silenced
from escalator.workflows.contracts import ExceptionState, ExceptionStatus, StepKind

pytestmark = pytest.mark.temporal

ANNA, DIRK, JAN, STRANGER = "U0INV00001", "U0BIL00001", "U0LEAD0001", "U0STRANGER"
MENU = "escalator.silence"
ONE_HOUR, SUPPORT_HOURS, UNTIL_RESOLVED = 0, 3, 4  # option positions in the menu


@pytest.fixture
def records(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'records.db'}")


@pytest.fixture
def silences(records: Store) -> SilenceStore:
    return SilenceStore(records.engine)


@pytest.fixture
async def stack(
    client: Client, task_queue: str, records: Store, silences: SilenceStore
) -> AsyncIterator[ChannelStack]:
    # Page whatever no silence holds (the example calendar is closed at night, and a page
    # delayed to support hours would post no message to click); re-check a held exception
    # every second rather than every 5 minutes, so a release shows within the test.
    router = Router(silences=SqlSilences(silences), hold_recheck=timedelta(seconds=1))

    async def opener() -> SilenceStore:
        return silences

    async with channel_stack(
        client,
        task_queue,
        recorder=StoreRecorder(records),
        decide=page_unless_silenced(router),
        silences=opener,
        silencer=SlackSilencer(silences, load_configured_policies()),
    ) as built:
        yield built


def choose(message: Message, option: int) -> dict[str, Any]:
    for block in message.blocks:
        for e in block.get("elements", []):
            if e.get("action_id") == MENU:
                return {
                    "action_id": MENU,
                    "type": "static_select",
                    "selected_option": e["options"][option],
                }
    raise AssertionError("no Silence menu in the message")


async def pick(stack: ChannelStack, user: str, message: Message, option: int) -> str:
    before = len(stack.slack.responses)
    status, _ = await stack.post_slack(stack.action_body(user, choose(message, option), message))
    assert status == 200
    await eventually(lambda: len(stack.slack.responses) > before)
    reply = stack.slack.responses[-1]
    assert reply["response_type"] == "ephemeral" and reply.get("replace_original") is False
    return str(reply["text"])


async def command(stack: ChannelStack, user: str, text: str) -> str:
    before = len(stack.slack.responses)
    assert (await stack.post_slack(stack.command_body(user, text)))[0] == 200
    await eventually(lambda: len(stack.slack.responses) > before)
    return str(stack.slack.responses[-1]["text"])


def notes(status: ExceptionStatus) -> list[Any]:
    return [s for s in status.timeline if s.kind is StepKind.NOTE]


async def routed(stack: ChannelStack, xid: str) -> list[dict[str, Any]]:
    async def decided() -> list[dict[str, Any]]:
        status = await stack.status(xid)
        return [s.detail for s in status.timeline if s.kind is StepKind.ROUTED]

    return await eventually(decided)


async def paged(stack: ChannelStack, xid: str) -> None:
    async def notified() -> bool:
        status = await stack.status(xid)
        return any(s.kind is StepKind.NOTIFIED for s in status.timeline)

    await eventually(notified, within=20)
    await stack.message_for(xid)


async def test_silence_until_resolved_holds_the_rule_until_that_exception_resolves(
    stack: ChannelStack, silences: SilenceStore, records: Store
) -> None:
    first = await stack.raise_exception()
    message = await stack.message_for(first)
    reply = await pick(stack, ANNA, message, UNTIL_RESOLVED)
    [silence] = silences.all()
    assert reply.startswith("Silenced *orderToShip/awaiting_inventory* (every case) until ")
    assert f"`{silence.id}`" in reply and f"/escalator silence expire {silence.id}" in reply
    assert (silence.journey, silence.rule, silence.labels) == (
        "orderToShip", "awaiting_inventory", {},
    )  # fmt: skip
    assert (silence.created_by, silence.until_resolved, silence.ends_at) == ("anna", first, None)
    assert silence.reason == f"silenced from Slack on {first}"
    [said] = await eventually(lambda: stack.slack.thread(message.channel, message.ts))
    assert f"<@{ANNA}> silenced *orderToShip/awaiting_inventory* (every case) until" in said.text
    assert f"`{silence.id}` · lift: `/escalator silence expire {silence.id}`" in said.text
    [note] = notes(await stack.status(first))
    assert (note.actor, note.detail["via"]) == ("anna", "slack")
    assert note.detail["note"] == (
        f"silenced orderToShip/awaiting_inventory until {first} resolves ({silence.id})"
    )
    await eventually(  # the same note in the records (and so in reports and the CLI)
        lambda: [t for t in records.timeline(first) if silence.id in str(t.detail)]
    )
    listed = CliRunner().invoke(
        cli, ["silence", "list"], env={"ESCALATOR_DATABASE_URL": str(records.engine.url)}
    )
    assert silence.id in listed.output and f"until {first} resolves" in listed.output

    second = await stack.raise_exception()
    [held] = await routed(stack, second)
    assert (held["decision"], held["silence"]) == ("suppress", silence.id)
    assert (await stack.status(second)).routing == "suppress"
    assert not [m for m in stack.slack.top_level("C0INVENTORY") if second in str(m.metadata)]

    assert (await command(stack, ANNA, f"resolve {first} replenished")).startswith("resolved")
    await paged(stack, second)  # released at the next re-check once the records say resolved
    assert [d["decision"] for d in await routed(stack, second)] == ["suppress", "page"]


async def test_timed_silence_by_the_incident_lead_and_its_lift_from_slack(
    stack: ChannelStack, silences: SilenceStore
) -> None:
    first = await stack.raise_exception()
    message = await stack.message_for(first)
    clicked = datetime.now(UTC)
    reply = await pick(stack, JAN, message, ONE_HOUR)
    [silence] = silences.all()
    assert silence.created_by == "jan" and silence.until_resolved is None
    assert silence.ends_at is not None
    assert abs(silence.ends_at - (clicked + timedelta(hours=1))) < timedelta(seconds=10)
    assert f"until {silence.ends_at.strftime('%Y-%m-%d %H:%M')} UTC: `{silence.id}`" in reply
    [note] = notes(await stack.status(first))
    assert note.actor == "jan" and silence.id in note.detail["note"]

    second = await stack.raise_exception()
    [held] = await routed(stack, second)
    assert (held["decision"], held["silence"]) == ("suppress", silence.id)
    assert (await command(stack, JAN, f"silence expire {silence.id}")).startswith("Expired:")
    await paged(stack, second)
    assert silences.get(silence.id).expired_by == "jan"


async def test_who_may_not_respond_may_not_silence(
    stack: ChannelStack, silences: SilenceStore
) -> None:
    xid = await stack.raise_exception()
    message = await stack.message_for(xid)
    # dirk is a member of billing: the exception's validator refuses him, nothing is stored.
    reply = await pick(stack, DIRK, message, ONE_HOUR)
    assert reply == "Not done: dirk is not in inventory or incident-leads"
    assert "not a member of any escalator role" in await pick(stack, STRANGER, message, ONE_HOUR)

    # A forged click (signed with another secret) never reaches a listener.
    body = stack.action_body(ANNA, choose(message, ONE_HOUR), message)
    forged = slack_headers(body, secret="not-the-signing-secret")
    assert await stack.post_slack(body, forged) == (401, "bad Slack signature")

    # Values escalator did not write: an unknown choice, or another action's value.
    for value in (
        ButtonValue(exception_id=xid, action="snooze", arg="1h").encode(),
        ButtonValue(exception_id=xid, action="silence", arg="1h").encode().replace("1h", "9y"),
    ):
        tampered = {"action_id": MENU, "type": "static_select", "selected_option": {"value": value}}
        await stack.post_slack(stack.action_body(ANNA, tampered, message))
    await eventually(lambda: len(stack.slack.responses) == 4)
    assert [r["text"] for r in stack.slack.responses[2:]] == [
        "Refused: the menu and its value disagree.",
        "Refused: unknown silence choice '9y'.",
    ]

    # "Until it resolves" on an exception already resolved (a stale message) is refused.
    stale = stack.action_body(ANNA, choose(message, UNTIL_RESOLVED), message)
    assert (await command(stack, ANNA, f"resolve {xid} done")).startswith("resolved")
    await stack.post_slack(stale)
    await eventually(lambda: len(stack.slack.responses) == 6)
    reply = stack.slack.responses[-1]["text"]
    assert reply == f"Not done: {xid} is already resolved: choose a time instead"

    assert silences.all() == []
    assert not [m for m in stack.slack.thread(message.channel, message.ts) if "silenced" in m.text]
    status = await stack.status(xid)
    assert notes(status) == [] and status.state is ExceptionState.RESOLVED


async def test_a_records_failure_silences_nothing_and_the_timeline_says_so(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    unmigrated = SilenceStore(
        Store.open(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False).engine
    )
    opened: list[SilenceStore] = []

    async def opener() -> SilenceStore:
        if not opened:  # the first click finds the database down
            opened.append(unmigrated)
            raise OperationalError("connect", None, Exception("connection refused"))
        return opened[0]  # then it answers, but without the silences table

    async with channel_stack(client, task_queue, silences=opener) as stack:
        xid = await stack.raise_exception()
        message = await stack.message_for(xid)
        reply = await pick(stack, ANNA, message, ONE_HOUR)
        assert reply == "Not done: the records database is unreachable; nothing was silenced"
        assert notes(await stack.status(xid)) == []  # refused before anything was written

        reply = await pick(stack, ANNA, message, UNTIL_RESOLVED)  # another body: no replay
        assert reply.startswith("Not done: the silence was not stored (")
        first, second = notes(await stack.status(xid))
        silence_id = first.detail["note"].rsplit("(", 1)[1].rstrip(")")
        assert second.detail["note"].startswith(f"silence {silence_id} was not stored: ")
        assert "no such table" in second.detail["note"] and "[SQL" not in second.detail["note"]
        assert not [m for m in stack.slack.thread(message.channel, message.ts)]


async def test_until_support_hours_start_uses_the_rules_calendar(
    stack: ChannelStack, silences: SilenceStore
) -> None:
    xid = await stack.raise_exception()
    message = await stack.message_for(xid)
    clicked = datetime.now(UTC)
    calendar = snapshot(stack.policies, "awaiting_inventory", clicked).calendar
    assert calendar is not None and calendar.name == "nl-warehouse"
    reply = await pick(stack, ANNA, message, SUPPORT_HOURS)
    if is_open(clicked, calendar):  # the wall clock decides which answer is right
        assert reply == "Not done: support hours (nl-warehouse) are on now: choose a time instead"
        assert silences.all() == []
        return
    [silence] = silences.all()
    assert silence.ends_at == next_open(clicked, calendar)
    assert "(support hours start " in reply and "Europe/Amsterdam)" in reply
