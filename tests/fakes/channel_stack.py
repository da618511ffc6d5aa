"""Everything between an exception and an owner's reply, real except Slack and Twilio:
a Temporal worker running the EscalationWorkflow with the Slack and SMS senders
(real clients pointed at the fakes), and the receiver served over HTTP on a
random port, driven by real signed requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

import aiohttp
from pydantic import SecretStr
from temporalio.client import Client
from twilio.request_validator import RequestValidator

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.records import InMemoryRecorder, Recorder
from escalator.activities.routing import Decide, always_page
from escalator.activities.slack_client import slack_client
from escalator.activities.slack_context import policy_context
from escalator.activities.slack_sender import SlackSender
from escalator.activities.sms_sender import SmsSender
from escalator.activities.sms_twilio import twilio_client
from escalator.client import raise_exception, with_pydantic
from escalator.policies.policy_set import PolicySet
from escalator.policy_source import load_configured_policies
from escalator.receiver.alerts import AlertWebhook
from escalator.receiver.app import SlackConfig, build_receiver, serve
from escalator.receiver.silence_button import StoreOpener
from escalator.receiver.slack import Silencer
from escalator.records.unmatched_alerts import UnmatchedAlertStore
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import Detection, ExceptionStatus

from .slack_api import FakeSlack, Message
from .twilio_api import FakeTwilio

__all__ = [
    "SIGNING_SECRET",
    "TWILIO_FROM",
    "ChannelStack",
    "block_actions_body",
    "channel_stack",
    "eventually",
    "view_submission_body",
]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TWILIO_FROM = "+3197010000000"
T = TypeVar("T")


# Two overloads, so that T is what the check (sync or async) returns once it succeeds: a
# single `Callable[[], Awaitable[T] | T]` leaves mypy unable to solve T. `None` is left
# out of T since a falsy result is never returned.
@overload
async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T: ...
@overload
async def eventually(check: Callable[[], T | None], within: float = 10.0) -> T: ...
async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll until ``check`` returns something truthy without raising; then return it."""
    deadline = time.monotonic() + within
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            error: BaseException | None = None
        except AssertionError as err:
            error = err
        if time.monotonic() > deadline:
            if error:
                raise error
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


def slack_headers(
    body: str, *, secret: str = SIGNING_SECRET, ts: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def block_actions_body(
    user: str,
    action: dict[str, Any],
    response_url: str,
    message: Message | None = None,
    **extra: Any,
) -> str:
    """The form body of a click by ``user`` on a button or menu (``action``, in the block
    ``escalator.actions`` unless it names another) of ``message`` (without one: a message
    in C0INVENTORY); ``extra`` fields go into the payload as they are."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": "T0TEAM"},
        "user": {"id": user, "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": "1337.42.abcd",
        "response_url": response_url,
        "channel": {"id": message.channel if message else "C0INVENTORY"},
        "container": {"type": "message", "message_ts": message.ts if message else "1.1"},
        "actions": [{"block_id": "escalator.actions", "action_ts": "1.2", **action}],
        **extra,
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


def view_submission_body(
    user: str, callback_id: str, private_metadata: str, values: dict[str, Any]
) -> str:
    """The form body of a modal submitted by ``user``: the modal's callback id and private
    metadata, and the answers in it (``values``, as Slack gives them: block, action, value)."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM"},
        "user": {"id": user},
        "api_app_id": "A0APP",
        "view": {
            "id": "V0VIEW",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
        },
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


