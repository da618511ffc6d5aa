"""The per-role digest: the role's ticket-level exceptions and each journey's SLO status,
posted once a day to the role's Slack channel (console without credentials).

What a ticket is: an exception routing sent to the digest instead of
interrupting someone (``routing_decision = 'ticket'`` in the records), still
open. The SLO lines come from a `DigestSource`; the worker's one reads the
records database and the journeys' event logs (the same ones routing uses).
The message goes out through the channel protocol as a `Notification` with
reason ``digest``, idempotent on role and day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import polars as pl
import sqlalchemy as sa
from temporalio import activity

from activities.channels import ChannelSender
from analytics.sli import sli_outcomes
from analytics.slo import slo_status
from policies.journeys import Journey
from workflows.activity_contracts import Notification
from workflows.contracts import ExceptionState, ExceptionStatus
from workflows.digest_contracts import ACTIVITY_POST_DIGEST, DigestRequest, DigestResult

__all__ = [
    "DigestActivities",
    "DigestSource",
    "NoDigestData",
    "StoreDigestSource",
    "TicketLine",
    "render_digest",
]


@dataclass(frozen=True)
class TicketLine:
    exception_id: str
    journey: str
    rule: str
    subject: str
    detected_at: datetime
    reason: str  # the routing reason


class DigestSource(Protocol):
    async def tickets(self, role: str) -> list[TicketLine]: ...

    async def slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]: ...


class NoDigestData:
    """No records wired: a digest that says so rather than failing."""

    async def tickets(self, role: str) -> list[TicketLine]:
        return []

    async def slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]:
        return [f"{j.name}: no event log configured for SLO status" for j in journeys]


@dataclass
class StoreDigestSource:
    """Tickets from the records database; SLO status from each journey's event log."""

    engine: sa.Engine
    logs: Mapping[str, Callable[[], pl.DataFrame]]

    def _tickets(self, role: str) -> list[TicketLine]:
        from records.tables import ExceptionRecord

        exc = ExceptionRecord.__table__  # type: ignore[attr-defined]
        query = (
            sa.select(exc)
            .where(
                exc.c.owner_role == role,
                exc.c.routing_decision == "ticket",
                exc.c.state != ExceptionState.RESOLVED.value,
            )
            .order_by(exc.c.detected_at)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            TicketLine(
                r["exception_id"],
                r["journey"] or "",
                r["rule"] or "",
                r["subject"] or "",
                (r["detected_at"] or datetime.now(UTC)).replace(tzinfo=UTC),
                str((r["routing_inputs"] or {}).get("reason", "")),
            )
            for r in rows
        ]

    async def tickets(self, role: str) -> list[TicketLine]:
        return await asyncio.to_thread(self._tickets, role)

    def _slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]:
        lines = []
        for journey in journeys:
            load = self.logs.get(journey.name)
            if load is None:
                lines.append(f"{journey.name}: no event log configured for SLO status")
                continue
            log = load()
            for sli in journey.slis:
                status = slo_status(sli_outcomes(log, sli, as_of), journey, sli, as_of)
                compliance = "no cases" if status.compliance is None else f"{status.compliance:.2%}"
                lines.append(
                    f"{journey.name}/{sli.name}: {compliance} (objective {sli.objective:g} %), "
                    f"error budget left {status.error_budget_remaining:.0%}"
                )
        return lines

    async def slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]:
        return await asyncio.to_thread(self._slo_lines, journeys, as_of)


def render_digest(
    role: str, tickets: list[TicketLine], slo_lines: list[str], as_of: datetime
) -> str:
    lines = [f"*Digest for {role}*, {as_of:%Y-%m-%d %H:%M} UTC"]
    if tickets:
        lines.append(f"{len(tickets)} ticket(s), nobody was paged for these:")
        lines += [
            f"• `{t.exception_id}` {t.journey}/{t.rule} {t.subject}, since "
            f"{t.detected_at:%Y-%m-%d %H:%M} UTC" + (f" ({t.reason})" if t.reason else "")
            for t in tickets
        ]
    else:
        lines.append("No open tickets.")
    if slo_lines:
        lines.append("SLO status:")
        lines += [f"• {line}" for line in slo_lines]
    return "\n".join(lines)


def _digest_status(
    req: DigestRequest, summary: str, as_of: datetime, count: int
) -> ExceptionStatus:
    """A message that is not an exception, in the shape channels render (like storms)."""
    return ExceptionStatus(
        exception_id=f"digest:{req.role}:{as_of:%Y-%m-%d}",
        journey=",".join(j.name for j in req.journeys) or "-",
        rule="digest",
        kind="volume",
        subject=req.role,
        severity="low",
        state=ExceptionState.OPEN,
        level=0,
        owner_role=req.role,
        onset=as_of,
        detected_at=as_of,
        policy_version=req.policy_version,
        payload={"digest": True, "summary": summary, "tickets": count},
    )


class DigestActivities:
    def __init__(
        self,
        source: DigestSource,
        senders: Mapping[str, ChannelSender],
        fallback: ChannelSender,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source, self.senders, self.fallback, self.clock = source, senders, fallback, clock

    @activity.defn(name=ACTIVITY_POST_DIGEST)
    async def post_digest(self, req: DigestRequest) -> DigestResult:
        as_of = req.as_of or self.clock()
        tickets = await self.source.tickets(req.role)
        slo = await self.source.slo_lines(req.journeys, as_of)
        summary = render_digest(req.role, tickets, slo, as_of)
        channel: Any = "slack" if req.slack_channel and "slack" in self.senders else "console"
        target = req.slack_channel if channel == "slack" else req.role
        sender = self.senders.get(channel, self.fallback)
        message = Notification(
            exception_id=f"digest:{req.role}",
            idempotency_key=f"digest/{req.role}/{as_of:%Y-%m-%dT%H:%M}/{channel}/{target}",
            level=0,
            role=req.role,
            channel=channel,
            target=target or req.role,
            reason="digest",
            status=_digest_status(req, summary, as_of, len(tickets)),
        )
        delivery = await sender.send(message)
        return DigestResult(
            ok=delivery.ok,
            tickets=len(tickets),
            slo_lines=len(slo),
            channel=channel,
            target=message.target,
            error=delivery.error,
            text=summary,
        )
