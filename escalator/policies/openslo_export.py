"""Journeys as OpenSLO v1 documents: per SLI an ``SLI`` and an ``SLO``; per burn-rate
tier of the journey an ``AlertCondition`` (``kind: burnrate``) and the ``AlertPolicy``
that names it; one ``AlertNotificationTarget`` (escalator) the policies notify.

The SLIs count cases in escalator's event logs: ``ratioMetric`` with ``counter: true``
and ``metricSource.type: escalator`` whose ``spec`` names the journey and the events.
A tier is multiwindow; OpenSLO v1's condition has one ``lookbackWindow``: the long
window goes there, the short one into an annotation (and the burn rate a
``budget_fraction`` tier stands for into ``threshold``, the fraction itself into an
annotation), so `escalator slo import` gets the tier back exactly.
"""

from __future__ import annotations

from typing import Any

from escalator.policies.duration import format_duration
from escalator.policies.journeys import AvailabilitySLI, Journey, LatencySLI, RoutingTier
from escalator.policies.openslo_common import API_VERSION, PREFIX, SOURCE_TYPE, dns_name, shorthand

__all__ = ["NOTIFICATION_TARGET", "journey_documents", "openslo_documents"]

NOTIFICATION_TARGET = "escalator"


def openslo_documents(journeys: list[Journey]) -> list[dict[str, Any]]:
    """Every journey's documents, after the one notification target they share."""
    target = _doc(
        "AlertNotificationTarget",
        NOTIFICATION_TARGET,
        {},
        {
            "description": "escalator routes the exception (page, notify or ticket)",
            "target": "escalator",
        },
    )
    docs = [target]
    for journey in journeys:
        docs += journey_documents(journey)
    return docs


def journey_documents(journey: Journey) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    policies = []
    for i, tier in enumerate(journey.routing, start=1):
        name = dns_name(journey.name, "burn", str(i), tier.action)
        docs.append(_condition(journey, tier, name))
        docs.append(_policy(journey, tier, name))
        policies.append({"alertPolicyRef": name})
    for sli in journey.slis:
        name = dns_name(journey.name, sli.name)
        marks = {f"{PREFIX}journey": journey.name, f"{PREFIX}sli": sli.name}
        docs.append(_sli(journey, sli, name, marks))
        slo_spec: dict[str, Any] = {
            "description": f"{journey.name}: {sli.name} at {sli.objective:g} % of cases",
            "service": journey.name,
            "indicatorRef": name,
            "timeWindow": [{"duration": shorthand(journey.window), "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"displayName": sli.name, "target": round(sli.objective / 100, 10)}],
        }
        if policies:
            slo_spec["alertPolicies"] = list(policies)
        docs.append(_doc("SLO", name, marks, slo_spec, f"{journey.name} {sli.name}"))
    return docs


def _sli(
    journey: Journey, sli: AvailabilitySLI | LatencySLI, name: str, marks: dict[str, str]
) -> dict[str, Any]:
    if isinstance(sli, AvailabilitySLI):
        good: dict[str, Any] = {"journey": journey.name, "events": list(sli.good_events)}
        if sli.bad_events:
            good["unless"] = list(sli.bad_events)
        total: dict[str, Any] = {"journey": journey.name, "events": list(sli.valid_events)}
        what = "cases with a valid event that reached a good one"
    else:
        good = {
            "journey": journey.name,
            "start_event": sli.start_event,
            "end_event": sli.end_event,
            "within": format_duration(sli.threshold),
        }
        if sli.threshold_attribute:
            good["threshold_attribute"] = sli.threshold_attribute
            good["thresholds"] = {k: format_duration(v) for k, v in sli.thresholds.items()}
        total = {"journey": journey.name, "start_event": sli.start_event}
        what = f"cases from {sli.start_event} to {sli.end_event} within the threshold"
    spec = {
        "description": f"Share of {journey.name} {what} (counted from escalator's event log)",
        "ratioMetric": {
            "counter": True,
            "good": {"metricSource": {"type": SOURCE_TYPE, "spec": good}},
            "total": {"metricSource": {"type": SOURCE_TYPE, "spec": total}},
        },
    }
    return _doc("SLI", name, {**marks, f"{PREFIX}type": sli.type}, spec, sli.name)


def _condition(journey: Journey, tier: RoutingTier, name: str) -> dict[str, Any]:
    marks = {
        f"{PREFIX}journey": journey.name,
        f"{PREFIX}action": tier.action,
        f"{PREFIX}short-window": format_duration(tier.short_window),
    }
    if tier.budget_fraction is not None:
        marks[f"{PREFIX}budget-fraction"] = repr(tier.budget_fraction)
    threshold = round(tier.threshold(journey.window), 6)
    spec = {
        "description": (
            f"{journey.name}: error budget burning over {threshold:g}x in both the "
            f"{format_duration(tier.long_window)} and the {format_duration(tier.short_window)} "
            f"window -> {tier.action}"
        ),
        "severity": tier.action,
        "condition": {
            "kind": "burnrate",
            "threshold": threshold,
            "lookbackWindow": shorthand(tier.long_window),
            "alertAfter": "0m",
        },
    }
    return _doc("AlertCondition", name, marks, spec)


def _policy(journey: Journey, tier: RoutingTier, name: str) -> dict[str, Any]:
    spec = {
        "description": f"{journey.name}: {tier.action} when the burn-rate condition holds",
        "alertWhenNoData": False,
        "alertWhenResolved": False,
        "alertWhenBreaching": True,
        "conditions": [{"conditionRef": name}],
        "notificationTargets": [{"targetRef": NOTIFICATION_TARGET}],
    }
    return _doc("AlertPolicy", name, {f"{PREFIX}journey": journey.name}, spec)


def _doc(
    kind: str,
    name: str,
    annotations: dict[str, str],
    spec: dict[str, Any],
    display: str | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if display:
        metadata["displayName"] = display
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
