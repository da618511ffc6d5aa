"""The per-role digest: the role's ticket-level exceptions and each journey's SLO status,
posted once a day to the role's Slack channel (console without credentials).

What a ticket is: an exception routing sent to the digest instead of
interrupting someone (``routing_decision = 'ticket'`` in the records). A digest
lists every ticket still open, and the ones raised since the previous digest
that was due (`escalator.activities.digest_window`) even if already resolved, so a digest
after a skipped holiday covers the holiday. A day that is not a business day of
the role's calendar posts nothing and says why in its result. The SLO lines come from a `DigestSource`; the worker's one reads the
records database and the journeys' event logs (the same ones routing uses).
The message goes out through the channel protocol as a `Notification` with
reason ``digest``, idempotent on role and day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import polars as pl
import sqlalchemy as sa
from temporalio import activity

from escalator.activities.channels import ChannelSender, role_post
from escalator.activities.digest_window import digest_day
from escalator.analytics.sli import sli_outcomes
from escalator.analytics.slo import slo_status
from escalator.policies.journeys import Journey
from escalator.workflows.activity_contracts import Notification
from escalator.workflows.contracts import ExceptionState, ExceptionStatus
from escalator.workflows.digest_contracts import ACTIVITY_POST_DIGEST, DigestRequest, DigestResult

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
    resolved: bool = False


class DigestSource(Protocol):
    async def tickets(self, role: str, since: datetime) -> list[TicketLine]:
        """Open tickets, and those raised at or after ``since`` that are resolved."""
        ...

    async def slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]: ...


class NoDigestData:
    """No records wired: a digest that says so rather than failing."""

    async def tickets(self, role: str, since: datetime) -> list[TicketLine]:
        return []

    async def slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]:
        return [f"{j.name}: no event log configured for SLO status" for j in journeys]


@dataclass
class StoreDigestSource:
    """Tickets from the records database; SLO status from each journey's event log."""

    engine: sa.Engine
    logs: Mapping[str, Callable[[], pl.DataFrame]]

    def _tickets(self, role: str, since: datetime) -> list[TicketLine]:
        from escalator.records.tables import ExceptionRecord

        exc = ExceptionRecord.__table__  # type: ignore[attr-defined]
        resolved = ExceptionState.RESOLVED.value
        since = since.astimezone(UTC)  # SQLite keeps naive UTC text: compare in UTC
        query = (
            sa.select(exc)
            .where(
                exc.c.owner_role == role,
                exc.c.routing_decision == "ticket",
                sa.or_(exc.c.state != resolved, exc.c.detected_at >= since),
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
                r["state"] == resolved,
            )
            for r in rows
        ]

    async def tickets(self, role: str, since: datetime) -> list[TicketLine]:
        return await asyncio.to_thread(self._tickets, role, since)

    def _slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]:
        lines = []
        for journey in journeys:
            load = self.logs.get(journey.name)
            if load is None:
                lines.append(f"{journey.name}: no event log configured for SLO status")
                continue
            log = load()
            # A log that stopped (a replay, a broken feed) is reported as of its newest
            # event, and says so: "no cases" over a window past its end would hide it.
            newest = log["timestamp"].max() if log.height else None
            at = min(as_of, newest) if isinstance(newest, datetime) else as_of
            stale = (
                f" (as of the log's newest event, {at:%Y-%m-%d %H:%M} UTC)" if at < as_of else ""
            )
            for sli in journey.slis:
                status = slo_status(sli_outcomes(log, sli, at), journey, sli, at)
                compliance = "no cases" if status.compliance is None else f"{status.compliance:.2%}"
                lines.append(
                    f"{journey.name}/{sli.name}: {compliance} (objective {sli.objective:g} %), "
                    f"error budget left {status.error_budget_remaining:.0%}{stale}"
                )
        return lines

    async def slo_lines(self, journeys: list[Journey], as_of: datetime) -> list[str]:
        return await asyncio.to_thread(self._slo_lines, journeys, as_of)


def _ticket_line(t: TicketLine, since: datetime) -> str:
    marks = [m for m in (t.reason, "new" if t.detected_at >= since else "") if m]
    if t.resolved:
        marks.append("resolved")
    return (
        f"• `{t.exception_id}` {t.journey}/{t.rule} {t.subject}, since "
        f"{t.detected_at:%Y-%m-%d %H:%M} UTC" + (f" ({', '.join(marks)})" if marks else "")
    )


def render_digest(
    role: str,
    tickets: list[TicketLine],
    slo_lines: list[str],
    as_of: datetime,
    since: datetime | None = None,
) -> str:
    since = since or as_of
    lines = [
        f"*Digest for {role}*, {as_of:%Y-%m-%d %H:%M} UTC "
        f"(covers since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC, the last digest due)"
    ]
    if tickets:
        new = sum(1 for t in tickets if t.detected_at >= since)
        lines.append(f"{len(tickets)} ticket(s), {new} new, nobody was paged for these:")
        lines += [_ticket_line(t, since) for t in tickets]
    else:
        lines.append("No open tickets, none raised since the last digest.")
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
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.source, self.senders, self.fallback, self.clock = source, senders, fallback, clock

    @activity.defn(name=ACTIVITY_POST_DIGEST)
    async def post_digest(self, req: DigestRequest) -> DigestResult:
        # Without a clock: when the first attempt was scheduled, not now. A retry minutes
        # later is the same digest: the same day (holiday or not) and the same idempotency
        # key, so the channel gets it once.
        as_of = req.as_of or (self.clock() if self.clock else activity.info().scheduled_time)
        day = digest_day(req, as_of)
        channel, target = role_post(req.slack_channel, req.role, self.senders)
        if day.skipped is not None:
            activity.logger.info("digest for %s %s", req.role, day.skipped)
            return DigestResult(
                ok=True, tickets=0, slo_lines=0, channel=channel, target=target or req.role,
                text=day.skipped, skipped=day.skipped, since=day.since,
            )  # fmt: skip
        tickets = await self.source.tickets(req.role, day.since)
        slo = await self.source.slo_lines(req.journeys, as_of)
        summary = render_digest(req.role, tickets, slo, as_of, day.since)
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
            since=day.since,
        )
