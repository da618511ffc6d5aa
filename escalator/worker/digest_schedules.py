"""One Temporal Schedule per role with a ``digest`` in the policy: install, update, delete.

Idempotent: a schedule that exists is updated to the policy's time, calendar and
journeys (the worker installs at every start, ``escalator digest install`` on
demand); creating, updating and deleting is `escalator.worker.schedules`. A schedule escalator created (id prefix ``digest:``, action a
DigestWorkflow on this task queue) whose role no longer has a digest is
deleted; any other schedule is left alone.

The schedule fires at ``digest.at`` in the calendar's time zone on the weekdays
the calendar has hours (every day in UTC without a calendar); a public holiday
or closed date is skipped by the run itself (`escalator.activities.digest_window`), which
says so in its result. The schedule's action carries the resolved request, so a
changed policy takes effect at the next install, like exception snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from escalator.policies.calendars import WEEKDAYS
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.worker.schedules import delete_stale_schedules, upsert_schedule
from escalator.workflows.digest_contracts import (
    DIGEST_SCHEDULE_PREFIX,
    DIGEST_WORKFLOW,
    DigestRequest,
    digest_schedule_id,
)

__all__ = ["InstalledDigest", "digest_request", "digest_spec", "install_digests"]

# Temporal counts weekdays from Sunday = 0; policies name them mon..sun.
_TEMPORAL_DAY = {day: (i + 1) % 7 for i, day in enumerate(WEEKDAYS)}


@dataclass(frozen=True)
class InstalledDigest:
    role: str
    schedule_id: str
    created: bool  # False: an existing schedule was updated (or deleted)
    at: str
    time_zone: str
    deleted: bool = False  # the role no longer has a digest

    def describe(self) -> str:
        if self.deleted:
            return f"deleted schedule {self.schedule_id}: role {self.role} has no digest"
        verb = "created" if self.created else "updated"
        return f"{verb} schedule {self.schedule_id}: {self.at} {self.time_zone}"


def digest_spec(role: OwnerRole, policies: PolicySet) -> tuple[ScheduleSpec, str]:
    assert role.digest is not None
    hour, minute = role.digest.hour_minute
    days = list(range(7))
    zone = "UTC"
    if role.digest.calendar:
        calendar = policies.calendar(role.digest.calendar)
        zone = calendar.timezone
        days = sorted(_TEMPORAL_DAY[d] for d, ranges in calendar.hours.items() if ranges)
    spec = ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                hour=[ScheduleRange(hour)],
                minute=[ScheduleRange(minute)],
                day_of_week=[ScheduleRange(d) for d in days],
                comment=f"digest for {role.name} at {role.digest.at}",
            )
        ],
        time_zone_name=zone,
    )
    return spec, zone


def digest_request(role: OwnerRole, policies: PolicySet) -> DigestRequest:
    """The journeys whose rules the role owns, with the role's channel."""
    owned = {r.journey for r in policies.rules if r.owner == role.name}
    journeys = [j for j in policies.journeys if j.name in owned]
    digest = role.digest
    calendar = policies.calendar(digest.calendar) if digest and digest.calendar else None
    return DigestRequest(
        role=role.name,
        slack_channel=role.slack_channel,
        journeys=journeys,
        policy_version=policies.version,
        at=digest.at if digest else None,
        calendar=calendar,
    )


async def install_digests(
    client: Client, policies: PolicySet, task_queue: str
) -> list[InstalledDigest]:
    """Create or update every role's digest schedule, then delete the stale ones."""
    installed = []
    for role in policies.roles:
        if role.digest is None:
            continue
        spec, zone = digest_spec(role, policies)
        sid = digest_schedule_id(role.name)
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                DIGEST_WORKFLOW,
                digest_request(role, policies),
                id=f"digest:{role.name}",
                task_queue=task_queue,
            ),
            spec=spec,
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)
            ),
        )
        created = await upsert_schedule(client, sid, schedule)
        installed.append(InstalledDigest(role.name, sid, created, role.digest.at, zone))
    wanted = {d.schedule_id for d in installed}
    installed += await _delete_stale(client, wanted, task_queue)
    return installed


async def _delete_stale(client: Client, wanted: set[str], task_queue: str) -> list[InstalledDigest]:
    """Delete escalator's digest schedules on ``task_queue`` that no role wants any more."""
    deleted = await delete_stale_schedules(
        client,
        prefix=DIGEST_SCHEDULE_PREFIX,
        wanted=wanted,
        workflow=DIGEST_WORKFLOW,
        task_queue=task_queue,
    )
    return [
        InstalledDigest(sid.removeprefix(DIGEST_SCHEDULE_PREFIX), sid, False, "", "", deleted=True)
        for sid in deleted
    ]
