"""The policy set this deployment runs with: ``ESCALATOR_POLICY_DIR`` (default: the shipped set)."""

from __future__ import annotations

from escalator.policies.loader import load_policies
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings

__all__ = ["load_configured_policies"]


def load_configured_policies(settings: Settings | None = None) -> PolicySet:
    """Load and cross-check the configured policy directory (raises PolicyError)."""
    return load_policies([(settings or Settings()).policy_dir])
