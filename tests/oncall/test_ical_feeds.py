"""The on-call iCal feeds through the real receiver over HTTP: the token, the shifts of the
shipped inventory rotation (weekly, Monday 09:00 Amsterdam, across the March change to
summer time) with an override and a vacation from the records applied, parsed by an
independent parser (icalendar) and checked against RFC 5545's line rules directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from icalendar import Calendar
from temporalio.client import Client

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.policy_source import load_configured_policies
from escalator.receiver.app import build_receiver, serve
from escalator.receiver.ical_format import fold
from escalator.receiver.oncall_feeds import OnCallFeeds
from escalator.records.oncall import OnCallStore
from escalator.records.store import Store

TOKEN = "feed-token-3f9a1c"
NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # a Friday; chloe's week (week 8 from 5 Jan)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class Feeds:
    url: str
    http: aiohttp.ClientSession
    oncall: OnCallStore

    async def get(self, path: str, token: str | None = TOKEN) -> tuple[int, str, str]:
        params = {"token": token} if token is not None else {}
        async with self.http.get(f"{self.url}{path}", params=params) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


@pytest.fixture
async def feeds(client: Client, tmp_path: Path) -> AsyncIterator[Feeds]:
    policies = load_configured_policies()
    oncall = OnCallStore(Store.open(f"sqlite:///{tmp_path / 'r.db'}").engine)

    async def store() -> OnCallStore:
        return oncall

    app = build_receiver(
        temporal=client,
        policies=policies,
        ledger=InMemoryLedger(),
        feeds=OnCallFeeds(policies, TOKEN, store, clock=lambda: NOW),
    )
    runner = await serve(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            yield Feeds(f"http://127.0.0.1:{runner.addresses[0][1]}", http, oncall)
    finally:
        await runner.cleanup()


def events(body: str) -> list[dict[str, Any]]:
    cal = Calendar.from_ical(body)
    return [
        {
            "uid": str(e["UID"]),
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "summary": str(e["SUMMARY"]),
            "description": str(e.get("DESCRIPTION", "")),
            "stamp": e.decoded("DTSTAMP"),
        }
        for e in cal.walk("VEVENT")
    ]


def at(found: list[dict[str, Any]], moment: datetime) -> dict[str, Any]:
    [event] = [e for e in found if e["start"] <= moment < e["end"]]
    return event


def assert_rfc5545_lines(body: str) -> None:
    raw = body.encode()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n")[:-1]:
        assert len(line) <= 75, line
        line.decode()  # a fold never splits a UTF-8 character


async def test_a_wrong_or_missing_token_tells_nothing(feeds: Feeds) -> None:
    answers = {
        await feeds.get(path, token)
        for path in (
            "/oncall/inventory.ics",
            "/oncall/no-such-role.ics",
            "/oncall/members/anna.ics",
        )
        for token in (None, "", "wrong", TOKEN + "x")
    }
    [(status, _, text)] = answers  # the same answer for a real role and a made-up one
    assert status == 403 and "token" in text
    assert (await feeds.get("/oncall/no-such-role.ics"))[0] == 404
    assert (await feeds.get("/oncall/members/nobody-here.ics"))[0] == 404


async def test_the_role_feed_has_the_shifts_with_overrides_and_vacations(feeds: Feeds) -> None:
    status, content_type, plain = await feeds.get("/oncall/inventory.ics")
    assert status == 200 and content_type == "text/calendar; charset=utf-8"
    assert_rfc5545_lines(plain)
    found = events(plain)
    # Weekly from Monday 09:00 Amsterdam: 08:00 UTC in winter, 07:00 UTC in summer.
    now = at(found, NOW)
    assert now["summary"] == "inventory: chloe on call"
    assert (now["start"], now["end"]) == (utc("2026-03-02T08:00Z"), utc("2026-03-09T08:00Z"))
    summer = at(found, utc("2026-04-01T12:00Z"))  # week 12: anna
    assert summer["summary"] == "inventory: anna on call"
    assert (summer["start"], summer["end"]) == (utc("2026-03-30T07:00Z"), utc("2026-04-06T07:00Z"))
    # From midnight UTC four weeks back, to six months ahead.
    assert min(e["end"] for e in found) > utc("2026-02-06T00:00Z")
    assert min(e["start"] for e in found) <= utc("2026-02-06T00:00Z")
    assert max(e["start"] for e in found) < NOW + timedelta(days=183)
    assert max(e["end"] for e in found) >= NOW + timedelta(days=183)
    assert {e["stamp"] for e in found} == {NOW}
    uids = [e["uid"] for e in found]
    assert len(set(uids)) == len(uids)

    # bram covers chloe from Friday 18:00 until Monday; anna is away in week 12.
    ov = feeds.oncall.add(
        kind="override", role="inventory", member="bram", covers="chloe",
        starts_at=utc("2026-03-06T18:00+01:00"), ends_at=utc("2026-03-09T09:00+01:00"),
        created_by="bram", now=NOW, reason="swap, chloe's wedding",
    )  # fmt: skip
    feeds.oncall.add(
        kind="away", member="anna", starts_at=utc("2026-03-30T00:00Z"),
        ends_at=utc("2026-04-07T00:00Z"), created_by="anna", now=NOW,
    )  # fmt: skip
    status, _, changed = await feeds.get("/oncall/inventory.ics")
    assert status == 200
    assert_rfc5545_lines(changed)
    after = events(changed)
    chloe = at(after, NOW)
    assert chloe["uid"] == now["uid"]  # the same shift, shorter: a calendar updates it
    assert (chloe["start"], chloe["end"]) == (utc("2026-03-02T08:00Z"), utc("2026-03-06T17:00Z"))
    bram = at(after, utc("2026-03-07T12:00Z"))
    assert bram["summary"] == "inventory: bram on call"
    assert (bram["start"], bram["end"]) == (utc("2026-03-06T17:00Z"), utc("2026-03-09T08:00Z"))
    assert bram["description"].startswith(
        f"override {ov.id} (made by bram): bram in place of chloe"
    )
    # anna away: bram, next in order, covers her week and keeps his own: one shift.
    covered = at(after, utc("2026-04-01T12:00Z"))
    assert covered["summary"] == "inventory: bram on call"
    assert (covered["start"], covered["end"]) == (
        utc("2026-03-30T07:00Z"),
        utc("2026-04-13T07:00Z"),
    )
    assert "anna away, next in order covers" in covered["description"]
    # The shifts nobody touched keep their UIDs.
    untouched = {e["uid"] for e in found if e["end"] <= utc("2026-03-01T00:00Z")}
    assert untouched and untouched <= {e["uid"] for e in after}


async def test_the_member_feed_has_only_their_shifts(feeds: Feeds) -> None:
    status, _, body = await feeds.get("/oncall/members/bram.ics")
    assert status == 200
    assert_rfc5545_lines(body)
    found = events(body)
    assert found and {e["summary"] for e in found} == {"On call for inventory"}
    assert all(e["uid"].startswith("inventory-bram-") for e in found)
    assert (await feeds.get("/oncall/members/bram.ics"))[2] == body  # stable within a day
    # A member of a role without a rotation or schedule: nobody is on call there to show.
    status, _, dirk = await feeds.get("/oncall/members/dirk.ics")
    assert status == 200 and events(dirk) == []


def test_folding_and_escaping_follow_the_rfc() -> None:
    text = "DESCRIPTION:" + "é, ü; \\ x\n" * 20
    folded = fold(text)
    lines = folded.encode().split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) <= 75 for line in lines)
    assert all(line.startswith(b" ") for line in lines[1:-1])
    assert folded.replace("\r\n ", "").removesuffix("\r\n") == text  # unfolding restores it
