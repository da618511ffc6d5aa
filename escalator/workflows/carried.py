"""CarriedState: what an open exception takes into its next run (continue-as-new).

Built from the fields of `EscalationState`, so a field added to the state is
carried without being listed again; what is not carried is named in
``NOT_CARRIED`` with the reason. ``run_id`` is the records run (the run that
detected the exception): steps and idempotency keys keep using it, and ``seq``
goes on, so the records see one exception however many runs it took.

The model is the payload recorded in histories: the state's field names are its
keys, and it refuses keys it does not know, so renaming a state field breaks the
replay of recorded continue-as-new runs (tests/histories) instead of silently
dropping what they carried.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any

from pydantic import Field, create_model

from escalator.workflows.escalation_state import EscalationState
from escalator.workflows.exception_contracts import Contract

__all__ = ["CARRIED", "NOT_CARRIED", "CarriedRun", "CarriedState", "InboxPair"]

NOT_CARRIED: frozenset[str] = frozenset(
    {
        "exception_id",  # the workflow id: the next run has it
        # EscalationInput carries these beside ``carried`` (a reopen sets them too).
        "detection",
        "policy",
        "reopened_from",
        "rework_count",
        "previous_resolved_at",
        # A resolved exception ends or reopens; it never continues as new.
        "resolved_by",
        "resolved_at",
        "resolution_note",
        "resolution_real",
    }
)
CARRIED: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(EscalationState) if f.name not in NOT_CARRIED
)
InboxPair = tuple[str, str | None]  # an inbox event as carried: (kind, actor)


class CarriedRun(Contract):
    """What a run carries besides the exception's state."""

    # Responses not handled yet: normally none, the run handles them before it continues.
    inbox: list[InboxPair] = Field(default_factory=list)
    # The routing headline under its first name: the state's ``routing_reason`` is the
    # same text, and runs resume from that; written too, for code that reads this one.
    headline: str = ""
    # Still held by a silence before its first page: the routing decision holding it (a
    # RoutingDecision, as JSON: that contract lives with the activities) and the silence
    # already recorded. The next run goes on holding, then pages as the first run would.
    held: dict[str, Any] | None = None
    holding: str | None = None


def _field(f: dataclasses.Field[Any], hint: Any) -> tuple[Any, Any]:
    if f.default is not dataclasses.MISSING:
        return hint, f.default
    if f.default_factory is not dataclasses.MISSING:
        return hint, Field(default_factory=f.default_factory)
    return hint, ...


def _derive() -> type[CarriedRun]:
    hints = typing.get_type_hints(EscalationState)
    fields = {f.name: f for f in dataclasses.fields(EscalationState)}
    state: dict[str, Any] = {name: _field(fields[name], hints[name]) for name in CARRIED}
    return create_model(
        "CarriedState", __base__=CarriedRun, __module__=__name__, __doc__=__doc__, **state
    )


if TYPE_CHECKING:  # the state's fields are read by name (CARRIED), the rest as declared
    CarriedState = CarriedRun
else:
    CarriedState = _derive()
