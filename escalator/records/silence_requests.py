"""A silence as asked for (from `escalator silence add` or the Slack slash command),
checked against the policies before it is stored, and its one-line description."""

from __future__ import annotations

from datetime import UTC, datetime

from escalator.policies.duration import parse_duration
from escalator.policies.policy_set import PolicySet
from escalator.records.silences import SilenceError, SilenceStore
from escalator.records.tables import SilenceRecord

__all__ = ["SilenceRequest", "add_silence", "describe"]


class SilenceRequest:
    """A silence as asked for (from the CLI or a Slack slash command), checked before storing."""

    def __init__(
        self,
        *,
        journey: str,
        reason: str,
        actor: str,
        rule: str | None = None,
        labels: list[str] | None = None,
        until: str | None = None,
        for_: str | None = None,
        until_resolved: str | None = None,
    ) -> None:
        self.journey, self.reason, self.actor, self.rule = journey, reason, actor, rule
        self.labels = labels or []
        self.until, self.for_, self.until_resolved = until, for_, until_resolved

    def check(self, policies: PolicySet | None) -> dict[str, str]:
        """The labels as a dict; a ``SilenceError`` naming the bad option otherwise."""
        labels: dict[str, str] = {}
        for item in self.labels:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise SilenceError(f"--label {item!r}: expected key=value, e.g. site=ams")
            labels[key] = value
        if sum(x is not None for x in (self.until, self.for_, self.until_resolved)) != 1:
            raise SilenceError(
                "give exactly one of --until TIME, --for DURATION, --until-resolved ID"
            )
        if policies is None:
            return labels
        journeys = {j.name for j in policies.journeys}
        if self.journey not in journeys:
            raise SilenceError(
                f"--journey {self.journey!r}: no such journey ({', '.join(sorted(journeys))})"
            )
        rules = {r.name for r in policies.rules if r.journey == self.journey}
        if self.rule is not None and self.rule not in rules:
            raise SilenceError(
                f"--rule {self.rule!r}: not a rule of {self.journey} ({', '.join(sorted(rules))})"
            )
        members = {m.name for role in policies.roles for m in role.members}
        if self.actor not in members:
            raise SilenceError(f"--as {self.actor!r}: not a member of any role in the policies")
        return labels

    def ends_at(self, now: datetime) -> datetime | None:
        if self.for_ is not None:
            try:
                return now + parse_duration(self.for_)
            except ValueError as err:
                raise SilenceError(f"--for {self.for_!r}: {err}") from None
        if self.until is not None:
            try:
                at = datetime.fromisoformat(self.until.replace("Z", "+00:00"))
            except ValueError:
                raise SilenceError(
                    f"--until {self.until!r}: expected an ISO time such as 2026-03-02T18:00+01:00"
                ) from None
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        return None


def add_silence(
    store: SilenceStore, request: SilenceRequest, policies: PolicySet | None, now: datetime
) -> SilenceRecord:
    labels = request.check(policies)
    return store.add(
        journey=request.journey,
        rule=request.rule,
        labels=labels,
        reason=request.reason,
        created_by=request.actor,
        now=now,
        ends_at=request.ends_at(now),
        until_resolved=request.until_resolved,
    )


def describe(s: SilenceRecord) -> str:
    scope = s.journey + (f"/{s.rule}" if s.rule else "")
    scope += "".join(f" {k}={v}" for k, v in sorted((s.labels or {}).items()))
    end = f"until {s.ends_at.isoformat()}" if s.ends_at else f"until {s.until_resolved} resolves"
    if s.expired_at:
        end = f"expired {s.expired_at.isoformat()} by {s.expired_by}"
    return f"{s.id}  {scope}  {end}  — {s.reason} ({s.created_by})"
