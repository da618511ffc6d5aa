"""What the workflows share: retry policies, the refusal type, channel sets, patch ids.

One place, so a value that must agree in two workflows (or a workflow and an
activity) cannot drift: an activity reads its retry policy from
``activity.info()``, never from a copy of these numbers.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from escalator.policies.roles import Channel
from escalator.workflows.activity_contracts import NotificationReason

__all__ = [
    "CHAT_CHANNELS",
    "CONTINUE_AS_NEW_OPEN",
    "DELIVERY_PER_TARGET",
    "DELIVER_RETRY",
    "DETECT_RETRY",
    "DIGEST_RETRY",
    "EARLY_ANSWER",
    "GATE_RETRY",
    "IN_PLACE",
    "NOTIFY_FACTOR",
    "NOTIFY_RETRY",
    "OCCURRENCE_ONCE",
    "ONCALL_RESOLVED",
    "PERSONAL_NOTIFY_RULES",
    "QUICK_RETRY",
    "RECORD_FOREVER",
    "RECORD_RETRY",
    "REFUSED",
    "REOPEN_COUNTS_ALL",
    "REOPEN_SIGNAL_CARRIES",
    "ROUTING_LOCAL_ACTIVITY",
    "ROUTING_SCHEDULED_AGAIN",
    "ROUTING_V2",
    "STORM_GATE",
    "WEBHOOK_UPDATES",
]

# --- errors ---

# The ApplicationError type of an update its validator refused (nothing reaches history);
# clients show the error's message to the person who asked.
REFUSED = "Refused"

# --- channels and messages ---

# Channels that neither ring nor text a phone. That makes them quiet enough for a
# notification (no SMS, no call), and their messages can be edited in place (an SMS or a
# call cannot): one set for both, because both follow from "it is a chat message".
CHAT_CHANNELS: frozenset[Channel] = frozenset({"slack", "slack_dm", "console"})
# Reasons that edit the message a target already has instead of sending a new one.
IN_PLACE: frozenset[NotificationReason] = frozenset({"informed", "update", "resolved"})
NOTIFY_FACTOR = 4  # a notification expects an answer four times slower than a page

# --- retry policies (activity options are not part of replay: they may change) ---

QUICK_RETRY = RetryPolicy(maximum_attempts=3)  # routing, playbook actions, re-checks
# The batch notify of histories before per-target delivery (escalations and storms): its
# activity reports the last attempt's result instead of raising (escalator/activities/notify.py).
NOTIFY_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
# No attempt cap: the provider's Retry-After replaces the interval when it sends one.
DELIVER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
# Records must not be lost, but a records outage must not stop the escalation either:
# steps that could not be written stay queued for the next flush.
RECORD_RETRY = RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30))
# Per-target runs write records in the background, where waiting costs no timer.
RECORD_FOREVER = RetryPolicy(maximum_attempts=0, maximum_interval=timedelta(seconds=30))
GATE_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10))
DIGEST_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))
# A detection run that fails is tried twice more; the schedule's next run reads on from the
# records watermark anyway, so retrying longer would only overlap with it.
DETECT_RETRY = RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=10))

# --- workflow.patched ids of the EscalationWorkflow (recorded in histories: never rename) ---

# Routing decides page, notify, ticket or suppress; a silence holds the exception.
ROUTING_V2 = "routing-v2"
# The routing decision was a local activity in runs started on 7 Dec 2026 (replayed only).
ROUTING_LOCAL_ACTIVITY = "routing-local-activity"
# ... and is a scheduled activity again since: under continue-as-new a local activity
# left queries unanswered and its Rust timeout task panicked (docs/routing.md).
ROUTING_SCHEDULED_AGAIN = "routing-scheduled-again"
# An open exception continues as new before its history is full.
CONTINUE_AS_NEW_OPEN = "continue-as-new-open"
# Per-target background delivery and records that never block timers.
DELIVERY_PER_TARGET = "delivery-per-target"
# A reassign or an acknowledgement before the first page is honoured by it (the reassigned
# role gets the first page; an acknowledged exception pages nobody).
EARLY_ANSWER = "early-answer"
# Detections after the resolution, before the run ends, all count in the reopened run (the
# first keeps its onset); the last one no longer replaces the others.
REOPEN_COUNTS_ALL = "reopen-counts-all"
# The occurred_again signal reopens with the policy and history limit it carries, else the
# run's own (not the defaults).
REOPEN_SIGNAL_CARRIES = "reopen-signal-carries"
# A detection counts once, also when its retried call is not the latest.
OCCURRENCE_ONCE = "occurrence-once"
# Storm control and hold-down before the first page.
STORM_GATE = "storm-gate"
# Who is on call is resolved by an activity when a level starts (schedule, overrides and
# vacations from the records), and recorded with the page; before, the policy's rotation
# was read inside the workflow.
ONCALL_RESOLVED = "oncall-resolved"
# A paged member with a personal notification rule is reached by its steps (the later ones
# on durable timers, stopped by an answer); before, by the level's channels alone.
PERSONAL_NOTIFY_RULES = "personal-notify-rules"
# The webhooks a role's levels paged also get the state changes (acknowledged, snoozed,
# reassigned, resolved); before, only the roles' Slack channels (or the console) did.
WEBHOOK_UPDATES = "webhook-updates"
