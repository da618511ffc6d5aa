"""The scorecard on the real logs in tests/data, against a plain-Python oracle.

The oracle restates the definitions of escalator/detectors/scorecard.py and
scorecard_episodes.py per case and per moment, with loops instead of joins (and
"inside an outcome episode" as a pair of breaches around the moment, not as runs),
so a slip in either implementation shows as a difference.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from event_logs import POLICIES, log_path
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.detectors.backtest import run_backtest
from escalator.detectors.intervals import wilson
from escalator.detectors.scorecard import score_rules
from escalator.policies.loader import load_policies
from escalator.policies.rules import Outcome, QualityRule, VolumeRule

runner = CliRunner()


def _outcomes(
    rows: list[tuple[str, str, datetime]], outcome: Outcome, completing: list[str]
) -> dict[str, tuple[datetime | None, bool]]:
    cases: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for case, name, ts in rows:
        cases[case].append((ts, name))
    end = max(ts for _, _, ts in rows)
    out = {}
    for case, evs in cases.items():
        first = min(ts for ts, _ in evs)
        bad = [ts for ts, n in evs if n in outcome.events]
        breach = min(bad) if bad else None
        unknown = False
        if outcome.not_reached and outcome.within is not None:
            reached = [ts for ts, n in evs if n == outcome.not_reached]
            due = first + outcome.within
            if (not reached or min(reached) > due) and due <= end:
                breach = due if breach is None else min(breach, due)
            unknown = not reached and due > end
        if outcome.events and completing and not any(n in completing for _, n in evs):
            unknown = True
        out[case] = (breach, unknown and breach is None)
    return out


def _case_oracle(onsets: dict[str, datetime], outcomes: dict[str, Any]) -> dict[str, Any]:
    hits = late = alarms = censored = 0
    leads = []
    for case, t in onsets.items():
        breach, unknown = outcomes[case]
        if unknown:
            censored += 1
        elif breach is None:
            alarms += 1
        elif t <= breach:
            hits += 1
            leads.append((breach - t).total_seconds())
        else:
            late += 1
    known = [b for b, u in outcomes.values() if not u]
    bad = sum(b is not None for b in known)
    return {
        "counts": (hits, late, alarms, censored),
        "bad": bad,
        "base_rate": bad / len(known),
        "lead": statistics.median(leads) if leads else None,
    }


def _episode_oracle(
    onsets: list[datetime], outcomes: dict[str, Any], h: timedelta, first: datetime, last: datetime
) -> dict[str, Any]:
    breaches = sorted(b for b, u in outcomes.values() if b is not None and not u)

    def classify(t: datetime) -> str:
        before = [b for b in breaches if b < t]
        after = [b for b in breaches if b >= t]
        if before and after and after[0] - before[-1] <= h:
            return "late"
        if after and after[0] - t <= h:
            return "hit"
        return "censored" if t + h > last else "alarm"

    kinds = [classify(t) for t in onsets]
    starts = [b for i, b in enumerate(breaches) if i == 0 or b - breaches[i - 1] > h]
    recalled = sum(any(s - h <= t <= s for t in onsets) for s in starts)
    # The base rate on a 10-second grid: the share of known moments that are hits.
    step = timedelta(seconds=10)
    hit = known = 0
    t = first
    i = 0
    while t <= last:
        while i < len(breaches) and breaches[i] < t:
            i += 1
        ahead = i < len(breaches) and breaches[i] - t <= h
        inside = 0 < i < len(breaches) and breaches[i] - breaches[i - 1] <= h
        if inside or ahead or t + h <= last:
            known += 1
            hit += ahead and not inside
        t += step
    return {
        "counts": tuple(kinds.count(k) for k in ("hit", "late", "alarm", "censored")),
        "bad": len(starts),
        "recalled": recalled,
        "base_rate": hit / known,
    }


@pytest.mark.parametrize(
    ("log", "policy"), [("bpic2012", "bpic2012"), ("bpic2013_incidents", "bpic2013_incidents")]
)
def test_scorecard_agrees_with_the_oracle_on_real_logs(log: str, policy: str) -> None:
    ps = load_policies([POLICIES / policy])
    result = run_backtest(log_path(log), ps)
    scores = score_rules(result.events, result.journey, result.results)
    rows = list(result.events.select("case_id", "event_name", "timestamp").iter_rows())
    first = min(r[2] for r in rows)
    last = max(r[2] for r in rows)
    assert scores
    for fired, s in zip(result.results, scores, strict=True):
        outcomes = _outcomes(rows, fired.rule.predicts, result.journey.completing_events)
        counts = (s.true_positives, s.late, s.false_positives, s.censored)
        if isinstance(fired.rule, QualityRule | VolumeRule):
            onsets = sorted(fired.frame["onset"].to_list())
            want = _episode_oracle(onsets, outcomes, fired.rule.window, first, last)
            assert counts == want["counts"], s.rule
            assert (s.bad, s.recalled) == (want["bad"], want["recalled"]), s.rule
            assert s.base_rate == pytest.approx(want["base_rate"], rel=0.01), s.rule
        else:
            firsts: dict[str, datetime] = {}
            for subject, onset in fired.frame.select("subject", "onset").iter_rows():
                firsts[subject] = min(onset, firsts.get(subject, onset))
            want = _case_oracle(firsts, outcomes)
            assert counts == want["counts"], s.rule
            assert s.bad == want["bad"] and s.base_rate == pytest.approx(want["base_rate"])
            assert s.median_lead_time_s == pytest.approx(want["lead"]), s.rule
        # the identities every score keeps
        assert s.judged == s.true_positives + s.late + s.false_positives
        assert s.bad == s.recalled + s.late_bad + s.missed
        if s.precision is not None and s.base_rate:
            assert s.lift == pytest.approx(s.precision / s.base_rate)
            assert s.precision_ci == pytest.approx(list(wilson(s.true_positives, s.judged)))


def test_sweep_cli_on_bpic2012(tmp_path: Path) -> None:
    common = [
        "--log", str(log_path("bpic2012")), "--policy", str(POLICIES / "bpic2012"),
        "--quarantine", str(tmp_path / "q.jsonl"), "--json",
    ]  # fmt: skip
    plain = runner.invoke(app, ["scorecard", *common])
    assert plain.exit_code == 0, plain.output
    [now] = [r for r in json.loads(plain.stdout)["rules"] if r["rule"] == "offer_not_returned"]
    res = runner.invoke(
        app,
        ["scorecard", *common, "--sweep", "offer_not_returned", "--values", "5d,10d,20d",
         "--goal", "precision>=0.5"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [r["value"] for r in out["rows"]] == ["5d", "10d", "20d"]
    # the current threshold's row is the plain scorecard's
    [ten] = [r for r in out["rows"] if r["value"] == "10d"]
    assert {k: ten[k] for k in now} == now
    fit = [r for r in out["rows"] if r["precision"] is not None and r["precision"] >= 0.5]
    best = max(fit, key=lambda r: r["median_lead_time_s"])
    assert out["recommended"] == best["value"]
    bad = runner.invoke(app, ["scorecard", *common, "--sweep", "application_path_deviation"])
    assert bad.exit_code == 2 and "no threshold to sweep" in bad.stderr
    nope = runner.invoke(app, ["scorecard", *common, "--sweep", "nope"])
    assert nope.exit_code == 2 and "no rule named 'nope'" in nope.stderr
