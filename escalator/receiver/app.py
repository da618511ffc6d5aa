"""`escalator receiver`: the HTTP endpoint owners answer through.

Routes: ``/slack/events`` (Slack events, interactivity and the slash
command), ``/twilio/sms`` (inbound SMS), ``/alerts/{source}`` (Alertmanager, Grafana and
generic alerts: `escalator/receiver/alerts.py`), ``/oncall/ROLE.ics`` and
``/oncall/members/NAME.ics`` (on-call shifts as iCal feeds: `escalator/receiver/oncall_feeds.py`),
``/healthz`` (the process answers) and
``/readyz`` (Temporal, records and policies are there: `escalator/receiver/ready.py`).
While Temporal is unreachable, Slack requests get an ephemeral "try again"
(`escalator/receiver/outage.py`) and SMS replies a "try again" text. One aiohttp server
on one event loop: slack_bolt's AsyncApp runs inside it, and the Temporal
client the responses need is async too, so a click becomes a workflow
update without threads. With ``SLACK_APP_TOKEN`` set, Slack is reached
over Socket Mode instead (no public URL needed); the HTTP routes stay up
for Twilio and health checks.

Slack requests are checked before bolt sees them: signature, five-minute
timestamp window, and a replay guard over the signatures already used.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from escalator.activities.delivery_ledger import DeliveryLedger
from escalator.policies.policy_set import PolicySet
from escalator.receiver.alerts import AlertWebhook
from escalator.receiver.directory import MemberDirectory
from escalator.receiver.heartbeats import HeartbeatEndpoint
from escalator.receiver.listing import OpenException, list_open
from escalator.receiver.oncall_feeds import OnCallFeeds
from escalator.receiver.outage import answer_during_outage
from escalator.receiver.ready import Readiness
from escalator.receiver.responses import ResponseApplier
from escalator.receiver.security import ReplayGuard, SlackRequestCheck
from escalator.receiver.silence_button import SilenceFromMessage, StoreOpener
from escalator.receiver.slack import Lister, Silencer, slack_app
from escalator.receiver.sms import SmsWebhook
from escalator.receiver.take_shift import ShiftTaker

__all__ = ["BOLT", "SlackConfig", "build_receiver"]

log = logging.getLogger("escalator.receiver")
BOLT = web.AppKey("bolt", AsyncApp)  # Socket Mode drives the same bolt app


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str | None  # None: Socket Mode only, /slack/events is not served
    client: AsyncWebClient


def build_receiver(
    *,
    temporal: Client,
    policies: PolicySet,
    ledger: DeliveryLedger,
    slack: SlackConfig | None = None,
    twilio_auth_token: str | None = None,
    public_url: str | None = None,
    lister: Lister | None = None,
    silencer: Silencer | None = None,
    coverer: Silencer | None = None,
    taker: ShiftTaker | None = None,
    silences: StoreOpener | None = None,
    metrics: Callable[[], bytes] | None = None,
    ready: Readiness | None = None,
    alerts: AlertWebhook | None = None,
    heartbeat_token: str | None = None,
    feeds: OnCallFeeds | None = None,
) -> web.Application:
    """``silences`` opens the records' silences: with it, the Silence menu of each
    exception's Slack message works (without it, the receiver says it does not know
    that action). ``ready``: serve /readyz from it, and answer Slack at once while it
    finds Temporal unreachable. ``alerts``: serve /alerts/{source}. ``feeds``: serve the
    on-call iCal feeds /oncall/ROLE.ics and /oncall/members/NAME.ics."""
    directory = MemberDirectory(policies)
    responses = ResponseApplier(temporal, task_queue=ready.task_queue if ready else None)

    async def default_lister(roles: list[str]) -> list[OpenException]:
        return await list_open(temporal, roles)

    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "slack": slack is not None, "sms": bool(twilio_auth_token)}
        )

    app.router.add_get("/healthz", healthz)
    if ready is not None:
        app.router.add_get("/readyz", ready.readyz)

    if metrics is not None:
        exposition = metrics

        async def metrics_page(request: web.Request) -> web.Response:
            body = await asyncio.to_thread(exposition)
            if alerts is not None:  # the receiver's own counts of alerts received
                body += generate_latest(alerts.registry)
            return web.Response(body=body, content_type="text/plain", charset="utf-8")

        app.router.add_get("/metrics", metrics_page)

    if slack is not None:
        bolt = slack_app(
            signing_secret=slack.signing_secret,
            client=slack.client,
            directory=directory,
            responses=responses,
            lister=lister or default_lister,
            silencer=silencer,
            silence_menu=SilenceFromMessage(responses, silences, policies) if silences else None,
            coverer=coverer,
            taker=taker,
        )
        app[BOLT] = bolt

    if slack is not None and slack.signing_secret:
        check = SlackRequestCheck(slack.signing_secret, ReplayGuard())

        async def slack_events(request: web.Request) -> web.Response:
            body = await request.text()
            reason = check.refuse(
                body,
                request.headers.get("X-Slack-Request-Timestamp"),
                request.headers.get("X-Slack-Signature"),
            )
            if reason:
                log.warning("refused Slack request from %s: %s", request.remote, reason)
                return web.Response(status=401, text=reason)
            outage = ready.outage() if ready is not None else None
            if outage is not None:
                answer = await answer_during_outage(body, outage)
                if answer is not None:
                    log.warning("answered a Slack request during the Temporal outage")
                    return answer
            try:
                bolt_answer = await request.app[BOLT].async_dispatch(
                    AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
                )
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
                log.warning("refused malformed Slack request: %r", err)
                return web.Response(status=400, text="malformed Slack payload")
            return await to_aiohttp_response(bolt_answer)

        app.router.add_post("/slack/events", slack_events)

    if twilio_auth_token:
        sms = SmsWebhook(
            auth_token=twilio_auth_token,
            directory=directory,
            ledger=ledger,
            responses=responses,
            public_url=public_url,
        )
        app.router.add_post("/twilio/sms", sms.handle)
    if alerts is not None:
        alerts.routes(app)
    if feeds is not None:
        feeds.add_to(app)
    task_queue = ready.task_queue if ready else "escalator"
    HeartbeatEndpoint(temporal, policies, heartbeat_token, task_queue).add_to(app)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def run_socket_mode(app: web.Application, app_token: str, stop: asyncio.Event) -> None:
    """Slack over Socket Mode: the same bolt listeners, events pushed over a websocket."""
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app[BOLT], app_token)
    await handler.connect_async()
    try:
        await stop.wait()
    finally:
        await handler.close_async()
