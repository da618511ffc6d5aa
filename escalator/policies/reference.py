"""The policy reference and JSON Schema, generated from the pydantic models.

``python -m escalator.policies.reference`` (or ``make policy-reference``) rewrites
``docs/policy-reference.md`` and ``escalator/policies/policy.schema.json``;
``python -m escalator.policies.reference --check`` exits 1 when either is stale. The
meaning of each field is its docstring in the model (``use_attribute_docstrings``),
so the page, the schema and the code cannot say different things; the rule
semantics are in :mod:`escalator.policies.reference_semantics`.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from escalator.policies.calendars import Calendar, HolidaySource
from escalator.policies.duration import format_duration
from escalator.policies.heartbeats import Heartbeat
from escalator.policies.integrations import (
    AlertRoute,
    GenericFields,
    Integration,
    IntegrationAuth,
)
from escalator.policies.journeys import (
    AvailabilitySLI,
    ColumnMapping,
    Journey,
    LatencySLI,
    RoutingTier,
)
from escalator.policies.notify_rules import NotifyRules, NotifyStep
from escalator.policies.playbooks import Playbook, PlaybookStep
from escalator.policies.policy_set import DOCUMENT_KEYS, PolicyDocument
from escalator.policies.reference_semantics import SEMANTICS
from escalator.policies.roles import (
    Digest,
    EscalationLevel,
    EscalationPolicy,
    Member,
    OwnerRole,
    Rotation,
)
from escalator.policies.rules import (
    CompletenessRule,
    ConformanceRule,
    LatencyRule,
    Outcome,
    Precedence,
    QualityRule,
    Response,
    VolumeRule,
    _RuleBase,
)
from escalator.policies.schedules import Layer, Schedule, ShiftWindow
from escalator.policies.storm import StormControl
from escalator.policies.webhooks import Webhook

__all__ = ["MODELS", "REFERENCE_PATH", "SCHEMA_PATH", "json_schema", "main", "reference_markdown"]

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PATH = ROOT / "docs" / "policy-reference.md"
SCHEMA_PATH = Path(__file__).resolve().parent / "policy.schema.json"

# (heading, model, fields inherited from this base are left out). Order = page order.
MODELS: list[tuple[str, type[BaseModel], type[BaseModel] | None]] = [
    ("Journey", Journey, None),
    ("AvailabilitySLI", AvailabilitySLI, None),
    ("LatencySLI", LatencySLI, None),
    ("RoutingTier", RoutingTier, None),
    ("ColumnMapping", ColumnMapping, None),
    ("Every rule", _RuleBase, None),
    ("LatencyRule", LatencyRule, _RuleBase),
    ("QualityRule", QualityRule, _RuleBase),
    ("CompletenessRule", CompletenessRule, _RuleBase),
    ("ConformanceRule", ConformanceRule, _RuleBase),
    ("VolumeRule", VolumeRule, _RuleBase),
    ("Outcome", Outcome, None),
    ("Precedence", Precedence, None),
    ("Response", Response, None),
    ("OwnerRole", OwnerRole, None),
    ("Member", Member, None),
    ("NotifyRules", NotifyRules, None),
    ("NotifyStep", NotifyStep, None),
    ("Rotation", Rotation, None),
    ("Schedule", Schedule, None),
    ("Layer", Layer, None),
    ("ShiftWindow", ShiftWindow, None),
    ("Digest", Digest, None),
    ("EscalationPolicy", EscalationPolicy, None),
    ("EscalationLevel", EscalationLevel, None),
    ("StormControl", StormControl, None),
    ("Playbook", Playbook, None),
    ("PlaybookStep", PlaybookStep, None),
    ("Calendar", Calendar, None),
    ("HolidaySource", HolidaySource, None),
    ("Integration", Integration, None),
    ("IntegrationAuth", IntegrationAuth, None),
    ("AlertRoute", AlertRoute, None),
    ("GenericFields", GenericFields, None),
    ("Webhook", Webhook, None),
    ("Heartbeat", Heartbeat, None),
]
_HEADING = {model: heading for heading, model, _ in MODELS}
_ANCHOR = {model: heading.lower().replace(" ", "-") for heading, model, _ in MODELS}
_WHERE: dict[str, type[BaseModel]] = {
    "journeys": Journey,
    "rules": _RuleBase,
    "roles": OwnerRole,
    "escalation_policies": EscalationPolicy,
    "playbooks": Playbook,
    "calendars": Calendar,
    "integrations": Integration,
    "webhooks": Webhook,
    "heartbeats": Heartbeat,
}

# --- types, defaults ---------------------------------------------------------------


def _link(model: type[BaseModel]) -> str:
    return f"[{_HEADING.get(model, model.__name__)}](#{_ANCHOR.get(model, model.__name__.lower())})"


def type_text(annotation: Any) -> str:
    """A field's type in words: ``duration``, ``list of text``, ``[LatencySLI](#latencysli)``."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        metadata += more
    if any(getattr(m, "pattern", None) == r"^[A-Za-z][A-Za-z0-9_.-]*$" for m in metadata):
        return "name"
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        text = " or ".join(type_text(m) for m in members)
        return f"{text} or none" if len(members) < len(get_args(annotation)) else text
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in get_args(annotation))
    if origin is list:
        return f"list of {type_text(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map of {type_text(key)} → {type_text(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _link(annotation)
    simple = {
        str: "text",
        bool: "true/false",
        int: "integer",
        float: "number",
        timedelta: "duration",
        datetime: "date-time with offset",
        date: "date",
        time: "time",
    }
    return simple.get(annotation, "any") if isinstance(annotation, type) else "any"


