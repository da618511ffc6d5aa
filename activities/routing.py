"""The routing decision activity: page, notify or ticket.

The real decision (error-budget burn rate and business hours of the journey)
comes with the routing issue; until then every exception pages. A deployment
can pass its own decision function to `RoutingActivities`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity

from workflows.activity_contracts import ACTIVITY_ROUTE, RoutingDecision, RoutingInput

__all__ = ["Decide", "RoutingActivities", "always_page"]

Decide = Callable[[RoutingInput], Awaitable[RoutingDecision]]


async def always_page(inp: RoutingInput) -> RoutingDecision:
    return RoutingDecision(action="page", reason="default: page (no routing policy wired)")


class RoutingActivities:
    def __init__(self, decide: Decide = always_page) -> None:
        self.decide = decide

    @activity.defn(name=ACTIVITY_ROUTE)
    async def decide_routing(self, inp: RoutingInput) -> RoutingDecision:
        return await self.decide(inp)
