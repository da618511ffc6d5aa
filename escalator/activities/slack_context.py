"""What a Slack message needs beyond the status: hypothesis, runbook, roles, Slack user ids.

Read from the policy set the worker loaded, so the message shows the rule in
plain words and mentions members by their Slack user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from escalator.activities.slack_blocks import MessageContext
from escalator.policies.policy_set import PolicySet
from escalator.workflows.contracts import ExceptionStatus

__all__ = ["ContextSource", "default_context", "no_context", "policy_context"]

log = logging.getLogger(__name__)

ContextSource = Callable[[ExceptionStatus], MessageContext]


def no_context(status: ExceptionStatus) -> MessageContext:
    return MessageContext()


def policy_context(policies: PolicySet) -> ContextSource:
    roles = tuple(sorted(r.name for r in policies.roles))
    members = {
        m.name: m.slack_user_id for r in policies.roles for m in r.members if m.slack_user_id
    }

    def context(status: ExceptionStatus) -> MessageContext:
        try:
            rule = policies.rule(status.rule)
        except KeyError:  # a rule renamed since the exception started: still render it
            return MessageContext(reassign_roles=roles, members=members)
        return MessageContext(
            hypothesis=rule.hypothesis or rule.predicts.description,
            runbook=rule.runbook,
            reassign_roles=roles,
            members=members,
        )

    return context


def default_context(policy_dir: Path) -> ContextSource:
    """The policies in ``policy_dir``, loaded at the first message (the worker loads
    the same directory); messages still go out, plainer, if they do not load."""
    loaded: list[ContextSource] = []

    def context(status: ExceptionStatus) -> MessageContext:
        if not loaded:
            from escalator.policies.loader import load_policies

            try:
                loaded.append(policy_context(load_policies([policy_dir])))
            except Exception as err:  # a broken policy dir must not stop pages
                log.warning("Slack messages without policy details: %s", err)
                loaded.append(no_context)
        return loaded[0](status)

    return context
