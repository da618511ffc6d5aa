"""`/escalator silence ...` through the real receiver: signed HTTP in, slack_bolt, the
records database, the reply posted to Slack's response_url (a local fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from fakes.channel_stack import SIGNING_SECRET, SlashCommands
from fakes.slack_api import FakeSlack
from temporalio.client import Client

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.slack_client import slack_client
from escalator.policy_source import load_configured_policies
from escalator.receiver.app import SlackConfig, build_receiver, serve
from escalator.receiver.silence import SlackSilencer, parse_silence
from escalator.records.silences import SilenceStore
from escalator.records.store import Store

ANNA, STRANGER = "U0INV00001", "U0STRANGER"


Receiver = SlashCommands


@pytest.fixture
def silences(tmp_path: Path) -> SilenceStore:
    return SilenceStore(Store.open(f"sqlite:///{tmp_path / 'r.db'}").engine)


@pytest.fixture
async def receiver(client: Client, silences: SilenceStore) -> AsyncIterator[Receiver]:
    policies = load_configured_policies()
    slack = FakeSlack().start()
    app = build_receiver(
        temporal=client,
        policies=policies,
        ledger=InMemoryLedger(),
        slack=SlackConfig(SIGNING_SECRET, slack_client(slack.token, base_url=slack.api_url)),
        silencer=SlackSilencer(silences, policies),
    )
    runner = await serve(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            yield Receiver(f"http://127.0.0.1:{runner.addresses[0][1]}", slack, http)
    finally:
        await runner.cleanup()
        slack.stop()


async def test_silence_from_slack(receiver: Receiver, silences: SilenceStore) -> None:
    reply = await receiver.command(
        ANNA, "silence orderToShip/awaiting_inventory site=ams for 2h stock count in hall 3"
    )
    assert reply.startswith("Silenced: sil-"), reply
    [created] = silences.all()
    assert (created.rule, created.labels, created.created_by) == (
        "awaiting_inventory", {"site": "ams"}, "anna",
    )  # fmt: skip
    assert created.reason == "stock count in hall 3"
    assert created.id in await receiver.command(ANNA, "silence list")
    assert (await receiver.command(ANNA, f"silence expire {created.id}")).startswith("Expired:")
    assert await receiver.command(ANNA, "silence list") == "No active silences."


async def test_bad_silences_are_refused_with_the_reason(
    receiver: Receiver, silences: SilenceStore
) -> None:
    reply = await receiver.command(ANNA, "silence orderToShipp for 2h typo")
    assert reply.startswith("Not done: --journey 'orderToShipp': no such journey")
    reply = await receiver.command(ANNA, "silence orderToShip stock count")
    assert "say how long" in reply
    assert "not a member" in await receiver.command(STRANGER, "silence orderToShip for 1h x")
    assert silences.all() == []


def test_parse_until_resolved() -> None:
    req = parse_silence(
        "orderToShip until-resolved exc:orderToShip:label_print_failed:w1 printer down", "farid"
    )
    assert (req.journey, req.rule, req.until_resolved, req.reason) == (
        "orderToShip", None, "exc:orderToShip:label_print_failed:w1", "printer down",
    )  # fmt: skip
