"""Storm control: one grouped notification instead of a page per subject.

When one rule fires for many subjects at once (500 orders behind one warehouse
outage), the owner role is paged individually for the first ``threshold``
exceptions within ``window``; every further exception of that rule joins the
storm, which the role hears about in ONE message, updated in place with the
count, until the rule has been quiet for ``window``. ``hold_down`` holds back
flapping exceptions: one reopened within it after its resolution is recorded
but pages nobody unless it is still open when the hold-down ends.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from escalator.policies.base import PolicyModel
from escalator.policies.duration import Duration

__all__ = ["StormControl"]


class StormControl(PolicyModel):
    threshold: int = Field(default=10, ge=1)  # individual first pages per window, per rule+role
    """Individual first pages per `window`, per rule and role, before a storm starts."""
    window: Duration = timedelta(minutes=5)
    """The window of that count; a storm ends after the rule has been quiet this long."""
    hold_down: Duration | None = timedelta(minutes=10)  # None: a reopen pages at once
    """A reopen within this of its resolution pages nobody unless still open when it ends; none: pages at once."""
    # How long the storm collects joiners before it refreshes its one message.
    update_every: Duration = timedelta(seconds=30)
    """How often the storm's one message is refreshed with its joiners."""
