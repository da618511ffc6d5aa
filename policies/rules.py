"""Exception rules: five kinds of testable hypothesis about a journey.

Every rule names the outcome it claims to predict, so a scorecard can test it
against the log (precision, recall, lead time) and a team can falsify it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from policies.base import Name, PolicyModel
from policies.duration import Duration

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
    events: list[str] = Field(default_factory=list)
    not_reached: str | None = None
    within: Duration | None = None

    @model_validator(mode="after")
    def _testable(self) -> Outcome:
        if not self.events and not self.not_reached:
            raise ValueError("an outcome needs 'events' or 'not_reached' so it can be tested")
        if self.not_reached and self.within is None:
            raise ValueError("'not_reached' needs 'within' (how long the case may take)")
        return self


class _RuleBase(PolicyModel):
    name: Name
    journey: Name
    owner: Name  # owner role
    escalation: Name  # escalation policy
    severity: Severity = "medium"
    hypothesis: str = ""  # the rule in plain words, shown to owners
    predicts: Outcome
    runbook: str
    playbook: Name | None = None
    reopen_window: Duration = timedelta(hours=24)
    labels: dict[str, str] = Field(default_factory=dict)


class LatencyRule(_RuleBase):
    """A case has been in ``state`` longer than ``threshold``."""

    kind: Literal["latency"]
    state: str
    enter_events: list[str] = Field(default_factory=list)  # default: the event named `state`
    leave_events: list[str] = Field(default_factory=list)  # default: any later event
    threshold: Duration
    business_hours: bool = False
    calendar: Name | None = None  # default: the journey's calendar


class QualityRule(_RuleBase):
    """Defect events / valid events over a sliding window above a threshold."""

    kind: Literal["quality"]
    defect_events: list[str] = Field(min_length=1)
    valid_events: list[str] = Field(default_factory=list)  # empty: every event
    window: Duration
    threshold: float = Field(gt=0, lt=1)
    min_volume: int = Field(default=20, ge=1)


class CompletenessRule(_RuleBase):
    """Required attributes missing when a case passes a gate event."""

    kind: Literal["completeness"]
    gate_event: str
    required_attributes: list[str] = Field(min_length=1)


class Precedence(PolicyModel):
    """``event`` may only happen after ``requires`` happened in the same case."""

    event: str
    requires: str


class Response(PolicyModel):
    """After ``event``, ``then`` must follow (within ``within``, if given)."""

    event: str
    then: str
    within: Duration | None = None


class ConformanceRule(_RuleBase):
    """The case deviates from the reference model."""

    kind: Literal["conformance"]
    start_events: list[str] = Field(default_factory=list)
    allowed_transitions: dict[str, list[str]] = Field(default_factory=dict)
    precedence: list[Precedence] = Field(default_factory=list)
    response: list[Response] = Field(default_factory=list)

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
    events: list[str] = Field(default_factory=list)  # empty: every event of the journey
    window: Duration
    factor: float = Field(gt=1)
    direction: Literal["spike", "drop", "both"] = "spike"
    baseline: Literal["same_hour_of_week", "previous_windows"] = "previous_windows"
    baseline_periods: int = Field(default=4, ge=1)
    min_count: int = Field(default=10, ge=0)


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