@dataclass
class ChannelStack:
    client: Client
    policies: PolicySet
    slack: FakeSlack
    twilio: FakeTwilio
    ledger: InMemoryLedger
    url: str
    http: aiohttp.ClientSession
    task_queue: str

    async def raise_exception(self, subject: str | None = None) -> str:
        # A fresh case per test: the Temporal server outlives each test's worker.
        subject = subject or f"ORD-{uuid.uuid4().hex[:8]}"
        detection = Detection(
            journey="orderToShip",
            rule="awaiting_inventory",
            subject=subject,
            onset=datetime.now(UTC),
            payload={"waiting_for": "sku-42"},
        )
        raised = await raise_exception(
            self.client, detection, policies=self.policies, task_queue=self.task_queue
        )
        return raised.exception_id

    async def status(self, exception_id: str) -> ExceptionStatus:
        handle = with_pydantic(self.client).get_workflow_handle(exception_id)
        return await handle.query("status", result_type=ExceptionStatus)

    async def message_for(self, exception_id: str, channel: str = "C0INVENTORY") -> Message:
        def posted() -> Message | None:
            for m in self.slack.top_level(channel):
                if (m.metadata or {}).get("event_payload", {}).get("exception_id") == exception_id:
                    return m
            return None

        return await eventually(posted)

    # --- Slack ---

    async def post_slack(self, body: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        async with self.http.post(
            f"{self.url}/slack/events", data=body.encode(), headers=headers or slack_headers(body)
        ) as resp:
            return resp.status, await resp.text()

    def action_body(
        self, user: str, action: dict[str, Any], message: Message | None = None, **extra: Any
    ) -> str:
        return block_actions_body(user, action, self.slack.response_url, message, **extra)

    def command_body(self, user: str, text: str) -> str:
        return urllib.parse.urlencode(
            {
                "command": "/escalator",
                "text": text,
                "user_id": user,
                "team_id": "T0TEAM",
                "channel_id": "C0INVENTORY",
                "response_url": self.slack.response_url,
                "trigger_id": "1.2.3",
                "token": "legacy",
            }
        )

    # --- Twilio ---

    async def post_sms(
        self, sender: str, body: str, *, sid: str | None = None, signature: str | None = None
    ) -> tuple[int, str]:
        url = f"{self.url}/twilio/sms"
        form = {
            "MessageSid": sid or f"SM{time.monotonic_ns():032x}",
            "AccountSid": self.twilio.account_sid,
            "From": sender,
            "To": TWILIO_FROM,
            "Body": body,
        }
        sig = signature or RequestValidator(self.twilio.auth_token).compute_signature(url, form)
        async with self.http.post(url, data=form, headers={"X-Twilio-Signature": sig}) as resp:
            return resp.status, await resp.text()


@asynccontextmanager
async def channel_stack(
    client: Client,
    task_queue: str,
    *,
    recorder: Recorder | None = None,
    decide: Decide | None = None,
    silences: StoreOpener | None = None,
    silencer: Silencer | None = None,
    policies: PolicySet | None = None,
    alert_secrets: dict[str, str] | None = None,
    metrics: Callable[[], bytes] | None = None,
    unmatched_alerts: Callable[[], Awaitable[UnmatchedAlertStore]] | None = None,
) -> AsyncIterator[ChannelStack]:
    """``recorder``, ``decide``, ``silences`` and ``silencer`` default to what the receiver
    and worker tests need (in-memory records, always page, no silences). With
    ``alert_secrets`` (environment variable name → secret) the receiver serves /alerts;
    with ``metrics`` (an exposition), /metrics; with ``unmatched_alerts``, alerts that map
    to no rule are kept there."""
    policies = policies or load_configured_policies()
    slack, twilio = FakeSlack().start(), FakeTwilio().start()
    ledger = InMemoryLedger()
    slack_sender = SlackSender(
        slack_client(slack.token, base_url=slack.api_url, backoff=0.01),
        ledger,
        policy_context(policies),
    )
    sms_sender = SmsSender(
        twilio_client(
            twilio.account_sid, twilio.auth_token, base_url=twilio.base_url, backoff=0.01
        ),
        ledger,
        TWILIO_FROM,
    )
    wiring = Wiring(
        recorder=recorder or InMemoryRecorder(),
        decide=decide or always_page,
        senders={
            "slack": slack_sender,
            "slack_dm": slack_sender,
            "sms": sms_sender,
            "voice": sms_sender,
        },
    )
    app = build_receiver(
        temporal=client,
        policies=policies,
        ledger=ledger,
        slack=SlackConfig(SIGNING_SECRET, slack_client(slack.token, base_url=slack.api_url)),
        twilio_auth_token=twilio.auth_token,
        silencer=silencer,
        silences=silences,
        metrics=metrics,
        alerts=None
        if alert_secrets is None
        else AlertWebhook(
            temporal=client,
            policies=policies,
            task_queue=task_queue,
            secret=lambda name: SecretStr(alert_secrets[name]) if name in alert_secrets else None,
            unmatched=unmatched_alerts,
        ),
    )
    runner = await serve(app, "127.0.0.1", 0)
    port = runner.addresses[0][1]
    try:
        async with build_worker(client, task_queue, wiring), aiohttp.ClientSession() as http:
            yield ChannelStack(
                client=client,
                policies=policies,
                slack=slack,
                twilio=twilio,
                ledger=ledger,
                url=f"http://127.0.0.1:{port}",
                http=http,
                task_queue=task_queue,
            )
    finally:
        await runner.cleanup()
        slack.stop()
        twilio.stop()


class SlashCommands:
    """Slash commands typed into Slack, signed and posted to the receiver; the reply is
    what the fake Slack got at the response URL."""

    def __init__(self, url: str, slack: Any, http: Any) -> None:
        self.url, self.slack, self.http = url, slack, http

    async def command(self, user: str, text: str) -> str:
        body = urllib.parse.urlencode(
            {"command": "/escalator", "text": text, "user_id": user, "team_id": "T0TEAM",
             "channel_id": "C0INVENTORY", "response_url": self.slack.response_url,
             "trigger_id": f"1.2.{len(self.slack.responses)}", "token": "legacy"}
        )  # fmt: skip
        before = len(self.slack.responses)
        async with self.http.post(
            f"{self.url}/slack/events", data=body.encode(), headers=slack_headers(body)
        ) as resp:
            assert resp.status == 200
        await eventually(lambda: len(self.slack.responses) > before)
        return str(self.slack.responses[-1]["text"])
