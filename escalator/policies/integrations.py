"""Integrations: alerts from the monitoring people already run become exceptions.

An integration is one sender (an Alertmanager, a Grafana contact point, any tool that
posts JSON) at ``POST /alerts/<source>`` (or ``/alerts/<source>/<name>`` when a source
has several): how it authenticates, and how its alerts' labels map to a journey's rule.
Secrets never sit in the policy: ``auth`` names the environment variables (or
``escalator.env`` entries) that hold them. The receiver does the work
(`escalator/receiver/alerts.py`); this module is the model and its cross-checks.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from escalator.policies.base import Name, PolicyModel
from escalator.policies.errors import Problem
from escalator.policies.rules import Severity

__all__ = [
    "DEFAULT_TOKEN_ENV",
    "AlertRoute",
    "AlertSource",
    "GenericFields",
    "Integration",
    "IntegrationAuth",
    "integration_problems",
    "subject_labels",
]

AlertSource = Literal["alertmanager", "grafana", "generic"]
DEFAULT_TOKEN_ENV = "ESCALATOR_WEBHOOK_TOKEN"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class IntegrationAuth(PolicyModel):
    """How a sender proves who it is. Every method configured here must pass; the
    secrets are read from the environment variables named (never from the policy)."""

    bearer_token_env: str | None = Field(default=DEFAULT_TOKEN_ENV, pattern=_ENV)
    """Environment variable holding the bearer token (`Authorization: Bearer …`, Alertmanager's `http_config.authorization`); none: no bearer token."""
    basic_user: str | None = None
    """User name for basic auth (`Authorization: Basic …`); set `bearer_token_env: null` with it."""
    basic_password_env: str | None = Field(default=None, pattern=_ENV)
    """Environment variable holding the basic-auth password."""
    hmac_secret_env: str | None = Field(default=None, pattern=_ENV)
    """Environment variable holding the HMAC-SHA256 secret the sender signs the body with; none: no signature."""
    hmac_header: str = "X-Escalator-Signature"
    """Header carrying the hex HMAC-SHA256 signature (`sha256=` prefix allowed); Grafana's is `X-Grafana-Alerting-Signature`."""
    hmac_timestamp_header: str | None = None
    """Header carrying a Unix timestamp; when set, `timestamp:body` is signed, and a request more than 5 minutes off or replayed is refused."""

    @model_validator(mode="after")
    def _one_authorization(self) -> IntegrationAuth:
        if self.bearer_token_env and self.basic_user:
            raise ValueError(
                "bearer_token_env and basic_user both use the Authorization header; "
                "set bearer_token_env: null to use basic auth"
            )
        if bool(self.basic_user) != bool(self.basic_password_env):
            raise ValueError("basic auth needs both basic_user and basic_password_env")
        if not (self.bearer_token_env or self.basic_user or self.hmac_secret_env):
            raise ValueError(
                "an integration needs a bearer token, basic auth or an HMAC secret; "
                "unauthenticated alerts are refused"
            )
        return self


class AlertRoute(PolicyModel):
    """Alerts whose labels carry every pair of `match` raise `journey`/`rule`."""

    match: dict[str, str] = Field(default_factory=dict)
    """Labels the alert must carry with exactly these values (e.g. `alertname`, `service`, `severity`); empty: every alert."""
    journey: Name
    """The journey of the rule raised."""
    rule: Name
    """The exception rule raised (a rule of `journey`)."""
    subject: str | None = None
    """The exception's subject from labels, e.g. `"{instance}"`; none: the alert's fingerprint (one exception per alert)."""
    severity: Severity | None = None
    """Severity of these exceptions, instead of the rule's."""


class GenericFields(PolicyModel):
    """Where a generic JSON alert keeps its parts: dotted paths (`data.alerts`, `tags.0`)."""

    alerts: str | None = None
    """Path of the list of alerts in the body; none: the body is one alert."""
    labels: str | None = "labels"
    """Path (within an alert) of a mapping of labels."""
    label_fields: dict[str, str] = Field(default_factory=dict)
    """More labels, each from a path: `{journey: meta.journey, service: svc}`."""
    annotations: str | None = "annotations"
    """Path of a mapping of annotations (shown to owners)."""
    status: str | None = "status"
    """Path of the alert's status; none: always firing."""
    resolved_values: list[str] = Field(default_factory=lambda: ["resolved", "ok", "closed"])
    """Status values that mean the alert resolved (compared without case)."""
    fingerprint: str | None = "fingerprint"
    """Path of the alert's identity; none or missing: a hash of its labels."""
    starts_at: str | None = "startsAt"
    """Path of when it began (ISO 8601); missing: when escalator received it."""
    url: str | None = "generatorURL"
    """Path of a link to the alert's source, shown to owners."""


class Integration(PolicyModel):
    """One alert sender: its endpoint, its authentication and its label mapping.

    An alert raises the first route whose `match` its labels carry; without a match, and
    with `labels_name_rule`, its `journey` and `rule` labels name the rule (its `subject`
    label, if any, the subject). An alert that maps to no rule is refused (HTTP 422)
    naming what did not match."""

    name: Name
    """The integration's name, unique; `/alerts/<source>/<name>` addresses it."""
    source: AlertSource
    """The payload it posts: `alertmanager` (webhook version 4), `grafana` (unified alerting, version 1) or `generic` JSON (see `fields`)."""
    auth: IntegrationAuth = Field(default_factory=IntegrationAuth)
    """How the sender authenticates; default: the bearer token in ESCALATOR_WEBHOOK_TOKEN."""
    routes: list[AlertRoute] = Field(default_factory=list)
    """Label sets mapped to rules, tried in order."""
    labels_name_rule: bool = True
    """Whether labels `journey` and `rule` (and `subject`) may name the rule directly."""
    fields: GenericFields | None = None
    """For `source: generic`: where its JSON keeps labels, status, fingerprint; default paths: the Alertmanager alert's."""

    @model_validator(mode="after")
    def _fields_for_generic(self) -> Integration:
        if self.fields is not None and self.source != "generic":
            raise ValueError("'fields' is for source: generic only")
        return self


def subject_labels(template: str) -> list[str]:
    """The labels a route's subject template names: ``"{service}-{instance}"``."""
    return _PLACEHOLDER.findall(template)


def integration_problems(
    integrations: list[Any], refs: list[Any], rules: list[Any]
) -> list[Problem]:
    """Routes naming a rule that does not exist or belongs to another journey; two
    integrations of one source that could not be told apart by URL (same name)."""
    journey_of = {getattr(r, "name", None): getattr(r, "journey", None) for r in rules}
    problems: list[Problem] = []
    for item, ref in zip(integrations, refs, strict=True):
        for i, route in enumerate(getattr(item, "routes", None) or []):
            rule = getattr(route, "rule", None)
            journey = getattr(route, "journey", None)
            if not isinstance(rule, str) or not isinstance(journey, str):
                continue
            if rule not in journey_of:
                known = ", ".join(sorted(str(n) for n in journey_of if n)) or "none"
                problems.append(
                    ref.problem(
                        f"unknown rule {rule!r}; expected one of: {known}", "routes", i, "rule"
                    )
                )
            elif journey_of[rule] != journey:
                problems.append(
                    ref.problem(
                        f"rule {rule!r} belongs to journey {journey_of[rule]!r}, not {journey!r}",
                        "routes",
                        i,
                        "journey",
                    )
                )
    return problems
