"""The heartbeat monitor's two activities: raise the heartbeat's rule when a beat was
missed, clear it when the next beat comes. Both go through the same client calls as
every other detection (`escalator.client.raise_exception` / `clear_condition`), with
the worker's own Temporal client, onto the worker's task queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio import activity

from escalator.client import clear_condition, raise_exception
from escalator.policies.duration import format_duration
from escalator.policies.heartbeats import heartbeat_subject
from escalator.workflows.contracts import Detection
from escalator.workflows.heartbeat_contracts import (
    ACTIVITY_HEARTBEAT_MISSED,
    ACTIVITY_HEARTBEAT_SEEN,
    HeartbeatMissed,
    HeartbeatSeen,
)

__all__ = ["HeartbeatActivities"]

log = logging.getLogger(__name__)


class HeartbeatActivities:
    @activity.defn(name=ACTIVITY_HEARTBEAT_MISSED)
    async def heartbeat_missed(self, inp: HeartbeatMissed) -> str:
        rule = inp.policy.rule
        detection = Detection(
            journey=rule.journey,
            rule=rule.name,
            subject=heartbeat_subject(inp.name),
            onset=inp.due,
            detected_at=inp.due,  # a retried raise is the same detection: counted once
            attributes={"heartbeat": inp.name, "every": format_duration(inp.every)},
            payload={
                "heartbeat": inp.name,
                "last_seen": inp.last_seen.isoformat(),
                "due": inp.due.isoformat(),
                "summary": f"no heartbeat from {inp.name} since {inp.last_seen:%Y-%m-%d %H:%M} UTC",
            },
        )
        raised = await raise_exception(
            activity.client(),
            detection,
            policy=inp.policy,
            task_queue=activity.info().task_queue,
            outcome_within=timedelta(0),  # the raise is in Temporal's history: enough
        )
        log.warning("heartbeat %s missed: raised %s", inp.name, raised.exception_id)
        return raised.exception_id

    @activity.defn(name=ACTIVITY_HEARTBEAT_SEEN)
    async def heartbeat_seen(self, inp: HeartbeatSeen) -> bool:
        cleared = await clear_condition(
            activity.client(),
            inp.journey,
            inp.rule,
            heartbeat_subject(inp.name),
            at=inp.at,
            reason=f"heartbeat {inp.name} seen again",
        )
        log.info(
            "heartbeat %s seen again (exception %s)", inp.name, "cleared" if cleared else "gone"
        )
        return cleared
