"""The base of every policy model: frozen, unknown keys refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["Name", "PolicyModel"]

# Names are referenced across files (a rule names its owner role), so keep
# them to a safe, greppable alphabet.
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", min_length=1, max_length=80),
]


class PolicyModel(BaseModel):
    # Field docstrings are the meanings in docs/policy-reference.md and the JSON Schema.
    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, use_attribute_docstrings=True
    )
