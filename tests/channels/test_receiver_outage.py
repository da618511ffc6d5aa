"""`escalator receiver` while Temporal is down, and when it comes up: a real process, a real
dev server started later on the address the receiver was given, real signed Slack requests.

The receiver answers /healthz at once, /readyz 503 naming Temporal, a button click with an
ephemeral "try again" (posted to the click's response_url) and a slash command with the
same sentence; once the dev server runs, /readyz turns 200 and clicks reach Temporal,
without restarting the receiver.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fakes.channel_stack import (
    SIGNING_SECRET,
    block_actions_body,
    eventually,
    slack_headers,
    view_submission_body,
)
from fakes.slack_api import FakeSlack
from temporalio.testing import WorkflowEnvironment

from escalator.activities.button_values import ButtonValue
from escalator.stack.temporal_binaries import dev_server_path
from escalator.workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.temporal
ANNA = "U0INV00001"  # inventory, in the shipped starter policies
XID = "exc:orderToShip:awaiting_inventory:o-outage"
OUTAGE = "escalator cannot reach Temporal right now"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def click_body(response_url: str) -> str:
    value = ButtonValue(exception_id=XID, action="ack").encode()
    action = {"action_id": "escalator.ack", "type": "button", "value": value}
    return block_actions_body(ANNA, action, response_url)


def submission_body() -> str:
    """The Resolve modal submitted (the note typed in it must survive the outage)."""
    value = ButtonValue(exception_id=XID, action="resolve").encode()
    return view_submission_body(
        ANNA,
        "escalator.resolve_modal",
        value,
        {
            "note": {"note": {"type": "plain_text_input", "value": "restocked"}},
            "cause": {"cause": {"type": "plain_text_input", "value": None}},
        },
    )


def command_body(response_url: str) -> str:
    return urllib.parse.urlencode(
        {
            "command": "/escalator",
            "text": f"ack {XID}",
            "user_id": ANNA,
            "team_id": "T0TEAM",
            "channel_id": "C0INVENTORY",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


async def test_receiver_starts_without_temporal_and_becomes_ready_when_it_comes(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    temporal_port, port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",  # nothing listens there yet
        "ESCALATOR_STATE_DIR": str(tmp_path / "state"),
        "ESCALATOR_RECEIVER_HOST": "127.0.0.1",
        "ESCALATOR_RECEIVER_PORT": str(port),
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "escalator.cli.main",
        "receiver",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    server: WorkflowEnvironment | None = None
    try:
        async with aiohttp.ClientSession() as http:

            async def get(path: str) -> tuple[int, dict[str, Any]] | None:
                try:
                    async with http.get(url + path) as resp:
                        return resp.status, await resp.json()
                except aiohttp.ClientConnectionError:
                    return None

            async def post(body: str) -> tuple[int, str, float]:
                began = time.monotonic()
                async with http.post(
                    f"{url}/slack/events", data=body, headers=slack_headers(body)
                ) as resp:
                    return resp.status, await resp.text(), time.monotonic() - began

            health = await eventually(lambda: get("/healthz"), within=20)
            assert health == (200, {"ok": True, "slack": True, "sms": False})

            async def probed_unready() -> dict[str, Any] | None:
                got = await get("/readyz")
                if got and got[0] == 503 and "connection refused" in got[1]["temporal"]:
                    return got[1]
                return None

            ready = await eventually(probed_unready, within=20)
            assert ready["ready"] is False
            assert list(ready["missing"]) == ["temporal"]
            assert (
                f"cannot reach Temporal at 127.0.0.1:{temporal_port}"
                in (ready["missing"]["temporal"])
            )
            assert ready["records"] == "ok" and ready["policies"].endswith("roles")

            # A button click: 200 at once, the reason posted ephemerally, nothing replaced.
            status, _, took = await post(click_body(fake_slack.response_url))
            assert status == 200 and took < 3  # Slack's limit
            await eventually(lambda: fake_slack.responses)
            notice = fake_slack.responses[0]
            assert OUTAGE in notice["text"] and "nothing was changed" in notice["text"]
            assert notice["response_type"] == "ephemeral"
            assert notice["replace_original"] is False
            # A slash command: the same sentence as its ephemeral answer.
            status, text, took = await post(command_body(fake_slack.response_url))
            assert status == 200 and took < 3
            answer = json.loads(text)
            assert answer["response_type"] == "ephemeral" and OUTAGE in answer["text"]
            # A modal submission: the sentence as the note field's error; the modal stays.
            status, text, took = await post(submission_body())
            assert status == 200 and took < 3
            errors = json.loads(text)
            assert errors["response_action"] == "errors" and OUTAGE in errors["errors"]["note"]

            # Temporal comes up on the address the receiver was given.
            path = dev_server_path()
            assert path is not None
            server = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(path),
                port=temporal_port,
                search_attributes=list(ALL_KEYS),
                dev_server_log_level="error",
            )

            async def probed_ready() -> dict[str, Any] | None:
                got = await get("/readyz")
                return got[1] if got and got[0] == 200 else None

            ready = await eventually(probed_ready, within=30)
            assert ready["ready"] is True and ready["missing"] == {}
            assert ready["temporal"] == "ok"
            assert "no worker is polling task queue" in ready["worker"]
            # The same click now reaches Temporal (which has no such exception).
            fake_slack.responses.clear()
            status, _, _ = await post(click_body(fake_slack.response_url))
            assert status == 200
            await eventually(lambda: fake_slack.responses)
            assert fake_slack.responses[0]["text"] == f"Not done: no open exception {XID}"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        if server is not None:
            await server.shutdown()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err, err.decode()
    assert b"cannot reach Temporal at" in err  # logged once when the outage is seen
