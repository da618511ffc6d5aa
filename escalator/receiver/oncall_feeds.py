"""iCal feeds of on-call shifts: ``/oncall/ROLE.ics`` and ``/oncall/members/NAME.ics``.

A calendar app subscribes with the token in the URL (``?token=...``, the setting
``ESCALATOR_ICAL_TOKEN``); without the setting the routes are not served. A missing or
wrong token gets 403 whatever the name, so nobody without it learns which roles or
members exist; with it, an unknown name gets 404.

Events are the shifts (`escalator.policies.shifts`) from ``back`` before now until
``ahead`` after it, with the overrides and vacations in the records applied: one event
per stretch a member is on call, named after the role and the member, its UID stable
for the same shift (role, member, start) so a calendar updates it rather than adding a
copy. The window's start is midnight UTC, so the feed is the same all day. Roles with
neither a schedule nor a rotation have nobody on call to show (their pages go to the
first member with the contact a channel needs).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from aiohttp import web

from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.policies.shifts import LOOK_BACK, Shift, shifts
from escalator.receiver.ical_format import Event, calendar
from escalator.receiver.oncall_store import OnCallOpener
from escalator.records.oncall import OnCallStore

__all__ = ["AHEAD", "BACK", "OnCallFeeds"]

BACK = timedelta(weeks=4)
AHEAD = timedelta(days=183)
CONTENT_TYPE = "text/calendar"


def _event(shift: Shift, summary: str) -> Event:
    member = shift.member or "nobody"
    return Event(
        uid=f"{shift.role}-{member}-{shift.start:%Y%m%dT%H%M%SZ}@escalator",
        start=shift.start,
        end=shift.end,
        summary=summary,
        description=shift.who.why,
    )


class OnCallFeeds:
    def __init__(
        self,
        policies: PolicySet,
        token: str,
        store: OnCallOpener,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        back: timedelta = BACK,
        ahead: timedelta = AHEAD,
    ) -> None:
        self.policies, self.token, self.store, self.clock = policies, token, store, clock
        self.back, self.ahead = back, ahead

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/oncall/members/{name}.ics", self.member_feed)
        app.router.add_get("/oncall/{name}.ics", self.role_feed)

    def _refused(self, request: web.Request) -> web.Response | None:
        given = request.query.get("token", "")
        if hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        return web.Response(
            status=403, text="a valid token is needed: ask an escalator admin for the feed URL"
        )

    def _window(self) -> tuple[datetime, datetime, datetime]:
        now = self.clock()
        start = datetime.combine((now - self.back).date(), time(0), tzinfo=UTC)
        return now, start, now + self.ahead

    def _shifts(
        self, store: OnCallStore, role: OwnerRole, start: datetime, end: datetime
    ) -> list[Shift]:
        if role.schedule is None and role.rotation is None:
            return []
        return shifts(role, store.for_role(role, start - LOOK_BACK), start, end)

    def _role_events(self, store: OnCallStore, role: OwnerRole) -> tuple[list[Event], datetime]:
        now, start, end = self._window()
        found = self._shifts(store, role, start, end)
        events = [
            _event(s, f"{role.name}: {s.member} on call" if s.member else f"{role.name}: nobody")
            for s in found
        ]
        return events, now

    def _member_events(self, store: OnCallStore, member: str) -> tuple[list[Event], datetime]:
        now, start, end = self._window()
        events = [
            _event(s, f"On call for {role.name}")
            for role in self.policies.roles
            if role.member(member) is not None
            for s in self._shifts(store, role, start, end)
            if s.member == member
        ]
        return sorted(events, key=lambda e: (e.start, e.uid)), now

    async def role_feed(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        name = request.match_info["name"]
        role = next((r for r in self.policies.roles if r.name == name), None)
        if role is None:
            return web.Response(status=404, text=f"no role {name}")
        store = await self.store()
        events, now = await asyncio.to_thread(self._role_events, store, role)
        return self._feed(f"on call: {role.name}", events, now)

    async def member_feed(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        name = request.match_info["name"]
        if not any(r.member(name) for r in self.policies.roles):
            return web.Response(status=404, text=f"no member {name}")
        store = await self.store()
        events, now = await asyncio.to_thread(self._member_events, store, name)
        return self._feed(f"on call: {name}", events, now)

    @staticmethod
    def _feed(name: str, events: list[Event], now: datetime) -> web.Response:
        return web.Response(
            body=calendar(name, events, now).encode(),
            content_type=CONTENT_TYPE,
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )
