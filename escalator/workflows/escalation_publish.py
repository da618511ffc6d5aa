"""What incident leads see of an open exception in the Temporal UI: search attributes
and the current details (Markdown).

An upsert of search attributes is a workflow command, so the workflow publishes
at the same points of its sequence in every version; the details are not a
command and may change freely.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from escalator.workflows import search_attributes as sa
    from escalator.workflows.escalation_state import EscalationState
    from escalator.workflows.presentation import current_details

__all__ = ["Publisher"]


class Publisher:
    def __init__(self, published: dict[str, Any], continued: str) -> None:
        # The values the run's search attributes have (copied from the last run by
        # continue-as-new): only changes are upserted.
        self._published = published
        # Static summary and details of the first run, for runs that continued as new:
        # continue-as-new cannot set them (temporalio 1.35), so the current details do.
        self._continued = continued

    def publish(self, s: EscalationState) -> None:
        """Upsert the search attributes that changed; refresh the current details."""
        rule = s.policy.rule
        values: list[tuple[SearchAttributeKey[Any], Any]] = [
            (sa.JOURNEY, s.detection.journey),
            (sa.RULE, s.detection.rule),
            (sa.KIND, rule.kind),
            (sa.CASE_ID, s.detection.subject),
            (sa.SEVERITY, rule.severity),
            (sa.OWNER_ROLE, s.owner_role),
            (sa.LEVEL, s.level),
            (sa.STATE, s.state.value),
            (sa.EXHAUSTED, s.exhausted),
        ]
        changes: list[SearchAttributeUpdate[Any]] = []
        for key, value in values:
            if self._published.get(key.name) != value:
                changes.append(key.value_set(value))
                self._published[key.name] = value
        if changes:
            workflow.upsert_search_attributes(changes)
        details = current_details(
            state=s.state,
            level=s.level,
            role=s.owner_role,
            policy=s.policy,
            exhausted=s.exhausted,
            ack_due=s.ack_due,
            restore_due=s.restore_due,
            snoozed_until=s.snoozed_until,
            acknowledged_by=s.acknowledged_by,
            resolved_by=s.resolved_by,
            resolved_at=s.resolved_at,
            occurrences=s.occurrences,
            on_call=s.on_call_paged,
        )
        if s.routing_reason:  # the routing headline (routing-v2 runs)
            details += f"\n\n**Routing:** {s.routing_reason}"
        if self._continued:
            details += f"\n\n---\n{self._continued}"
        workflow.set_current_details(details)
