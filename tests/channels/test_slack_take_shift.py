""" "Take this shift" through the real receiver: signed HTTP in, slack_bolt, the records
database; the hand-off message (rendered by the worker's code, posted to the fake Slack)
is updated by chat.update, refusals come back ephemerally at the response URL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from fakes.channel_stack import SIGNING_SECRET, block_actions_body, eventually, slack_headers
from fakes.slack_api import FakeSlack, Message
from temporalio.client import Client

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.handoff_blocks import ShiftValue, handoff_blocks
from escalator.activities.slack_client import slack_client
from escalator.policy_source import load_configured_policies
from escalator.receiver.app import SlackConfig, build_receiver, serve
from escalator.receiver.take_shift import ShiftTaker
from escalator.records.oncall import OnCallStore
from escalator.records.store import Store

ANNA, BRAM, DIRK, JAN = "U0INV00001", "U0INV00002", "U0BIL00001", "U0LEAD0001"
HOUR = timedelta(hours=1)


@dataclass
class Clicks:
    url: str
    slack: FakeSlack
    http: aiohttp.ClientSession
    oncall: OnCallStore
    message: Message
    value: ShiftValue

    async def click(
        self, user: str, value: str | None = None, *, secret: str = SIGNING_SECRET
    ) -> int:
        action = {
            "block_id": "escalator.handoff",
            "action_id": "escalator.take_shift",
            "type": "button",
            "value": value or self.value.encode(),
        }
        body = block_actions_body(user, action, self.slack.response_url, self.message)
        before = len(self.slack.responses)
        async with self.http.post(
            f"{self.url}/slack/events",
            data=body.encode(),
            headers=slack_headers(body, secret=secret),
        ) as resp:
            status = resp.status
        if status == 200:
            await eventually(lambda: len(self.slack.responses) > before)
        return status

    def said(self) -> str:
        return str(self.slack.responses[-1]["text"])


@pytest.fixture
async def clicks(client: Client, tmp_path: Path) -> AsyncIterator[Clicks]:
    policies = load_configured_policies()
    oncall = OnCallStore(Store.open(f"sqlite:///{tmp_path / 'r.db'}").engine)

    async def store() -> OnCallStore:
        return oncall

    slack = FakeSlack().start()
    web = slack_client(slack.token, base_url=slack.api_url)
    now = datetime.now(UTC)
    value = ShiftValue(role="inventory", start=now - HOUR, end=now + 5 * HOUR, member="anna")
    text = "anna is on call for inventory until later"
    posted = await web.chat_postMessage(
        channel="#ops-inventory", text=text, blocks=handoff_blocks(text, value, "layer rotation")
    )
    app = build_receiver(
        temporal=client,
        policies=policies,
        ledger=InMemoryLedger(),
        slack=SlackConfig(SIGNING_SECRET, web),
        taker=ShiftTaker(store, policies),
    )
    runner = await serve(app, "127.0.0.1", 0)
    message = slack.messages[(str(posted["channel"]), str(posted["ts"]))]
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            yield Clicks(url, slack, http, oncall, message, value)
    finally:
        await runner.cleanup()
        slack.stop()


async def test_a_member_takes_the_rest_of_the_shift(clicks: Clicks) -> None:
    before = datetime.now(UTC)
    assert await clicks.click(BRAM) == 200
    [made] = clicks.oncall.current()
    assert (made.kind, made.role, made.member, made.covers, made.created_by) == (
        "override", "inventory", "bram", "anna", "bram",
    )  # fmt: skip
    assert made.reason == "took the rest of the shift from the hand-off message"
    assert before <= made.starts_at <= datetime.now(UTC) and before <= made.created_at
    assert made.ends_at == clicks.value.end
    assert clicks.said().startswith("bram is on call for inventory until ")
    assert f"Override `{made.id}`" in clicks.said()
    # The message says so, and offers the shift no more.
    await eventually(lambda: clicks.message.edits == 1)
    assert clicks.message.text.startswith("bram is on call for inventory until ")
    assert "took the rest of this shift from anna" in clicks.message.text
    assert all(b["type"] != "actions" for b in clicks.message.blocks)
    assert made.id in json.dumps(clicks.message.blocks)


async def test_anyone_else_is_refused_and_told_why(clicks: Clicks) -> None:
    assert await clicks.click(DIRK) == 200  # billing, not inventory
    assert clicks.said().startswith("Not done: dirk may not change who is on call for inventory")
    assert "anna, bram, chloe" in clicks.said()
    assert await clicks.click(JAN) == 200  # an incident lead, but pages need a member
    assert clicks.said().startswith("Not done: jan is not a member of role inventory")
    assert await clicks.click(ANNA) == 200
    assert clicks.said() == "Not done: you are on call for inventory in this shift already"
    assert await clicks.click("U0STRANGER") == 200
    assert "is not a member of any escalator role" in clicks.said()
    assert await clicks.click(BRAM, value='{"v":1,"r":"inventory"}') == 200
    assert clicks.said().startswith("Refused: not a shift escalator offered")
    ended = ShiftValue(
        role="inventory", start=clicks.value.start - 9 * HOUR, end=clicks.value.start, member="anna"
    )
    assert await clicks.click(BRAM, value=ended.encode()) == 200
    assert clicks.said().startswith("Not done: this shift ended ")
    assert clicks.oncall.current() == [] and clicks.message.edits == 0


async def test_a_forged_click_is_refused_before_anything_happens(clicks: Clicks) -> None:
    assert await clicks.click(BRAM, secret="not-the-signing-secret") == 401
    assert clicks.oncall.current() == [] and clicks.message.edits == 0
    assert clicks.slack.responses == []
