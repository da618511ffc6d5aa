"""What a Slack message needs beyond the status: hypothesis, runbook, roles, Slack user ids.

Read from the policy set the worker loaded, so the message shows the rule in
plain words and mentions members by their Slack user.
"""

from __future__ import annotations

from collections.abc import Callable

from activities.slack_blocks import MessageContext
from policies.policy_set import PolicySet
from workflows.contracts import ExceptionStatus

__all__ = ["ContextSource", "no_context", "policy_context"]

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
