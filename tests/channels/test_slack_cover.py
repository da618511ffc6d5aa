"""`/escalator cover @anna until monday 09:00` through the real receiver: signed HTTP
in, slack_bolt, the records database, the reply posted to Slack's response_url (a
local fake); and the time words, against a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from fakes.channel_stack import SIGNING_SECRET, SlashCommands
from fakes.slack_api import FakeSlack
from temporalio.client import Client

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.slack_client import slack_client
from escalator.policy_source import load_configured_policies
from escalator.receiver.app import SlackConfig, build_receiver, serve
from escalator.receiver.cover import SlackCoverer, parse_until
from escalator.records.oncall import OnCallError, OnCallStore
from escalator.records.store import Store

ANNA, BRAM, DIRK = "U0INV00001", "U0INV00002", "U0BIL00001"


Receiver = SlashCommands


@pytest.fixture
def oncall(tmp_path: Path) -> OnCallStore:
    return OnCallStore(Store.open(f"sqlite:///{tmp_path / 'r.db'}").engine)


@pytest.fixture
async def receiver(client: Client, oncall: OnCallStore) -> AsyncIterator[Receiver]:
    policies = load_configured_policies()
    slack = FakeSlack().start()
    app = build_receiver(
        temporal=client,
        policies=policies,
        ledger=InMemoryLedger(),
        slack=SlackConfig(SIGNING_SECRET, slack_client(slack.token, base_url=slack.api_url)),
        coverer=SlackCoverer(oncall, policies),
    )
    runner = await serve(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            yield Receiver(f"http://127.0.0.1:{runner.addresses[0][1]}", slack, http)
    finally:
        await runner.cleanup()
        slack.stop()


async def test_cover_from_slack(receiver: Receiver, oncall: OnCallStore) -> None:
    reply = await receiver.command(BRAM, f"cover <@{ANNA}|anna> until monday 09:00 dentist")
    assert reply.startswith("bram covers anna for inventory until Mon "), reply
    assert reply.endswith("09:00 UTC (" + oncall.current()[0].id + ")")
    [made] = oncall.current()
    assert (made.role, made.member, made.covers, made.created_by, made.reason) == (
        "inventory", "bram", "anna", "bram", "dentist",
    )  # fmt: skip
    assert made.ends_at.weekday() == 0 and (made.ends_at.hour, made.ends_at.minute) == (9, 0)
    # dirk is in billing, not inventory: refused, and told who may.
    refused = await receiver.command(DIRK, "cover @anna until 18:00")
    assert refused.startswith("Not done: dirk may not change who is on call for inventory")
    assert "anna, bram, chloe" in refused
    assert "Usage" in await receiver.command(BRAM, "cover @anna tomorrow")
    assert len(oncall.current()) == 1


def test_the_time_words() -> None:
    ams = ZoneInfo("Europe/Amsterdam")
    friday = datetime(2026, 3, 6, 17, 30, tzinfo=ams)  # a Friday
    assert parse_until(["monday", "09:00"], friday, ams)[0] == datetime(2026, 3, 9, 9, tzinfo=ams)
    assert parse_until(["fri", "18:00"], friday, ams)[0] == datetime(2026, 3, 6, 18, tzinfo=ams)
    assert parse_until(["fri", "09:00"], friday, ams)[0] == datetime(2026, 3, 13, 9, tzinfo=ams)
    assert parse_until(["08:00"], friday, ams)[0] == datetime(2026, 3, 7, 8, tzinfo=ams)
    assert parse_until(["tomorrow", "07:15", "x"], friday, ams) == (
        datetime(2026, 3, 7, 7, 15, tzinfo=ams),
        ["x"],
    )
    iso = parse_until(["2026-03-09T09:00+01:00"], friday, ams)[0]
    assert iso == datetime(2026, 3, 9, 8, tzinfo=UTC)
    # Across the spring change: Monday 30 March 09:00 is CEST.
    late = datetime(2026, 3, 27, 12, tzinfo=ams)
    assert parse_until(["monday", "09:00"], late, ams)[0].utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    with pytest.raises(OnCallError, match="not a time"):
        parse_until(["soon"], friday, ams)
    with pytest.raises(OnCallError, match="give a time after"):
        parse_until(["monday"], friday, ams)
