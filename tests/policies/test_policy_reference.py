"""docs/policy-reference.md and escalator/policies/policy.schema.json are generated from the models.

Fails when a model changes without `python -m escalator.policies.reference`, or a field has no
meaning (docstring); the shipped examples name the schema by a relative path.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from ruamel.yaml import YAML

from escalator.policies.reference import (
    MODELS,
    REFERENCE_PATH,
    SCHEMA_PATH,
    reference_markdown,
    schema_text,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"


def test_reference_page_matches_the_models() -> None:
    assert REFERENCE_PATH.read_text("utf-8") == reference_markdown(), (
        "docs/policy-reference.md is stale: run python -m escalator.policies.reference"
    )


def test_schema_matches_the_models() -> None:
    assert SCHEMA_PATH.read_text("utf-8") == schema_text(), (
        "escalator/policies/policy.schema.json is stale: run python -m escalator.policies.reference"
    )


def test_every_field_has_a_meaning() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for _, model, _ in MODELS
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert not missing, missing


def test_examples_name_the_schema_and_validate() -> None:
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert files
    for file in files:
        first = file.read_text("utf-8").splitlines()[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), file
        assert (file.parent / first[len(prefix) :]).resolve() == SCHEMA_PATH
        for doc in YAML(typ="safe").load_all(file.read_text("utf-8")):
            jsonschema.validate(json.loads(json.dumps(doc, default=str)), schema)
