"""The policy set this deployment runs with: ``ESCALATOR_POLICY_DIR`` (default: the shipped set)."""

from __future__ import annotations

from policies.loader import load_policies
from policies.policy_set import PolicySet
from workers.settings import Settings

__all__ = ["load_configured_policies"]


def load_configured_policies(settings: Settings | None = None) -> PolicySet:
    """Load and cross-check the configured policy directory (raises PolicyError)."""
    return load_policies([(settings or Settings()).policy_dir])