def _constraints(info: FieldInfo) -> str:
    words = []
    for m in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            if getattr(m, attr, None) is not None:
                words.append(f"{sign} {getattr(m, attr)}")
        if getattr(m, "min_length", None):
            words.append(f"at least {m.min_length}")
        pattern = getattr(m, "pattern", None)
        if pattern and pattern != r"^[A-Za-z][A-Za-z0-9_.-]*$":
            words.append(f"matches `{pattern}`")
    return ", ".join(words)


def _value_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    if isinstance(value, BaseModel):
        return "the defaults of " + _link(type(value))
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "see " + _link(type(value[0]))
    return f"`{json.dumps(value)}`"


def default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return _value_text(info.default_factory())  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return "**required**"
    return _value_text(info.default)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split()) if "\\|" not in text else text


def _fields(model: type[BaseModel], skip: type[BaseModel] | None) -> Iterator[str]:
    inherited = set(skip.model_fields) if skip else set()
    for name, info in model.model_fields.items():
        if name in inherited:
            continue
        kind = type_text(
            info.annotation if not info.metadata else Annotated[(info.annotation, *info.metadata)]
        )
        extra = _constraints(info)
        if extra:
            kind += f" ({extra})"
        meaning = info.description or ""
        yield f"| `{name}` | {kind} | {default_text(info)} | {_cell(meaning)} |"


def _doc(model: type[BaseModel]) -> str:
    text = (model.__doc__ or "").strip()
    return " ".join(text.split("\n\n")[0].split()) if text else ""


# --- the page ----------------------------------------------------------------------

INTRO = """\
# Policy reference

<!-- Generated by `python -m escalator.policies.reference` from the pydantic models in
escalator/policies/; do not edit by hand (tests/policies/test_policy_reference.py fails
when this page and the models drift). -->

Every field of every policy item: its type, its default and what it means,
then the semantics the rules really use. How policy files are found and
checked: [policies.md](policies.md). Editors validate as you type with the
JSON Schema [escalator/policies/policy.schema.json](../policies/policy.schema.json)
(`escalator policy schema` prints it); start a policy file with

```yaml
# yaml-language-server: $schema=../policy.schema.json
```

(a path relative to the file), as the shipped examples in `escalator/policies/examples/` do.

Types: **name** is a letter, then letters, digits, `_`, `.` or `-` (at most
80); **duration** is `15m`, `2h`, `1h30m`, `28d`, `1w` (units `w d h m s`;
a bare number is refused); **none** is YAML `null` or leaving the key out.
Unknown keys are refused everywhere (with a "did you mean").
"""


def _documents() -> list[str]:
    lines = [
        "## Document keys",
        "",
        "A YAML document is a mapping with any of these keys, each a list; keys "
        "starting with `x-` are ignored (a home for YAML anchors).",
        "",
        "| key | items |",
        "|---|---|",
    ]
    for key in DOCUMENT_KEYS:
        model = _WHERE[key]
        items = (
            "rules, by `kind`: "
            + ", ".join(
                _link(m)
                for m in (LatencyRule, QualityRule, CompletenessRule, ConformanceRule, VolumeRule)
            )
            if key == "rules"
            else _link(model)
        )
        lines.append(f"| `{key}` | {items} |")
    return lines


def reference_markdown() -> str:
    """The whole of ``docs/policy-reference.md``."""
    out = [INTRO, *_documents(), ""]
    for heading, model, skip in MODELS:
        out += [f"## {heading}", ""]
        if skip is not None:
            out += [f"The fields of {_link(skip)}, and:", ""]
        doc = _doc(model)
        if doc:
            out += [doc, ""]
        out += [
            "| field | type | default | meaning |",
            "|---|---|---|---|",
            *_fields(model, skip),
            "",
        ]
    out += [SEMANTICS.strip(), ""]
    return "\n".join(out)


# --- the schema --------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """JSON Schema of one policy YAML document, for editors (yaml-language-server)."""
    schema = PolicyDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "escalator policy document"
    schema["description"] = (
        "One YAML document of escalator policies; see docs/policy-reference.md. "
        "Cross-checks (unknown names, unreachable levels, ...) are `escalator policy check`'s."
    )
    schema["patternProperties"] = {"^x-": {}}  # anchors' home, ignored by the loader
    for key in DOCUMENT_KEYS:
        prop = schema["properties"][key]
        prop.pop("default", None)
        # `rules:` with nothing under it yet is allowed.
        schema["properties"][key] = {
            "anyOf": [prop, {"type": "null"}],
            "description": prop.get("title", key),
        }
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    wanted = {REFERENCE_PATH: reference_markdown(), SCHEMA_PATH: schema_text()}
    if "--check" in args:
        stale = [p for p, text in wanted.items() if not p.exists() or p.read_text("utf-8") != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run python -m escalator.policies.reference")
        return 1 if stale else 0
    for path, text in wanted.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
