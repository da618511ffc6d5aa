"""`escalator slo export --openslo` and `escalator slo import`: OpenSLO v1 out and in.

The exported documents are checked against the OpenSLO v1 specification's fields
(https://github.com/OpenSLO/OpenSLO, `apiVersion: openslo/v1`) with a JSON Schema
written here from the specification's text, and every reference between them must
resolve. Then the export imports back to the same SLIs, windows and burn-rate tiers.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.loader import load_policies
from escalator.policies.openslo_import import import_openslo

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"

# --- OpenSLO v1, as the specification describes each kind (our own schema) ----------

NAME = {"type": "string", "pattern": r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}  # RFC 1123 label
SHORTHAND = {"type": "string", "pattern": r"^[1-9][0-9]*[mhdwMQY]$"}
DESCRIPTION = {"type": "string", "maxLength": 1050}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": NAME,
        "displayName": {"type": "string"},
        "labels": {"type": "object"},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
SOURCE = {
    "type": "object",
    "required": ["metricSource"],
    "properties": {
        "metricSource": {
            "type": "object",
            "required": ["spec"],
            "properties": {
                "metricSourceRef": {"type": "string"},
                "type": {"type": "string"},
                "spec": {"type": "object"},
            },
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}


def _kind(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "openslo/v1"},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
        "additionalProperties": False,
    }


SCHEMAS = {
    "SLI": _kind(
        "SLI",
        {
            "type": "object",
            "properties": {
                "description": DESCRIPTION,
                "ratioMetric": {
                    "type": "object",
                    "required": ["counter", "total"],
                    "properties": {
                        "counter": {"type": "boolean"},
                        "good": SOURCE,
                        "bad": SOURCE,
                        "total": SOURCE,
                    },
                    "oneOf": [{"required": ["good"]}, {"required": ["bad"]}],
                    "additionalProperties": False,
                },
                "thresholdMetric": SOURCE,
            },
            "oneOf": [{"required": ["ratioMetric"]}, {"required": ["thresholdMetric"]}],
            "additionalProperties": False,
        },
    ),
    "SLO": _kind(
        "SLO",
        {
            "type": "object",
            "required": ["service", "indicatorRef", "budgetingMethod", "objectives"],
            "properties": {
                "description": DESCRIPTION,
                "service": {"type": "string"},
                "indicatorRef": {"type": "string"},
                "timeWindow": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["duration", "isRolling"],
                        "properties": {"duration": SHORTHAND, "isRolling": {"const": True}},
                        "additionalProperties": False,
                    },
                },
                "budgetingMethod": {"enum": ["Occurrences", "Timeslices"]},
                "objectives": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "displayName": {"type": "string"},
                            "target": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                        },
                        "required": ["target"],
                        "additionalProperties": False,
                    },
                },
                "alertPolicies": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["alertPolicyRef"],
                        "properties": {"alertPolicyRef": {"type": "string"}},
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    ),
    "AlertPolicy": _kind(
        "AlertPolicy",
        {
            "type": "object",
            "required": [
                "alertWhenNoData",
                "alertWhenResolved",
                "alertWhenBreaching",
                "conditions",
                "notificationTargets",
            ],
            "properties": {
                "description": DESCRIPTION,
                "alertWhenNoData": {"type": "boolean"},
                "alertWhenResolved": {"type": "boolean"},
                "alertWhenBreaching": {"type": "boolean"},
                "conditions": {  # an array of at most one condition, says the specification
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["conditionRef"],
                        "properties": {"conditionRef": {"type": "string"}},
                        "additionalProperties": False,
                    },
                },
                "notificationTargets": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["targetRef"],
                        "properties": {"targetRef": {"type": "string"}},
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    ),
    "AlertCondition": _kind(
        "AlertCondition",
        {
            "type": "object",
            "required": ["severity", "condition"],
            "properties": {
                "description": DESCRIPTION,
                "severity": {"type": "string"},
                "condition": {
                    "type": "object",
                    "required": ["kind", "threshold", "lookbackWindow", "alertAfter"],
                    "properties": {
                        "kind": {"const": "burnrate"},
                        "threshold": {"type": "number"},
                        "lookbackWindow": SHORTHAND,
                        # the specification's own default is `0m`
                        "alertAfter": {"type": "string", "pattern": r"^(0|[1-9][0-9]*)[mhdwMQY]$"},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    ),
    "AlertNotificationTarget": _kind(
        "AlertNotificationTarget",
        {
            "type": "object",
            "required": ["target"],
            "properties": {"description": DESCRIPTION, "target": {"type": "string"}},
            "additionalProperties": False,
        },
    ),
}


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all(io.StringIO(text)) if d is not None]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("openslo") / "slos.yaml"
    done = CliRunner().invoke(
        app, ["slo", "export", "--openslo", "--policy", str(EXAMPLES), "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    return out


def test_export_follows_the_openslo_v1_fields(exported: Path) -> None:
    docs = _docs(exported.read_text())
    policies = load_policies([EXAMPLES])
    kinds = [d["kind"] for d in docs]
    slis = sum(len(j.slis) for j in policies.journeys)
    tiers = sum(len(j.routing) for j in policies.journeys)
    assert kinds.count("SLI") == kinds.count("SLO") == slis
    assert kinds.count("AlertCondition") == kinds.count("AlertPolicy") == tiers
    names: dict[str, set[str]] = {}
    for doc in docs:
        jsonschema.validate(doc, SCHEMAS[doc["kind"]])
        assert doc["metadata"]["name"] not in names.setdefault(doc["kind"], set()), "unique"
        names[doc["kind"]].add(doc["metadata"]["name"])
    # Every reference resolves within the file.
    for doc in docs:
        spec = doc["spec"]
        if doc["kind"] == "SLO":
            assert spec["indicatorRef"] in names["SLI"]
            assert {p["alertPolicyRef"] for p in spec["alertPolicies"]} <= names["AlertPolicy"]
        if doc["kind"] == "AlertPolicy":
            assert spec["conditions"][0]["conditionRef"] in names["AlertCondition"]
            assert spec["notificationTargets"][0]["targetRef"] in names["AlertNotificationTarget"]
    # The numbers: objectives as fractions, the burn rate a budget fraction stands for.
    order = next(
        d
        for d in docs
        if d["kind"] == "SLO" and d["metadata"]["name"] == "order-to-ship-orders-shipped"
    )
    assert order["spec"]["objectives"][0]["target"] == 0.995
    assert order["spec"]["timeWindow"] == [{"duration": "4w", "isRolling": True}]
    fast = next(d for d in docs if d["metadata"]["name"] == "order-to-ship-burn-1-page")
    # 2 % of a 28-day budget in 1 h is a burn rate of 0.02 * 672 = 13.44.
    assert fast["spec"]["condition"]["threshold"] == pytest.approx(13.44)
    assert fast["spec"]["condition"]["lookbackWindow"] == "1h"


def test_export_imports_back_to_the_same_slos(exported: Path) -> None:
    imported = import_openslo(exported)
    assert imported.todo == []
    originals = {j.name: j for j in load_policies([EXAMPLES]).journeys}
    assert sorted(j.name for j in imported.journeys) == sorted(originals)
    for journey in imported.journeys:
        original = originals[journey.name]
        assert journey.slis == original.slis
        assert journey.window == original.window
        assert journey.routing == original.routing


def test_import_writes_journeys_the_policies_load(exported: Path, tmp_path: Path) -> None:
    out = tmp_path / "imported.yaml"
    done = CliRunner().invoke(app, ["slo", "import", str(exported), "-o", str(out)])
    assert done.exit_code == 0, done.output
    text = out.read_text()
    assert "TODO" not in text
    journeys = _docs(text)[0]["journeys"]
    assert {j["name"] for j in journeys} == {"orderToShip", "ticketToResolution"}


FOREIGN = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-success
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{code!~"5.."}[5m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total[5m]))
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: checkout-fast-burn
spec:
  severity: sev1
  condition:
    kind: burnrate
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 5m
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: checkout-fast-burn
spec:
  alertWhenNoData: false
  alertWhenResolved: false
  alertWhenBreaching: true
  conditions:
    - conditionRef: checkout-fast-burn
  notificationTargets:
    - targetRef: pager
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  indicatorRef: checkout-success
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.9
  alertPolicies:
    - alertPolicyRef: checkout-fast-burn
"""


