"""Exception rules: five kinds of testable hypothesis about a journey.

Every rule names the outcome it claims to predict, so a scorecard can test it
against the log (precision, recall, lead time) and a team can falsify it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from escalator.policies.base import Name, PolicyModel
from escalator.policies.duration import Duration

__all__ = [
    "CompletenessRule",
    "ConformanceRule",
    "ExceptionRule",
    "LatencyRule",
    "Outcome",
    "Precedence",
    "PredictedBreachRule",
    "QualityRule",
    "Response",
    "RuleKind",
    "Severity",
    "VolumeRule",
]

RuleKind = Literal[
    "latency", "quality", "completeness", "conformance", "volume", "predicted_breach"
]
Severity = Literal["critical", "high", "medium", "low"]


class Outcome(PolicyModel):
    """What a firing predicts, testable on the log.

    Bad outcome for a case: it has one of ``events`` (e.g. ``order_cancelled``),
    or it does not reach ``not_reached`` within ``within`` of its first event.
    """

    description: str
    """The predicted outcome in plain words."""
    events: list[str] = Field(default_factory=list)
    """A case is a bad outcome when it has one of these events."""
    not_reached: str | None = None
    """... or when it does not reach this event within `within` of the case's first event."""
    within: Duration | None = None
    """With `not_reached`: how long after the case's FIRST event (not the firing) it may take."""

    @model_validator(mode="after")
    def _testable(self) -> Outcome:
        if not self.events and not self.not_reached:
            raise ValueError("an outcome needs 'events' or 'not_reached' so it can be tested")
        if self.not_reached and self.within is None:
            raise ValueError("'not_reached' needs 'within' (how long the case may take)")
        return self


class _RuleBase(PolicyModel):
    name: Name
    """The rule's name, unique across all files."""
    journey: Name
    """The journey whose events the rule reads."""
    owner: Name  # owner role
    """The owner role (never a person) that owns its exceptions."""
    escalation: Name  # escalation policy
    """The escalation policy its exceptions follow."""
    severity: Severity = "medium"
    """`critical`, `high`, `medium` or `low`."""
    hypothesis: str = ""  # the rule in plain words, shown to owners
    """The rule in plain words, shown to owners."""
    predicts: Outcome
    """The outcome the rule claims to predict, scored by `escalator scorecard`."""
    runbook: str
    """Link or path of the one-page runbook."""
    playbook: Name | None = None
    """A playbook run before anyone is paged."""
    reopen_window: Duration = timedelta(hours=24)
    """A firing within this of the exception's resolution reopens it (rework) instead of starting a new one."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free labels, matched by silences and shown with the exception."""


class LatencyRule(_RuleBase):
    """A case has been in ``state`` longer than ``threshold``."""

    kind: Literal["latency"]
    """`latency`."""
    state: str
    """The state's name; by default entered at the event of the same name."""
    enter_events: list[str] = Field(default_factory=list)  # default: the event named `state`
    """Events that enter the state; empty: the event named `state`."""
    leave_events: list[str] = Field(default_factory=list)  # default: any later event
    """Events that leave the state; empty: any event that does not enter it."""
    threshold: Duration
    """Fire when a case has been in the state longer than this."""
    business_hours: bool = False
    """Count `threshold` in the calendar's support hours only."""
    calendar: Name | None = None  # default: the journey's calendar
    """Calendar for `business_hours`; default: the journey's."""


class QualityRule(_RuleBase):
    """Defect events / valid events over a sliding window above a threshold."""

    kind: Literal["quality"]
    """`quality`."""
    defect_events: list[str] = Field(min_length=1)
    """Events that count as defects (the numerator)."""
    valid_events: list[str] = Field(default_factory=list)  # empty: every event
    """Events that count as the volume (the denominator); empty: every event of the journey."""
    window: Duration
    """The sliding window the ratio is taken over."""
    threshold: float = Field(gt=0, lt=1)
    """Fire when defects / valid over the window is above this fraction (0 < threshold < 1; e.g. `0.05` for 5 %)."""
    min_volume: int = Field(default=20, ge=1)
    """Judge a window only when it holds at least this many valid events."""


class CompletenessRule(_RuleBase):
    """Required attributes missing when a case passes a gate event."""

    kind: Literal["completeness"]
    """`completeness`."""
    gate_event: str
    """When a case passes this event, the attributes must be present."""
    required_attributes: list[str] = Field(min_length=1)
    """Attributes (event columns) that must have a non-blank value on the gate event or any earlier event of the case."""


