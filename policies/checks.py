"""Cross-checks over a loaded policy set (filled in below)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from policies.errors import Problem

if TYPE_CHECKING:
    from policies.loader import LoadedPolicies

__all__ = ["run_checks"]


def run_checks(loaded: LoadedPolicies, broken: dict[str, set[str]]) -> list[Problem]:
    return []
