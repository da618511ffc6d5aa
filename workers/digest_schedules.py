"""One Temporal Schedule per role with a ``digest`` in the policy: install or update it.

Idempotent: a schedule that exists is updated to the policy's time, calendar and
journeys (``escalator digest install`` can run on every deploy). The schedule
fires at ``digest.at`` in the calendar's time zone on the weekdays the calendar
has hours (every day in UTC without a calendar); public holidays are not
skipped (a digest on a holiday waits in the channel, it pages nobody).
The schedule's action carries the resolved request, so a changed policy takes
effect at the next install, like exception snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from policies.calendars import WEEKDAYS
from policies.policy_set import PolicySet
from policies.roles import OwnerRole
from workflows.digest_contracts import DIGEST_WORKFLOW, DigestRequest, digest_schedule_id

__all__ = ["InstalledDigest", "digest_request", "digest_spec", "install_digests"]

# Temporal counts weekdays from Sunday = 0; policies name them mon..sun.
_TEMPORAL_DAY = {day: (i + 1) % 7 for i, day in enumerate(WEEKDAYS)}


@dataclass(frozen=True)
class InstalledDigest:
    role: str
    schedule_id: str
    created: bool  # False: an existing schedule was updated
    at: str
    time_zone: str


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
    return DigestRequest(
        role=role.name,
        slack_channel=role.slack_channel,
        journeys=journeys,
        policy_version=policies.version,
    )


async def install_digests(
    client: Client, policies: PolicySet, task_queue: str
) -> list[InstalledDigest]:
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
        created = True
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:
            created = False

            def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(sid).update(replace)
        installed.append(InstalledDigest(role.name, sid, created, role.digest.at, zone))
    return installed
