"""OpenSLO v1 ``SLO`` and ``SLI`` documents (with their ``AlertPolicy`` and
``AlertCondition``) as journey SLO definitions.

An SLO becomes one SLI of the journey its ``spec.service`` names (or the
``escalator.dev/journey`` annotation of an export). An SLI counted from escalator's
event logs (``metricSource.type: escalator``) comes back exactly; any other source
(a Prometheus query, a Datadog metric) has no event names escalator could know: its
SLI is written with ``TODO-...`` placeholder events and a ``todo`` line naming the
query, which the user completes. Burn-rate conditions become routing tiers.

Bad input raises :class:`OpenSloError`, one line naming the file, the document and
the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from escalator.errors import InputError
from escalator.policies.duration import parse_duration
from escalator.policies.journeys import (
    AvailabilitySLI,
    Journey,
    LatencySLI,
    RoutingTier,
)
from escalator.policies.openslo_common import API_VERSION, PREFIX, SOURCE_TYPE, parse_shorthand

__all__ = ["Imported", "OpenSloError", "import_openslo"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_USED = {"SLO", "SLI", "AlertPolicy", "AlertCondition"}
_SHORT_WINDOW_RATIO = 12  # no short window given: the SRE workbook's 1/12 of the long one


class OpenSloError(InputError):
    """An OpenSLO file escalator cannot turn into journeys; the message names the field."""


@dataclass
class Imported:
    journeys: list[Journey]
    todo: list[str] = field(default_factory=list)  # what the user completes, one line each
    ignored: list[str] = field(default_factory=list)  # documents of kinds escalator has no use for


@dataclass
class _Doc:
    n: int
    kind: str
    name: str
    body: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        found = (self.body.get("metadata") or {}).get("annotations") or {}
        return found if isinstance(found, dict) else {}


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.docs: list[_Doc] = []
        self.imported = Imported(journeys=[])

    def fail(self, doc: _Doc | None, where: str, problem: str) -> OpenSloError:
        at = f"document {doc.n} ({doc.kind} {doc.name})" if doc else "file"
        return OpenSloError(f"{self.path}: {at}: {where}: {problem}")

    # --- reading ---------------------------------------------------------------

    def read(self) -> None:
        try:
            raw = list(YAML(typ="safe").load_all(self.path.read_text(encoding="utf-8")))
        except OSError as err:
            raise OpenSloError(f"{self.path}: cannot read: {err.strerror or err}") from None
        except (YAMLError, UnicodeDecodeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise OpenSloError(f"{self.path}: not YAML: {first}") from None
        for n, body in enumerate(raw, start=1):
            if body is None:
                continue
            probe = _Doc(n, "?", "?", {})
            if not isinstance(body, dict):
                raise self.fail(probe, "(document)", "expected a mapping with apiVersion and kind")
            kind = body.get("kind")
            metadata = body.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            doc = _Doc(n, str(kind), str(name), body)
            if body.get("apiVersion") != API_VERSION:
                raise self.fail(
                    doc, "apiVersion", f"expected {API_VERSION}, got {body.get('apiVersion')!r}"
                )
            if not isinstance(kind, str):
                raise self.fail(doc, "kind", "required (SLO, SLI, AlertPolicy, AlertCondition)")
            if not isinstance(name, str) or not name:
                raise self.fail(doc, "metadata.name", "required")
            if kind in _USED and not isinstance(body.get("spec"), dict):
                raise self.fail(doc, "spec", "required, a mapping")
            if kind in _USED:
                self.docs.append(doc)
            else:
                self.imported.ignored.append(f"document {n} ({kind} {name})")
        if not any(d.kind == "SLO" for d in self.docs):
            raise self.fail(None, "kind", "no SLO document: nothing to import")

    def named(self, kind: str, name: object, doc: _Doc, where: str) -> _Doc:
        for found in self.docs:
            if found.kind == kind and found.name == name:
                return found
        known = ", ".join(sorted(d.name for d in self.docs if d.kind == kind)) or "none"
        raise self.fail(doc, where, f"no {kind} named {name!r} in this file (known: {known})")

    # --- SLOs ------------------------------------------------------------------------

    def journeys(self) -> list[Journey]:
        slis: dict[str, list[AvailabilitySLI | LatencySLI]] = {}
        windows: dict[str, tuple[timedelta, _Doc]] = {}
        tiers: dict[str, dict[str, RoutingTier]] = {}
        for doc in (d for d in self.docs if d.kind == "SLO"):
            journey = self.journey_name(doc)
            window = self.window(doc)
            seen = windows.setdefault(journey, (window, doc))
            if seen[0] != window:
                raise self.fail(
                    doc,
                    "spec.timeWindow[0].duration",
                    f"journey {journey} already has a {seen[0].days}d window from document "
                    f"{seen[1].n}; every SLO of one journey shares its window",
                )
            slis.setdefault(journey, []).append(self.sli(doc, journey))
            found = tiers.setdefault(journey, {})
            for ref, condition in self.conditions(doc):
                found.setdefault(ref, self.tier(condition, window))
        out = []
        for journey, its_slis in slis.items():
            extra: dict[str, Any] = {}
            if tiers[journey]:
                extra["routing"] = list(tiers[journey].values())
            try:
                out.append(
                    Journey(name=journey, slis=its_slis, window=windows[journey][0], **extra)
                )
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise self.fail(windows[journey][1], where, first["msg"]) from None
        return out

    def journey_name(self, doc: _Doc) -> str:
        name = doc.annotations.get(f"{PREFIX}journey") or doc.spec.get("service")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(
                doc,
                "spec.service",
                f"names the journey: a letter, then letters, digits, _ . - (got {name!r})",
            )
        return name

    def window(self, doc: _Doc) -> timedelta:
        windows = doc.spec.get("timeWindow")
        if windows is None:
            return timedelta(days=28)
        if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
            raise self.fail(doc, "spec.timeWindow", "a list of exactly one time window")
        window = windows[0]
        if window.get("calendar") is not None or window.get("isRolling") is False:
            raise self.fail(
                doc,
                "spec.timeWindow[0]",
                "calendar-aligned windows are not supported: escalator's SLO windows roll; "
                "use isRolling: true",
            )
        try:
            return parse_shorthand(window.get("duration"))
        except ValueError as err:
            raise self.fail(doc, "spec.timeWindow[0].duration", str(err)) from None

    def objective(self, doc: _Doc) -> float:
        method = doc.spec.get("budgetingMethod")
        if method != "Occurrences":
            raise self.fail(
                doc,
                "spec.budgetingMethod",
                f"only Occurrences is supported (escalator counts cases), got {method!r}",
            )
        objectives = doc.spec.get("objectives")
        if not isinstance(objectives, list) or len(objectives) != 1:
            raise self.fail(
                doc, "spec.objectives", "exactly one objective per SLO (split the others)"
            )
        objective = objectives[0] if isinstance(objectives[0], dict) else {}
        target, percent = objective.get("target"), objective.get("targetPercent")
        if (target is None) == (percent is None):
            raise self.fail(doc, "spec.objectives[0]", "give one of target or targetPercent")
        if target is not None:
            if not _number(target) or not 0 < target < 1:
                raise self.fail(
                    doc, "spec.objectives[0].target", f"a number in (0, 1), got {target!r}"
                )
            return round(float(target) * 100, 8)
        if not _number(percent) or not 0 < percent < 100:
            raise self.fail(
                doc, "spec.objectives[0].targetPercent", f"a number in (0, 100), got {percent!r}"
            )
        return float(percent)

    # --- SLIs ------------------------------------------------------------------------

    def sli(self, doc: _Doc, journey: str) -> AvailabilitySLI | LatencySLI:
        objective = self.objective(doc)
        ref, inline = doc.spec.get("indicatorRef"), doc.spec.get("indicator")
        if (ref is None) == (inline is None):
            raise self.fail(doc, "spec.indicatorRef", "give one of indicatorRef or indicator")
        if ref is not None:
            sli_doc = self.named("SLI", ref, doc, "spec.indicatorRef")
        else:
            if not isinstance(inline, dict) or not isinstance(inline.get("spec"), dict):
                raise self.fail(doc, "spec.indicator", "a mapping with metadata and spec")
            name = (inline.get("metadata") or {}).get("name") or doc.name
            sli_doc = _Doc(doc.n, "SLI", str(name), inline)
        name = sli_doc.annotations.get(f"{PREFIX}sli") or _as_name(sli_doc.name)
        ratio = sli_doc.spec.get("ratioMetric")
        if not isinstance(ratio, dict):
            if "thresholdMetric" in sli_doc.spec:
                return self.todo_sli(doc, journey, name, objective, sli_doc.spec, "thresholdMetric")
            raise self.fail(sli_doc, "spec", "give ratioMetric or thresholdMetric")
        good, total = _source(ratio.get("good")), _source(ratio.get("total"))
        if good.get("type") == SOURCE_TYPE and total.get("type") == SOURCE_TYPE:
            return self.own_sli(sli_doc, name, objective, good, total)
        return self.todo_sli(doc, journey, name, objective, ratio, "ratioMetric")

    def own_sli(
        self,
        doc: _Doc,
        name: str,
        objective: float,
        good_source: dict[str, Any],
        total_source: dict[str, Any],
    ) -> AvailabilitySLI | LatencySLI:
        good = good_source.get("spec") or {}
        total = total_source.get("spec") or {}
        where = "spec.ratioMetric.good.metricSource.spec"
        try:
            if "end_event" in good:
                return LatencySLI(
                    type="latency",
                    name=name,
                    start_event=good.get("start_event") or total.get("start_event"),
                    end_event=good["end_event"],
                    threshold=parse_duration(good.get("within")),
                    threshold_attribute=good.get("threshold_attribute"),
                    thresholds={
                        k: parse_duration(v) for k, v in (good.get("thresholds") or {}).items()
                    },
                    objective=objective,
                )
            return AvailabilitySLI(
                type="availability",
                name=name,
                valid_events=total.get("events") or [],
                good_events=good.get("events") or [],
                bad_events=good.get("unless") or [],
                objective=objective,
            )
        except ValidationError as err:
            first = err.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"])
            raise self.fail(doc, where, f"{field_name}: {first['msg']}") from None
        except ValueError as err:
            raise self.fail(doc, where, str(err)) from None

    def todo_sli(
        self,
        doc: _Doc,
        journey: str,
        name: str,
        objective: float,
        metric: dict[str, Any],
        what: str,
    ) -> AvailabilitySLI:
        queries = (
            "; ".join(
                f"{part}: {_query(metric.get(part) or metric)}"
                for part in ("good", "bad", "total")
                if part in metric
            )
            or f"{what}: {_query(metric.get('metricSource') and metric)}"
        )
        self.imported.todo.append(
            f"journey {journey}, SLI {name} (document {doc.n}): replace the TODO events with "
            f"your event names; the OpenSLO {what} was {queries}"
        )
        return AvailabilitySLI(
            type="availability",
            name=name,
            valid_events=[f"TODO-{name}-valid-event"],
            good_events=[f"TODO-{name}-good-event"],
            objective=objective,
        )

    # --- burn-rate tiers ---------------------------------------------------------------

    def conditions(self, doc: _Doc) -> list[tuple[str, _Doc]]:
        found = []
        policies = doc.spec.get("alertPolicies") or []
        if not isinstance(policies, list):
            raise self.fail(doc, "spec.alertPolicies", "a list of alertPolicyRef or AlertPolicy")
        for i, item in enumerate(policies):
            policy = self.inline_or_ref(
                doc, item, "AlertPolicy", "alertPolicyRef", f"spec.alertPolicies[{i}]"
            )
            conditions = policy.spec.get("conditions")
            if not isinstance(conditions, list) or len(conditions) != 1:
                raise self.fail(policy, "spec.conditions", "exactly one condition")
            condition = self.inline_or_ref(
                policy, conditions[0], "AlertCondition", "conditionRef", "spec.conditions[0]"
            )
            found.append((condition.name, condition))
        return found

    def inline_or_ref(self, doc: _Doc, item: object, kind: str, ref_key: str, where: str) -> _Doc:
        if isinstance(item, dict) and ref_key in item:
            return self.named(kind, item[ref_key], doc, f"{where}.{ref_key}")
        if (
            isinstance(item, dict)
            and item.get("kind") == kind
            and isinstance(item.get("spec"), dict)
        ):
            name = (item.get("metadata") or {}).get("name") or f"{doc.name}-{kind.lower()}"
            return _Doc(doc.n, kind, str(name), item)
        raise self.fail(doc, where, f"expected {ref_key} or an inline {kind}")

    def tier(self, doc: _Doc, window: timedelta) -> RoutingTier:
        condition = doc.spec.get("condition")
        if not isinstance(condition, dict) or condition.get("kind", "burnrate") != "burnrate":
            raise self.fail(doc, "spec.condition.kind", "only burnrate conditions are supported")
        threshold = condition.get("threshold")
        if not _number(threshold) or threshold <= 0:
            raise self.fail(
                doc, "spec.condition.threshold", f"a positive number, got {threshold!r}"
            )
        try:
            long_window = parse_shorthand(condition.get("lookbackWindow"))
        except ValueError as err:
            raise self.fail(doc, "spec.condition.lookbackWindow", str(err)) from None
        marks = doc.annotations
        action = marks.get(f"{PREFIX}action") or doc.spec.get("severity")
        if action not in ("page", "notify", "ticket"):
            self.imported.todo.append(
                f"tier from AlertCondition {doc.name} (document {doc.n}): severity "
                f"{doc.spec.get('severity')!r} became action page; use notify or ticket if meant"
            )
            action = "page"
        short = marks.get(f"{PREFIX}short-window")
        try:
            short_window = parse_duration(short) if short else long_window / _SHORT_WINDOW_RATIO
        except ValueError as err:
            raise self.fail(doc, f"metadata.annotations.{PREFIX}short-window", str(err)) from None
        fraction = marks.get(f"{PREFIX}budget-fraction")
        rate: dict[str, float] = (
            {"budget_fraction": float(fraction)} if fraction else {"burn_rate": float(threshold)}
        )
        try:
            return RoutingTier(
                long_window=long_window, short_window=short_window, action=action, **rate
            )
        except (ValidationError, ValueError) as err:
            first = err.errors()[0]["msg"] if isinstance(err, ValidationError) else str(err)
            raise self.fail(doc, "spec.condition", first) from None


def import_openslo(path: Path) -> Imported:
    reader = _Reader(path)
    reader.read()
    reader.imported.journeys = reader.journeys()
    return reader.imported


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_name(text: str) -> str:
    return text if _NAME.match(text) else f"sli-{text}"


def _source(part: object) -> dict[str, Any]:
    source = part.get("metricSource") if isinstance(part, dict) else None
    return source if isinstance(source, dict) else {}


def _query(part: object) -> str:
    source = _source(part)
    spec = source.get("spec") if isinstance(source.get("spec"), dict) else {}
    query = spec.get("query") if spec else None
    kind = source.get("type") or source.get("metricSourceRef") or "?"
    return f"{kind} {query!r}" if query else f"{kind} {spec or '(no query)'}"
