"""How many inputs each property test generated, printed at the end of the run
("property inputs: ..." in pytest's terminal summary, from tests/conftest.py)."""

from __future__ import annotations

__all__ = ["GENERATED", "count"]

GENERATED: dict[str, int] = {}


def count(what: str) -> None:
    GENERATED[what] = GENERATED.get(what, 0) + 1
