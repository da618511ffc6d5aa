"""``POST /alerts/{source}[/{integration}]``: alerts from Alertmanager, Grafana or any JSON
sender become exceptions.

Checked in this order: the integration exists (404), the request is authentic (401/403,
logged, nothing raised), the payload parses (400). Then every alert is mapped to a rule
(`escalator/receiver/alert_mapping.py`): a firing alert raises its exception through
`raise_exception` (signal-with-start, workflow id = dedupe key, so one exception per
fingerprint and a repeat is an occurrence), a resolved one clears its condition (the
exception auto-resolves). The answer comes once Temporal has durably accepted each of
them — Temporal's start is the queue, nothing is held here — so a 202 means none is lost,
and a 503 (Temporal unreachable) makes the sender retry. An alert that maps to no rule is
answered 422, naming what did not match, and recorded in the records database
(`escalator/records/unmatched_alerts.py`, `escalator alerts unmatched`); the others in the
payload are raised. The records never change the answer: with the records unreachable the
unmatched alert is logged in full at ERROR and counted (``outcome="unrecorded"``), and the
answer is still 422 (``"unmatched_recorded": false``). A 5xx would make Alertmanager send
the whole payload again, and every mapped alert in it would count one more occurrence;
Alertmanager repeats a firing alert at its ``repeat_interval`` anyway, and that repeat is
recorded once the records are back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError

from escalator.client import clear_condition, raise_exception
from escalator.policies.integrations import Integration
from escalator.policies.policy_set import PolicySet
from escalator.policies.snapshot import ExceptionPolicy, snapshot
from escalator.receiver.alert_auth import AlertAuth, missing_secrets
from escalator.receiver.alert_mapping import Mapped, Unmatched, map_alert
from escalator.receiver.alert_payloads import Alert, AlertPayloadError, parse_alerts
from escalator.records.unmatched_alerts import UnmatchedAlert, UnmatchedAlertStore
from escalator.workflows.contracts import Detection, dedupe_key

__all__ = ["SOURCES", "AlertWebhook"]

log = logging.getLogger("escalator.receiver.alerts")
SOURCES = ("alertmanager", "grafana", "generic")
_NO_WAIT = timedelta(0)  # answer once Temporal keeps the detection, not the worker
CONCURRENCY = 32  # starts in flight per request: a 1,000-alert payload is not 1,000 at once
RECORDS_WITHIN = 3.0  # seconds: a hung records database must not hold the answer


@dataclass
class _Answer:
    accepted: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    not_open: list[str] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    to_record: list[UnmatchedAlert] = field(default_factory=list)


class AlertWebhook:
    def __init__(
        self,
        *,
        temporal: Client,
        policies: PolicySet,
        task_queue: str,
        secret: Callable[[str], SecretStr | None],
        outage: Callable[[], str | None] | None = None,
        unmatched: Callable[[], Awaitable[UnmatchedAlertStore]] | None = None,
    ) -> None:
        """``unmatched`` opens the records' unmatched alerts (at first use: the receiver
        starts while the database is unreachable); without it they are only logged."""
        self.temporal, self.policies, self.task_queue = temporal, policies, task_queue
        self.auth = AlertAuth(secret)
        self.outage = outage
        self.unmatched = unmatched
        # Served with the receiver's /metrics: an operator can alert on unmatched or
        # refused alerts, which are answered 4xx and raise nothing.
        self.registry = CollectorRegistry()
        self.counted = Counter(
            "escalator_alerts",
            "Alerts received, by integration and outcome (accepted, resolved, not_open, "
            "unmatched, refused, malformed; unrecorded: unmatched and not in the records).",
            ["integration", "outcome"],
            registry=self.registry,
        )
        self._snapshots: dict[tuple[str, str | None, date], ExceptionPolicy] = {}
        for integration in self.integrations():
            missing = missing_secrets(integration, secret)
            if missing:
                log.warning(
                    "integration %r (/alerts/%s) refuses every alert until %s is set",
                    integration.name,
                    integration.source,
                    " and ".join(missing),
                )

    def integrations(self) -> list[Integration]:
        """The declared ones, plus a default per source that has none (bearer token)."""
        declared = list(self.policies.integrations)
        sources = {i.source for i in declared}
        return declared + [Integration(name=s, source=s) for s in SOURCES if s not in sources]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/alerts/{source}", self.handle)
        app.router.add_post("/alerts/{source}/{name}", self.handle)

    def _integration(self, source: str, name: str | None) -> Integration | str:
        if source not in SOURCES:
            return f"unknown alert source {source!r}; post to /alerts/{'|'.join(SOURCES)}"
        of_source = [i for i in self.integrations() if i.source == source]
        if name is not None:
            for i in of_source:
                if i.name == name:
                    return i
            known = ", ".join(i.name for i in of_source)
            return f"no {source} integration named {name!r} (known: {known})"
        if len(of_source) > 1:
            names = ", ".join(i.name for i in of_source)
            return f"several {source} integrations ({names}): post to /alerts/{source}/NAME"
        return of_source[0]

    async def handle(self, request: web.Request) -> web.Response:
        source, name = request.match_info["source"], request.match_info.get("name")
        integration = self._integration(source, name)
        if isinstance(integration, str):
            return web.json_response({"error": integration}, status=404)
        body = await request.read()
        refusal = self.auth.refuse(integration, request.headers, body)
        if refusal is not None:
            self.counted.labels(integration.name, "refused").inc()
            log.warning(
                "refused alerts for integration %r from %s: %s",
                integration.name,
                request.remote,
                refusal.reason,
            )
            return web.json_response({"error": refusal.reason}, status=refusal.status)
        try:
            alerts = parse_alerts(integration, body)
        except AlertPayloadError as err:
            self.counted.labels(integration.name, "malformed").inc()
            log.warning("refused alerts for integration %r: %s", integration.name, err)
            return web.json_response({"error": str(err)}, status=400)
        outage = self.outage() if self.outage else None
        if outage is not None:
            return web.json_response({"error": outage}, status=503)
        try:
            answer = await self.apply(integration, alerts)
        except (RPCError, RuntimeError) as err:
            log.warning("alerts for %r not taken, Temporal: %s", integration.name, err)
            return web.json_response(
                {"error": f"Temporal did not take the alerts ({err}); send them again"},
                status=503,
            )
        for outcome in ("accepted", "resolved", "not_open", "unmatched"):
            found = len(getattr(answer, outcome))
            if found:
                self.counted.labels(integration.name, outcome).inc(found)
        answered: dict[str, Any] = {
            "accepted": answer.accepted,
            "resolved": answer.resolved,
            "not_open": answer.not_open,
            "unmatched": answer.unmatched,
        }
        if answer.to_record:
            problem = await self._record_unmatched(integration, answer.to_record)
            answered["unmatched_recorded"] = problem is None
            if problem is not None:
                answered["records_error"] = problem
        return web.json_response(answered, status=422 if answer.unmatched else 202)

    async def _record_unmatched(
        self, integration: Integration, alerts: list[UnmatchedAlert]
    ) -> str | None:
        """Keep the unmatched alerts in the records; what went wrong, or None."""
        if self.unmatched is None:
            problem = "this receiver keeps no records of unmatched alerts"
        else:
            try:
                async with asyncio.timeout(RECORDS_WITHIN):
                    store = await self.unmatched()
                    await store.record_async(alerts, datetime.now(UTC))
                return None
            except (SQLAlchemyError, OSError, TimeoutError) as err:
                problem = f"the records database did not take them: {type(err).__name__}: {err}"
        self.counted.labels(integration.name, "unrecorded").inc(len(alerts))
        for a in alerts:  # the log is then the only place the alert is kept
            log.error(
                "unmatched alert %s from integration %r not recorded (%s): status=%s "
                "labels=%s annotations=%s reason=%s",
                a.fingerprint,
                integration.name,
                problem,
                a.status,
                a.labels,
                a.annotations,
                a.reason,
            )
        return problem.split("\n")[0]

    async def apply(self, integration: Integration, alerts: list[Alert]) -> _Answer:
        answer = _Answer()
        gate = asyncio.Semaphore(CONCURRENCY)
        now = datetime.now(UTC)

        async def one(index: int, alert: Alert) -> None:
            mapped = map_alert(alert, integration, self.policies)
            if isinstance(mapped, Unmatched):
                log.warning(
                    "alert %s from integration %r maps to no rule: %s",
                    alert.fingerprint,
                    integration.name,
                    mapped.reason,
                )
                answer.unmatched.append(
                    {"alert": index, "fingerprint": alert.fingerprint, "reason": mapped.reason}
                )
                answer.to_record.append(
                    UnmatchedAlert(
                        integration=integration.name,
                        source=integration.source,
                        fingerprint=alert.fingerprint,
                        status=alert.status,
                        labels=alert.labels,
                        annotations=alert.annotations,
                        reason=mapped.reason,
                    )
                )
                return
            key = dedupe_key(mapped.journey, mapped.rule, mapped.subject)
            async with gate:
                if alert.status == "resolved":
                    cleared = await clear_condition(
                        self.temporal,
                        mapped.journey,
                        mapped.rule,
                        mapped.subject,
                        at=alert.ends_at or now,
                        reason=f"alert resolved in {integration.source} ({integration.name})",
                    )
                    (answer.resolved if cleared else answer.not_open).append(key)
                    return
                await raise_exception(
                    self.temporal,
                    self._detection(integration, alert, mapped, now),
                    policy=self._policy(mapped, now),
                    task_queue=self.task_queue,
                    outcome_within=_NO_WAIT,
                )
                answer.accepted.append(key)

        await asyncio.gather(*(one(i, a) for i, a in enumerate(alerts)))
        return answer

    def _policy(self, mapped: Mapped, now: datetime) -> ExceptionPolicy:
        cache_key = (mapped.rule, mapped.severity, now.date())
        policy = self._snapshots.get(cache_key)
        if policy is None:
            policy = snapshot(self.policies, mapped.rule, now)
            if mapped.severity is not None:
                rule = policy.rule.model_copy(update={"severity": mapped.severity})
                policy = policy.model_copy(update={"rule": rule})
            self._snapshots = {k: v for k, v in self._snapshots.items() if k[2] == now.date()}
            self._snapshots[cache_key] = policy
        return policy

    @staticmethod
    def _detection(
        integration: Integration, alert: Alert, mapped: Mapped, now: datetime
    ) -> Detection:
        attributes = {
            "alert_source": integration.source,
            "integration": integration.name,
            "fingerprint": alert.fingerprint,
            **alert.labels,
            **{f"annotation.{k}": v for k, v in alert.annotations.items()},
        }
        if alert.url:
            attributes["generator_url"] = alert.url
        return Detection(
            journey=mapped.journey,
            rule=mapped.rule,
            subject=mapped.subject,
            onset=alert.starts_at or now,
            # Each notification of a firing alert is an occurrence of its exception.
            detected_at=now,
            attributes=attributes,
            payload={
                "alert": {
                    "source": integration.source,
                    "integration": integration.name,
                    "fingerprint": alert.fingerprint,
                    "labels": alert.labels,
                    "annotations": alert.annotations,
                    "url": alert.url,
                }
            },
        )
