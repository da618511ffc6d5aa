"""`escalator receiver` as users run it: a process configured by environment variables."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import urllib.parse
from pathlib import Path

import aiohttp
import pytest
from fakes.channel_stack import SIGNING_SECRET, eventually, slack_headers
from fakes.slack_api import FakeSlack
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.policy_source import load_configured_policies
from escalator.receiver.app import build_receiver, serve

pytestmark = pytest.mark.temporal


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_receiver_process_serves_and_stops_on_sigterm(
    temporal_env: WorkflowEnvironment, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "ESCALATOR_STATE_DIR": str(tmp_path / "state"),
        "ESCALATOR_RECEIVER_HOST": "127.0.0.1",
        "ESCALATOR_RECEIVER_PORT": str(port),
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "twilio-test-token",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "escalator.cli.main",
        "receiver",
        cwd=tmp_path,  # no stray .env from the checkout
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> dict | None:
                try:
                    async with http.get(f"{url}/healthz") as resp:
                        return await resp.json() if resp.status == 200 else None
                except aiohttp.ClientConnectionError:
                    return None

            assert await eventually(healthy, within=20) == {"ok": True, "slack": True, "sms": True}
            body = urllib.parse.urlencode(
                {
                    "command": "/escalator",
                    "text": "list",
                    "user_id": "U0STRANGER",
                    "team_id": "T0TEAM",
                    "channel_id": "C0INVENTORY",
                    "response_url": fake_slack.response_url,
                    "trigger_id": "1.2.3",
                }
            )
            async with http.post(
                f"{url}/slack/events", data=body, headers=slack_headers(body)
            ) as resp:
                assert resp.status == 200
            await eventually(lambda: fake_slack.responses)
            assert "not a member of any escalator role" in fake_slack.responses[0]["text"]
            async with http.post(
                f"{url}/slack/events", data=body, headers=slack_headers(body, secret="x")
            ) as resp:
                assert resp.status == 401
            # escalator's metrics from the records store (empty store: no exceptions open).
            async with http.get(f"{url}/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
            assert "# TYPE escalator_open_exceptions gauge" in text
            assert "# TYPE escalator_time_to_restore_seconds histogram" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert b"escalator receiver on http://127.0.0.1" in out
    assert out.rstrip().endswith(b"escalator receiver: stopped")


async def test_receiver_refuses_to_start_on_a_broken_policy(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "roles.yaml").write_text("roles:\n  - name: inventory\n    members: []\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "ESCALATOR_STATE_DIR": str(tmp_path / "state"),
        "ESCALATOR_POLICY_DIR": str(policy_dir),
        "ESCALATOR_RECEIVER_PORT": str(free_port()),
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
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"the policies do not load" in err and b"roles.yaml" in err


async def test_without_credentials_only_health_is_served(client: Client) -> None:
    app = build_receiver(
        temporal=client, policies=load_configured_policies(), ledger=InMemoryLedger()
    )
    runner = await serve(app, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as resp:
                assert await resp.json() == {"ok": True, "slack": False, "sms": False}
            for path in ("/slack/events", "/twilio/sms"):
                async with http.post(url + path, data="x") as resp:
                    assert resp.status == 404
    finally:
        await runner.cleanup()
