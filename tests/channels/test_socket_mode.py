"""Socket Mode: the same bolt listeners, reached over a websocket instead of HTTP.

The fake Slack API hands out its own websocket from apps.connections.open and
pushes an envelope as Slack would; slack_sdk's SocketModeClient must ack it
and the command must reach the workflow.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import aiohttp
import pytest
from fakes.channel_stack import ChannelStack, eventually

from escalator.activities.slack_client import slack_client
from escalator.receiver.app import SlackConfig, build_receiver, run_socket_mode, serve
from escalator.workflows.contracts import ExceptionState

pytestmark = pytest.mark.temporal


async def test_slash_command_over_socket_mode(stack: ChannelStack) -> None:
    xid = await stack.raise_exception()
    await stack.message_for(xid)
    fake = stack.slack
    app = build_receiver(
        temporal=stack.client,
        policies=stack.policies,
        ledger=stack.ledger,
        slack=SlackConfig(
            signing_secret=None, client=slack_client(fake.token, base_url=fake.api_url)
        ),
    )
    runner = await serve(app, "127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(run_socket_mode(app, fake.app_token, stop))
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/slack/events", data="x") as resp,
        ):
            assert resp.status == 404  # no signing secret: Slack is not served over HTTP

        await eventually(lambda: fake.connected_sockets == 1)
        fake.push(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/escalator",
                    "text": f"ack {xid}",
                    "user_id": "U0INV00001",
                    "team_id": "T0TEAM",
                    "channel_id": "C0INVENTORY",
                    "response_url": fake.response_url,
                    "trigger_id": "1.2.3",
                },
            }
        )
        acks = await eventually(
            lambda: [a for a in fake.socket_acks if a.get("envelope_id") == "env-1"]
        )
        assert len(acks) == 1
        status = await stack.status(xid)
        assert (status.state, status.acknowledged_by) == (ExceptionState.ACKNOWLEDGED, "anna")
        await eventually(lambda: fake.responses)
        assert fake.responses[0]["text"].startswith("acknowledged by anna")
    finally:
        stop.set()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        await runner.cleanup()
