"""PendingStep: a step of a member's notification rule waiting for its time.

Kept in the exception's state (`EscalationState.personal_steps`), so its timer
survives a worker restart (the state is rebuilt by replay) and a continue-as-new
(the state is carried). No Temporal calls here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from escalator.policies.duration import format_duration
from escalator.policies.notify_rules import PersonalChannel, Urgency
from escalator.workflows.exception_contracts import Contract

__all__ = ["PendingStep", "format_duration_s"]


class PendingStep(Contract):
    member: str
    role: str  # the role whose level paged the member
    level: int  # that level
    channel: PersonalChannel
    target: str  # the member's address on the channel, as the page found it
    step: int  # 1-based, in the member's rule
    of: int  # steps in the rule
    after_s: float  # after the page, as the rule says
    due: datetime
    urgency: Urgency
    reason: str  # the page's NotificationReason: the step's message is that page's

    @property
    def label(self) -> str:
        after = format_duration_s(self.after_s)
        return f"{self.member}'s {self.urgency} step {self.step} of {self.of}: {self.channel} after {after}"

    def detail(self) -> dict[str, Any]:
        """What the timeline says about this step."""
        return {
            "member": self.member,
            "urgency": self.urgency,
            "step": self.step,
            "of": self.of,
            "channel": self.channel,
            "after": format_duration_s(self.after_s),
            "level": self.level,
            "due": self.due.isoformat(),
        }


def format_duration_s(seconds: float) -> str:
    return format_duration(timedelta(seconds=seconds))
