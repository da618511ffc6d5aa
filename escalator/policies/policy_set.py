"""A loaded set of policies: what every policy document contributes, merged."""

from __future__ import annotations

import hashlib
from typing import TypeVar

from pydantic import Field, TypeAdapter

from escalator.policies.base import PolicyModel
from escalator.policies.calendars import Calendar
from escalator.policies.heartbeats import Heartbeat
from escalator.policies.integrations import Integration
from escalator.policies.journeys import Journey
from escalator.policies.playbooks import Playbook
from escalator.policies.roles import EscalationPolicy, OwnerRole
from escalator.policies.rules import ExceptionRule
from escalator.policies.webhooks import Webhook

__all__ = ["DOCUMENT_KEYS", "PolicyDocument", "PolicySet"]

T = TypeVar("T")


class PolicyDocument(PolicyModel):
    """One YAML document. A file may hold several (``---``); a directory many files."""

    journeys: list[Journey] = Field(default_factory=list)
    rules: list[ExceptionRule] = Field(default_factory=list)
    roles: list[OwnerRole] = Field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = Field(default_factory=list)
    playbooks: list[Playbook] = Field(default_factory=list)
    calendars: list[Calendar] = Field(default_factory=list)
    integrations: list[Integration] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    heartbeats: list[Heartbeat] = Field(default_factory=list)


DOCUMENT_KEYS = tuple(PolicyDocument.model_fields)


class PolicySet(PolicyModel):
    journeys: list[Journey] = Field(default_factory=list)
    rules: list[ExceptionRule] = Field(default_factory=list)
    roles: list[OwnerRole] = Field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = Field(default_factory=list)
    playbooks: list[Playbook] = Field(default_factory=list)
    calendars: list[Calendar] = Field(default_factory=list)
    integrations: list[Integration] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    heartbeats: list[Heartbeat] = Field(default_factory=list)

    @classmethod
    def merge(cls, documents: list[PolicyDocument]) -> PolicySet:
        merged: dict[str, list[object]] = {k: [] for k in DOCUMENT_KEYS}
        for doc in documents:
            for key in DOCUMENT_KEYS:
                merged[key].extend(getattr(doc, key))
        return cls.model_validate(merged)

    @property
    def version(self) -> str:
        """Content hash: the same policies give the same version on every machine."""
        raw = self.model_dump_json().encode()
        return hashlib.sha256(raw).hexdigest()[:12]

    def journey(self, name: str) -> Journey:
        return _by_name(self.journeys, name, "journey")

    def rule(self, name: str) -> ExceptionRule:
        return _by_name(self.rules, name, "rule")

    def role(self, name: str) -> OwnerRole:
        return _by_name(self.roles, name, "role")

    def escalation_policy(self, name: str) -> EscalationPolicy:
        return _by_name(self.escalation_policies, name, "escalation policy")

    def playbook(self, name: str) -> Playbook:
        return _by_name(self.playbooks, name, "playbook")

    def calendar(self, name: str) -> Calendar:
        return _by_name(self.calendars, name, "calendar")

    def integration(self, name: str) -> Integration:
        return _by_name(self.integrations, name, "integration")

    def webhook(self, name: str) -> Webhook:
        return _by_name(self.webhooks, name, "webhook")

    def heartbeat(self, name: str) -> Heartbeat:
        return _by_name(self.heartbeats, name, "heartbeat")


def _by_name(items: list[T], name: str, what: str) -> T:
    for item in items:
        if getattr(item, "name", None) == name:
            return item
    known = ", ".join(sorted(str(getattr(i, "name", "")) for i in items)) or "none"
    raise KeyError(f"no {what} named {name!r} (known: {known})")


RULE_ADAPTER: TypeAdapter[ExceptionRule] = TypeAdapter(ExceptionRule)