def test_a_foreign_slo_comes_in_with_its_event_mapping_marked_todo(tmp_path: Path) -> None:
    source = tmp_path / "checkout.yaml"
    source.write_text(FOREIGN)
    out = tmp_path / "journeys.yaml"
    done = CliRunner().invoke(app, ["slo", "import", str(source), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "2 item(s) marked TODO" in done.stderr
    text = out.read_text()
    [journey] = _docs(text)[0]["journeys"]
    assert journey["name"] == "checkout" and journey["window"] == "30d"
    [sli] = journey["slis"]
    assert sli["objective"] == 99.9
    assert sli["good_events"] == ["TODO-checkout-success-good-event"]
    assert sli["valid_events"] == ["TODO-checkout-success-valid-event"]
    # The header says what to complete, with the query the SLI was measured by.
    assert "# TODO: complete before use" in text
    assert 'http_requests_total{code!~"5.."}' in text
    [tier] = journey["routing"]
    assert tier == {"long_window": "1h", "short_window": "5m", "burn_rate": 14.4, "action": "page"}
    assert "severity 'sev1' became action page" in text


SLO_HEAD = "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: bad\nspec:\n  service: shop\n"
OK_SLO_BODY = (
    "  indicatorRef: s\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n"
)
SLI_DOC = (
    "---\napiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: s\nspec:\n"
    "  thresholdMetric:\n    metricSource:\n      type: Prometheus\n      spec: {query: up}\n"
)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata: {name: x}\nspec: {}\n",
            "document 1 (SLO x): apiVersion: expected openslo/v1, got 'openslo/v1alpha'",
        ),
        (
            SLO_HEAD + OK_SLO_BODY.replace("Occurrences", "Timeslices") + SLI_DOC,
            "document 1 (SLO bad): spec.budgetingMethod: only Occurrences is supported",
        ),
        (
            SLO_HEAD + OK_SLO_BODY.replace("target: 0.99", "targetPercent: 120") + SLI_DOC,
            "document 1 (SLO bad): spec.objectives[0].targetPercent: a number in (0, 100)",
        ),
        (
            SLO_HEAD
            + OK_SLO_BODY
            + "  timeWindow:\n    - {duration: 1M, isRolling: true}\n"
            + SLI_DOC,
            "document 1 (SLO bad): spec.timeWindow[0].duration: '1M': months",
        ),
        (
            SLO_HEAD + OK_SLO_BODY.replace("indicatorRef: s", "indicatorRef: nope") + SLI_DOC,
            "document 1 (SLO bad): spec.indicatorRef: no SLI named 'nope' in this file (known: s)",
        ),
        (
            SLO_HEAD.replace("service: shop", "service: 9shop") + OK_SLO_BODY + SLI_DOC,
            "document 1 (SLO bad): spec.service: names the journey",
        ),
        ("kind: [unclosed\n", "not YAML"),
        (SLI_DOC.removeprefix("---\n"), "file: kind: no SLO document: nothing to import"),
    ],
    ids=[
        "api-version",
        "timeslices",
        "percent",
        "months",
        "unknown-sli",
        "service",
        "yaml",
        "no-slo",
    ],
)
def test_bad_input_is_one_line_naming_file_and_field(tmp_path: Path, text: str, where: str) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(text)
    done = CliRunner().invoke(app, ["slo", "import", str(source)])
    assert done.exit_code == 2, done.output
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {source}: "), lines[0]
    assert where in lines[0], lines[0]
