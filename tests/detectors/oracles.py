"""Deliberately simple per-case oracles: plain Python loops over events, no polars.

Each returns a set of (subject, onset, cleared_at) for one rule over a list of events
(dicts with case_id, event_name, timestamp, source_line and attributes) as of the
last event, following the rule semantics documented in escalator/detectors/rules/*.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from escalator.policies.business_hours import add_business_time
from escalator.policies.calendars import Calendar
from escalator.policies.rules import (
    CompletenessRule,
    ConformanceRule,
    LatencyRule,
    QualityRule,
    VolumeRule,
)

Row = dict[str, Any]
Fired = set[tuple[str, datetime, datetime | None]]


def by_case(rows: list[Row]) -> dict[str, list[Row]]:
    cases: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        cases[r["case_id"]].append(r)
    for evs in cases.values():
        evs.sort(key=lambda r: (r["timestamp"], r["source_line"]))
    return cases


def latency(rows: list[Row], rule: LatencyRule, calendar: Calendar | None) -> Fired:
    as_of = max(r["timestamp"] for r in rows)
    enter = set(rule.enter_events or [rule.state])
    out: Fired = set()
    for case, evs in by_case(rows).items():
        entered = None
        episodes = []
        for e in evs:
            name = e["event_name"]
            if name in enter:
                if entered is None:
                    entered = e["timestamp"]
            elif (not rule.leave_events or name in rule.leave_events) and entered is not None:
                episodes.append((entered, e["timestamp"]))
                entered = None
        if entered is not None:
            episodes.append((entered, None))
        for start, left in episodes:
            if rule.business_hours:
                onset = add_business_time(start, rule.threshold, calendar).astimezone(UTC)
            else:
                onset = start + rule.threshold
            if (left is None and onset <= as_of) or (left is not None and onset < left):
                out.add((case, onset, left))
    return out


def quality(rows: list[Row], rule: QualityRule) -> Fired:
    as_of = max(r["timestamp"] for r in rows)
    valid = sorted(
        r["timestamp"]
        for r in rows
        if not rule.valid_events or r["event_name"] in rule.valid_events
    )
    defects = sorted(r["timestamp"] for r in rows if r["event_name"] in rule.defect_events)
    w = rule.window
    points = sorted({*valid, *defects, *(t + w for t in valid), *(t + w for t in defects)})
    out: Fired = set()
    onset = None
    for p in points:
        if p > as_of:
            break
        v = bisect.bisect_right(valid, p) - bisect.bisect_right(valid, p - w)
        d = bisect.bisect_right(defects, p) - bisect.bisect_right(defects, p - w)
        holds = v >= rule.min_volume and d > rule.threshold * v
        if holds and onset is None:
            onset = p
        elif not holds and onset is not None:
            out.add((f"window@{onset:%Y-%m-%dT%H:%M:%SZ}", onset, p))
            onset = None
    if onset is not None:
        out.add((f"window@{onset:%Y-%m-%dT%H:%M:%SZ}", onset, None))
    return reopened(out, rule.reopen_window)


def volume(rows: list[Row], rule: VolumeRule) -> Fired:
    as_of = max(r["timestamp"] for r in rows)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    size = rule.window
    times: dict[int, list[datetime]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["timestamp"], r["source_line"])):
        if not rule.events or r["event_name"] in rule.events:
            times[(r["timestamp"] - epoch) // size].append(r["timestamp"])
    first, last = min(times), (as_of - epoch) // size
    step = 1 if rule.baseline == "previous_windows" else timedelta(days=7) // size
    state: dict[int, tuple[bool, datetime | None]] = {}  # window -> (in condition, onset)
    for k in range(first, last + 1):
        count = len(times.get(k, []))
        back = [k - step * i for i in range(1, rule.baseline_periods + 1)]
        if min(back) < first:
            state[k] = (False, None)
            continue
        base = sum(len(times.get(b, [])) for b in back) / rule.baseline_periods
        need = max(int(base * rule.factor // 1) + 1, rule.min_count)
        complete = epoch + (k + 1) * size <= as_of
        if rule.direction != "drop" and count >= need:
            state[k] = (True, times[k][need - 1])
        elif (
            rule.direction != "spike"
            and complete
            and base >= rule.min_count
            and count < base / rule.factor
        ):
            state[k] = (True, epoch + (k + 1) * size)
        else:
            state[k] = (False, None)
    out: Fired = set()
    k = first
    while k <= last:
        holds, onset = state[k]
        if not holds:
            k += 1
            continue
        assert onset is not None  # every window in the condition has its onset
        start = k
        while k <= last and state[k][0]:
            k += 1
        cleared = None
        if k <= last and epoch + (k + 1) * size <= as_of:
            cleared = epoch + (k + 1) * size
        out.add((f"window@{epoch + start * size:%Y-%m-%dT%H:%M:%SZ}", onset, cleared))
    return reopened(out, rule.reopen_window)


def reopened(fired: Fired, window: timedelta) -> Fired:
    """A window episode starting at most ``window`` after the previous one cleared reopens
    that one's exception: it takes the subject the chain started with."""
    out: Fired = set()
    subject, cleared = None, None
    for name, onset, left in sorted(fired, key=lambda f: f[1]):
        if subject is None or cleared is None or onset - cleared > window:
            subject = name
        out.add((subject, onset, left))
        cleared = left
    return out


def completeness(rows: list[Row], rule: CompletenessRule) -> Fired:
    out: Fired = set()
    for case, evs in by_case(rows).items():
        seen: set[str] = set()
        for e in evs:
            for a in rule.required_attributes:
                v = e.get(a)
                if v is not None and str(v).strip():
                    seen.add(a)
            if e["event_name"] == rule.gate_event and set(rule.required_attributes) - seen:
                out.add((case, e["timestamp"], None))
                break
    return out


def conformance(rows: list[Row], rule: ConformanceRule, completing: list[str]) -> Fired:
    as_of = max(r["timestamp"] for r in rows)
    alphabet = set(rule.start_events) | set(rule.allowed_transitions)
    for nexts in rule.allowed_transitions.values():
        alphabet |= set(nexts)
    out: Fired = set()
    for case, evs in by_case(rows).items():
        onsets = []
        modelled = (
            [e for e in evs if e["event_name"] in alphabet] if rule.allowed_transitions else evs
        )
        if rule.start_events and modelled and modelled[0]["event_name"] not in rule.start_events:
            onsets.append(modelled[0]["timestamp"])
        if rule.allowed_transitions:
            for a, b in itertools.pairwise(modelled):
                if b["event_name"] not in rule.allowed_transitions.get(a["event_name"], []):
                    onsets.append(b["timestamp"])
        for p in rule.precedence:
            seen = False
            for e in evs:
                if e["event_name"] == p.event and not seen:
                    onsets.append(e["timestamp"])
                if e["event_name"] == p.requires:
                    seen = True
        for r in rule.response:
            for i, e in enumerate(evs):
                if e["event_name"] != r.event:
                    continue
                later = evs[i + 1 :]
                then = next((x["timestamp"] for x in later if x["event_name"] == r.then), None)
                if r.within is not None:
                    due = e["timestamp"] + r.within
                    if due <= as_of and (then is None or then > due):
                        onsets.append(due)
                elif completing:
                    done = next(
                        (x["timestamp"] for x in later if x["event_name"] in completing), None
                    )
                    if done is not None and (then is None or then > done):
                        onsets.append(done)
        if onsets:
            out.add((case, min(onsets), None))
    return out
