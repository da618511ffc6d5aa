"""On-call overrides and vacations, stored in the records database.

They are operational data, not policy: "dirk covers anna from Fri 18:00 to Mon
09:00" is made at short notice by the people on the rota, with who made it and
when. Nothing is deleted: removing one stamps ``removed_at``/``removed_by``.

Who may change what (refusals say why):
- an override of role R: a member of R, or of an incident-lead role (a policy's
  ``incident_lead_role``); the member put on call must be a member of R;
- a vacation of member M: M, a member of a role M is in, or an incident lead.

:func:`who_is_on_call` joins the policy's schedule with these rows through the
pure :func:`escalator.policies.schedules.on_call`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from escalator.errors import InputError
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.policies.schedules import Away, OnCall, Override
from escalator.records.projection import as_utc
from escalator.records.tables import OnCallChangeRecord

__all__ = [
    "OnCallError",
    "OnCallStore",
    "add_override",
    "as_schedule_changes",
    "check_actor",
    "who_is_on_call",
]

OC = OnCallChangeRecord.__table__  # type: ignore[attr-defined]
Kind = Literal["override", "away"]


class OnCallError(InputError, ValueError):
    """An override or vacation that cannot be made or removed; the message says why."""


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _row(r: Any) -> OnCallChangeRecord:
    data: dict[str, Any] = dict(r)
    for key in ("starts_at", "ends_at", "created_at", "removed_at"):
        if data.get(key) is not None:
            data[key] = as_utc(data[key])
    return OnCallChangeRecord(**data)


def _role(policies: PolicySet, name: str) -> OwnerRole:
    for role in policies.roles:
        if role.name == name:
            return role
    known = ", ".join(sorted(r.name for r in policies.roles))
    raise OnCallError(f"no role {name!r} in the policies (roles: {known})")


def _leads(policies: PolicySet) -> dict[str, list[str]]:
    """Incident-lead roles and their members."""
    names = {p.incident_lead_role for p in policies.escalation_policies if p.incident_lead_role}
    return {r.name: [m.name for m in r.members] for r in policies.roles if r.name in names}


def check_actor(policies: PolicySet, kind: Kind, actor: str, member: str, role: str | None) -> None:
    """Refuse (with why) an override or vacation ``actor`` may not make."""
    leads = _leads(policies)
    lead = any(actor in members for members in leads.values())
    lead_text = (
        "; ".join(f"{name}: {', '.join(ms)}" for name, ms in sorted(leads.items())) or "none"
    )
    if kind == "override":
        assert role is not None
        r = _role(policies, role)
        names = [m.name for m in r.members]
        if actor not in names and not lead:
            raise OnCallError(
                f"{actor} may not change who is on call for {role}: only its members "
                f"({', '.join(names)}) or an incident lead ({lead_text}) may"
            )
        if member not in names:
            raise OnCallError(
                f"{member} is not a member of role {role} ({', '.join(names)}); "
                "only members can be put on call for it"
            )
        return
    roles = [r for r in policies.roles if member in {m.name for m in r.members}]
    if not roles:
        raise OnCallError(f"{member} is not a member of any role")
    colleagues = {m.name for r in roles for m in r.members}
    if actor not in colleagues and not lead:
        raise OnCallError(
            f"{actor} may not mark {member} away: only {member}, a member of "
            f"{', '.join(r.name for r in roles)}, or an incident lead ({lead_text}) may"
        )


def add_override(
    store: OnCallStore,
    policies: PolicySet,
    *,
    role: str,
    member: str,
    actor: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    covers: str | None = None,
    reason: str = "",
) -> OnCallChangeRecord:
    """The one way an override is made (`escalator oncall override add`, `/escalator
    cover`, the "Take this shift" button): ``actor`` may change ``role``'s on-call, the
    members named are in the role, then it is stored with who made it and when."""
    check_actor(policies, "override", actor, member, role)
    if covers is not None:
        check_actor(policies, "override", actor, covers, role)
    return store.add(
        kind="override",
        role=role,
        member=member,
        covers=covers,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        now=now,
        reason=reason,
    )


class OnCallStore:
    """Overrides and vacations (the engine of a migrated ``escalator.records.store.Store``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(
        self,
        *,
        kind: Kind,
        member: str,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        now: datetime,
        role: str | None = None,
        covers: str | None = None,
        reason: str = "",
    ) -> OnCallChangeRecord:
        # UTC first: SQLite keeps no offset (the store's convention is UTC).
        starts_at, ends_at, now = _utc(starts_at), _utc(ends_at), _utc(now)
        if ends_at <= starts_at:
            raise OnCallError(
                f"it would end ({ends_at.isoformat()}) before it starts ({starts_at.isoformat()})"
            )
        if ends_at <= now:
            raise OnCallError(f"it would end ({ends_at.isoformat()}) in the past")
        if kind == "override" and role is None:
            raise OnCallError("an override needs a role")
        if covers is not None and covers == member:
            raise OnCallError(f"{member} cannot cover themselves")
        prefix = "ov" if kind == "override" else "away"
        record = OnCallChangeRecord(
            id=f"{prefix}-{uuid.uuid4().hex[:10]}",
            kind=kind,
            role=role if kind == "override" else None,
            member=member,
            covers=covers,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_by=created_by,
            created_at=now,
        )
        with self.engine.begin() as conn:
            conn.execute(sa.insert(OC).values(**record.model_dump()))
        return record

    def remove(self, change_id: str, *, by: str, now: datetime) -> OnCallChangeRecord:
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(OC)
                .where(OC.c.id == change_id, OC.c.removed_at.is_(None))
                .values(removed_at=_utc(now), removed_by=by)
            )
            if done.rowcount == 0:
                found = conn.execute(sa.select(OC.c.id).where(OC.c.id == change_id)).first()
                raise OnCallError(
                    f"{change_id} is already removed"
                    if found
                    else f"no override or vacation {change_id}; see `escalator oncall override list`"
                )
        return self.get(change_id)

    def get(self, change_id: str) -> OnCallChangeRecord:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(OC).where(OC.c.id == change_id)).mappings().first()
        if found is None:
            raise OnCallError(f"no override or vacation {change_id}")
        return _row(found)

    def current(
        self,
        *,
        after: datetime | None = None,
        role: str | None = None,
        members: Sequence[str] | None = None,
        kind: Kind | None = None,
        with_removed: bool = False,
    ) -> list[OnCallChangeRecord]:
        """Rows (oldest made first) ending after ``after``: a role's overrides and the
        vacations of ``members``, or everything when neither is given."""
        query = sa.select(OC).order_by(OC.c.created_at, OC.c.id)
        if not with_removed:
            query = query.where(OC.c.removed_at.is_(None))
        if after is not None:
            query = query.where(OC.c.ends_at > _utc(after))
        if kind is not None:
            query = query.where(OC.c.kind == kind)
        if role is not None:
            mine = sa.and_(OC.c.kind == "override", OC.c.role == role)
            if members:
                away = sa.and_(OC.c.kind == "away", OC.c.member.in_(list(members)))
                query = query.where(sa.or_(mine, away))
            else:
                query = query.where(mine)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings().all()]

    def for_role(self, role: OwnerRole, after: datetime) -> list[Override | Away]:
        rows = self.current(after=after, role=role.name, members=[m.name for m in role.members])
        return as_schedule_changes(rows)

    async def for_role_async(self, role: OwnerRole, after: datetime) -> list[Override | Away]:
        return await asyncio.to_thread(self.for_role, role, after)


def as_schedule_changes(rows: Sequence[OnCallChangeRecord]) -> list[Override | Away]:
    out: list[Override | Away] = []
    for r in rows:
        if r.kind == "override":
            out.append(
                Override(
                    r.member, r.starts_at, r.ends_at, r.covers, id=r.id, created_by=r.created_by
                )
            )
        else:
            out.append(Away(r.member, r.starts_at, r.ends_at, id=r.id))
    return out


def who_is_on_call(role: OwnerRole, changes: Sequence[Override | Away], at: datetime) -> OnCall:
    """Who of ``role`` is on call at ``at``, with the overrides and vacations applied."""
    return role.who(at, changes)