class Precedence(PolicyModel):
    """``event`` may only happen after ``requires`` happened in the same case."""

    event: str
    """This event ..."""
    requires: str
    """... may only happen after this one happened in the same case."""


class Response(PolicyModel):
    """After ``event``, ``then`` must follow (within ``within``, if given)."""

    event: str
    """After this event ..."""
    then: str
    """... this one must follow in the same case."""
    within: Duration | None = None
    """... within this; without it, before the case completes (`completing_events`)."""


class ConformanceRule(_RuleBase):
    """The case deviates from the reference model."""

    kind: Literal["conformance"]
    """`conformance`."""
    start_events: list[str] = Field(default_factory=list)
    """Events a case may start with; empty: any."""
    allowed_transitions: dict[str, list[str]] = Field(default_factory=dict)
    """Event → the events allowed directly after it; a pair not listed is a deviation."""
    precedence: list[Precedence] = Field(default_factory=list)
    """Precedence constraints (`event` requires an earlier `requires`)."""
    response: list[Response] = Field(default_factory=list)
    """Response constraints (`event` must be followed by `then`)."""

    @model_validator(mode="after")
    def _something_to_check(self) -> ConformanceRule:
        if not (self.allowed_transitions or self.precedence or self.response):
            raise ValueError(
                "a conformance rule needs 'allowed_transitions', 'precedence' or 'response'"
            )
        return self


class VolumeRule(_RuleBase):
    """Events per window against the baseline of comparable past windows."""

    kind: Literal["volume"]
    """`volume`."""
    events: list[str] = Field(default_factory=list)  # empty: every event of the journey
    """Events counted; empty: every event of the journey."""
    window: Duration
    """The window length; windows are aligned to the Unix epoch."""
    factor: float = Field(gt=1)
    """Spike: count > baseline x factor; drop: count < baseline / factor."""
    direction: Literal["spike", "drop", "both"] = "spike"
    """`spike`, `drop` or `both`."""
    baseline: Literal["same_hour_of_week", "previous_windows"] = "previous_windows"
    """`previous_windows` (the N windows before) or `same_hour_of_week` (the same window in the N weeks before)."""
    baseline_periods: int = Field(default=4, ge=1)
    """N: how many past windows (or weeks) the baseline averages."""
    min_count: int = Field(default=10, ge=0)
    """Spike: the count must also reach this; drop: the baseline must reach this."""


class PredictedBreachRule(_RuleBase):
    """A case in flight that the journey's model says will breach latency SLI ``sli``.

    Fires once per case, at the first event (from prefix length ``min_prefix``) where
    every given condition holds: breach risk >= ``risk_threshold``; predicted
    completion later than the SLI deadline minus ``completion_margin``. Clears when
    the risk drops below ``clear_below`` (a hysteresis band under the threshold), or
    when the case reaches the SLI's end event or completes.
    """

    kind: Literal["predicted_breach"]
    sli: Name  # a latency SLI of the journey
    risk_threshold: float | None = Field(default=0.7, gt=0, lt=1)
    clear_below: float | None = Field(default=None, gt=0, lt=1)  # default: threshold - 0.2
    completion_margin: Duration | None = None
    min_prefix: int = Field(default=2, ge=1)
    model: str | None = None  # model file for --watch; default <state dir>/models/<journey>.json

    @model_validator(mode="after")
    def _a_condition(self) -> PredictedBreachRule:
        if self.risk_threshold is None and self.completion_margin is None:
            raise ValueError(
                "a predicted_breach rule needs 'risk_threshold' or 'completion_margin'"
            )
        if (
            self.clear_below is not None
            and self.risk_threshold is not None
            and self.clear_below >= self.risk_threshold
        ):
            raise ValueError(
                "'clear_below' must be lower than 'risk_threshold' (a hysteresis band)"
            )
        return self

    @property
    def clear_level(self) -> float | None:
        if self.risk_threshold is None:
            return None
        if self.clear_below is not None:
            return self.clear_below
        return max(self.risk_threshold - 0.2, 0.0)


ExceptionRule = Annotated[
    LatencyRule
    | QualityRule
    | CompletenessRule
    | ConformanceRule
    | VolumeRule
    | PredictedBreachRule,
    Field(discriminator="kind"),
]
