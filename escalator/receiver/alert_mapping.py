"""Which rule an alert raises: an integration's routes, else its `journey`/`rule` labels.

Pure: an alert and the policies in, a :class:`Mapped` (journey, rule, subject, severity)
or an :class:`Unmatched` naming what did not match out.
"""

from __future__ import annotations

from dataclasses import dataclass

from escalator.policies.integrations import AlertRoute, Integration, subject_labels
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import Severity
from escalator.receiver.alert_payloads import Alert

__all__ = ["Mapped", "Unmatched", "map_alert"]


@dataclass(frozen=True)
class Mapped:
    journey: str
    rule: str
    subject: str
    severity: Severity | None  # None: the rule's own


@dataclass(frozen=True)
class Unmatched:
    reason: str


def map_alert(alert: Alert, integration: Integration, policies: PolicySet) -> Mapped | Unmatched:
    rules = {r.name: r for r in policies.rules}
    skipped: list[str] = []
    for i, route in enumerate(integration.routes):
        if all(alert.labels.get(k) == v for k, v in route.match.items()):
            subject = _subject(route, alert)
            if subject is None:
                skipped.append(
                    f"routes[{i}] matched, but its subject {route.subject!r} names labels "
                    f"the alert lacks ({', '.join(_missing(route, alert))})"
                )
                continue
            return Mapped(route.journey, route.rule, subject, route.severity)
    journey, rule = alert.labels.get("journey"), alert.labels.get("rule")
    if integration.labels_name_rule and (journey or rule):
        found = rules.get(rule or "")
        if found is None:
            known = ", ".join(sorted(rules)) or "none"
            return Unmatched(f"label rule={rule!r} names no loaded rule (rules: {known})")
        if found.journey != journey:
            return Unmatched(
                f"label journey={journey!r} does not match rule {rule!r}, "
                f"which belongs to journey {found.journey!r}"
            )
        return Mapped(journey, found.name, alert.labels.get("subject") or alert.fingerprint, None)
    tried = (
        f"none of the {len(integration.routes)} routes of integration {integration.name!r} matches"
        if integration.routes
        else f"integration {integration.name!r} has no routes"
    )
    hint = (
        " and the alert has no 'journey' and 'rule' labels" if integration.labels_name_rule else ""
    )
    detail = "; ".join(skipped)
    return Unmatched(
        f"{tried}{hint} (alert labels: {_labels(alert)})" + (f"; {detail}" if detail else "")
    )


def _subject(route: AlertRoute, alert: Alert) -> str | None:
    if route.subject is None:
        return alert.fingerprint
    if _missing(route, alert):
        return None
    text = route.subject
    for name in subject_labels(route.subject):
        text = text.replace("{" + name + "}", alert.labels[name])
    return text


def _missing(route: AlertRoute, alert: Alert) -> list[str]:
    return [n for n in subject_labels(route.subject or "") if n not in alert.labels]


def _labels(alert: Alert) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in sorted(alert.labels.items())) + "}"
