"""Detections on the four real logs in tests/data, against the simple oracles in
oracles.py, and the fast XES reader against a plain xml.etree reading of the same files."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import cast

import pytest
from event_logs import POLICIES, log_path
from oracles import completeness, conformance, latency, quality, volume

from escalator.detectors.business_time import expand_holidays
from escalator.detectors.evaluate import evaluate
from escalator.detectors.events import CASE, EVENT, TS
from escalator.detectors.readers import read_log
from escalator.policies.loader import load_policies
from escalator.policies.rules import (
    CompletenessRule,
    ConformanceRule,
    LatencyRule,
    PredictedBreachRule,
    QualityRule,
    VolumeRule,
)


@cache
def _run(name: str):
    ps = load_policies([POLICIES / name])
    journey = ps.journeys[0]
    read = read_log(log_path(name), journey)
    return ps, journey, read, evaluate(read.events, ps, journey)


def _check_against_oracle(name: str) -> dict[str, int]:
    ps, journey, read, results = _run(name)
    assert len(read.quarantine) == 0  # these logs are clean; every event is kept
    rows = read.events.to_dicts()
    counts = {}
    for result in results:
        rule = result.rule
        if isinstance(rule, PredictedBreachRule):
            continue  # a learned model has no independent oracle: tests/detectors/prediction
        got = {(f.subject, f.onset, f.cleared_at) for f in result.firings()}
        if isinstance(rule, LatencyRule):
            cal_name = rule.calendar or journey.calendar
            cal = ps.calendar(cal_name) if cal_name else None
            if cal is not None:
                cal = expand_holidays(cal, 2009, 2015)
            want = latency(rows, rule, cal if rule.business_hours else None)
        elif isinstance(rule, QualityRule):
            want = quality(rows, rule)
        elif isinstance(rule, VolumeRule):
            want = volume(rows, rule)
        elif isinstance(rule, CompletenessRule):
            want = completeness(rows, rule)
        else:
            assert isinstance(rule, ConformanceRule)
            want = conformance(rows, rule, journey.completing_events)
        assert got == want, (rule.name, len(got), len(want), sorted(got ^ want, key=str)[:5])
        counts[rule.name] = len(got)
    return counts


def test_helpdesk_against_oracle() -> None:
    counts = _check_against_oracle("helpdesk")
    assert counts["ticket_stuck_waiting"] > 100  # tickets really do get stuck in Wait
    assert all(n > 0 for n in counts.values()), counts


def test_receipt_against_oracle() -> None:
    counts = _check_against_oracle("receipt")
    assert counts["intake_missing_attributes"] > 100  # case:group is missing in ~58 % of cases
    assert all(n > 0 for n in counts.values()), counts


def test_incidents_against_oracle() -> None:
    counts = _check_against_oracle("bpic2013_incidents")
    assert all(n > 0 for n in counts.values()), counts


@pytest.mark.slow
def test_bpic2012_against_oracle() -> None:
    counts = _check_against_oracle("bpic2012")
    assert all(n > 0 for n in counts.values()), counts


def test_receipt_missing_attribute_names_what_is_missing() -> None:
    _, _, read, results = _run("receipt")
    [result] = [r for r in results if r.rule.name == "intake_missing_attributes"]
    firings = result.firings()
    assert all("case:group" in f.detail["missing"] for f in firings)
    f = firings[0]
    row = read.events.filter(
        (read.events[CASE] == f.subject) & (read.events["source_line"] == f.evidence[0])
    )
    assert row[EVENT].to_list() == ["T02 Check confirmation of receipt"]
    assert row["case:group"].to_list() == [None]


def _etree_events(path: Path) -> list[tuple[str | None, str | None, datetime]]:
    """The plain, slow way: a DOM per trace with the standard library."""
    ns = "{http://www.xes-standard.org/}"
    out = []
    with gzip.open(path) as fh:
        for _, elem in ET.iterparse(fh):
            if elem.tag != f"{ns}trace":
                continue
            case = next(a.get("value") for a in elem if a.get("key") == "concept:name")
            for ev in elem.iter(f"{ns}event"):
                attrs = {a.get("key"): a.get("value") for a in ev}
                out.append(
                    (
                        case,
                        attrs["concept:name"],
                        datetime.fromisoformat(cast(str, attrs["time:timestamp"])),
                    )
                )
            elem.clear()
    return out


@pytest.mark.parametrize("name", ["helpdesk", "receipt"])
def test_fast_xes_reader_matches_the_standard_library(name: str) -> None:
    path = log_path(name)
    want = sorted(_etree_events(path))
    ev = read_log(path).events
    got = sorted(zip(ev[CASE].to_list(), ev[EVENT].to_list(), ev[TS].to_list(), strict=True))
    assert got == want
