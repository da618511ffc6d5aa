"""The fake providers' time-based fault modes, over real HTTP (the suite's building block)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from fakes.slack_api import FakeSlack, fake_slack_fixture

pytestmark = pytest.mark.faults

POST = {"channel": "#ops-inventory", "text": "page"}


slack = pytest.fixture(fake_slack_fixture, name="slack")


def _auth(slack: FakeSlack) -> dict[str, str]:
    return {"Authorization": f"Bearer {slack.token}"}


async def test_outage_answers_429_with_retry_after_then_recovers(slack: FakeSlack) -> None:
    slack.faults.outage("chat.postMessage", 429, seconds=0.5, retry_after=7)
    url = slack.api_url + "chat.postMessage"
    async with aiohttp.ClientSession(headers=_auth(slack)) as http:
        async with http.post(url, json=POST) as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "7"
        assert not slack.messages
        await asyncio.sleep(0.6)
        async with http.post(url, json=POST) as resp:
            assert resp.status == 200 and (await resp.json())["ok"]
    assert len(slack.messages) == 1 and slack.faults.refused["chat.postMessage"] == 1


async def test_reset_drops_the_connection_and_stores_nothing(slack: FakeSlack) -> None:
    slack.faults.reset("chat.postMessage", seconds=5)
    async with aiohttp.ClientSession(headers=_auth(slack)) as http:
        with pytest.raises(aiohttp.ClientError):
            async with http.post(slack.api_url + "chat.postMessage", json=POST):
                pass
    assert not slack.messages


async def test_stall_after_accept_stores_the_message_before_answering(slack: FakeSlack) -> None:
    slack.faults.stall_after_accept("chat.postMessage", count=1, seconds=2)
    timeout = aiohttp.ClientTimeout(total=0.5)
    async with aiohttp.ClientSession(headers=_auth(slack), timeout=timeout) as http:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with http.post(slack.api_url + "chat.postMessage", json=POST):
                pass
        assert time.monotonic() - started < 1.5
        assert len(slack.messages) == 1  # accepted: the answer is what got lost
        async with http.post(slack.api_url + "chat.postMessage", json=POST) as resp:
            assert resp.status == 200  # the stall held one request only
    assert slack.faults.stalled["chat.postMessage"] == 1
