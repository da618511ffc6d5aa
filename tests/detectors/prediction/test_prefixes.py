"""Prefix encodings never look past the prefix's last event."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import polars as pl
from polars.testing import assert_frame_equal

from escalator.detectors.events import CASE, TS
from escalator.detectors.prediction.prefixes import encode_prefixes, feature_names, fit_vocabulary
from escalator.detectors.prediction.targets import REMAINING, case_outcomes, with_targets
from escalator.detectors.readers import read_log
from escalator.policies.loader import load_policies

from .synthetic import START, order_rows, write_log, write_policy


def _read(tmp_path: Path, rows: list[dict[str, str]], name: str) -> tuple[pl.DataFrame, object]:
    policies = load_policies([write_policy(tmp_path / "policy.yaml")])
    journey = policies.journey("orders")
    return read_log(write_log(tmp_path / name, rows), journey).events, journey


def _alter_future(rows: list[dict[str, str]], cut: str) -> list[dict[str, str]]:
    """After ``cut``: every event moved a day later and renamed, new cases added, some gone."""
    out = []
    for i, r in enumerate(rows):
        if r["time:timestamp"] <= cut:
            out.append(r)
            continue
        if i % 7 == 0:
            continue  # dropped
        moved = datetime.fromisoformat(r["time:timestamp"]) + timedelta(days=1, minutes=i % 13)
        out.append(
            {
                **r,
                "concept:name": "backordered" if i % 2 else "packed",
                "time:timestamp": moved.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "priority": "low",
            }
        )
    extra = datetime.fromisoformat(cut) + timedelta(minutes=5)
    for k in range(30):  # a burst of new cases right after the cut
        out.append(
            {
                "case:concept:name": f"new-{k}",
                "concept:name": "created",
                "time:timestamp": (extra + timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "org:resource": "shop",
                "priority": "high",
            }
        )
    return out


def test_features_before_the_cut_ignore_an_altered_future(tmp_path: Path) -> None:
    rows = order_rows(300)
    cut = (START + timedelta(days=4, hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    original, journey = _read(tmp_path, rows, "a.csv")
    altered, _ = _read(tmp_path, _alter_future(rows, cut), "b.csv")
    vocab = fit_vocabulary(original, journey)  # type: ignore[arg-type]
    names = feature_names(vocab, business_hours=False)
    cut_ts = datetime.fromisoformat(cut)

    def before_cut(events: pl.DataFrame) -> pl.DataFrame:
        enc = encode_prefixes(events, journey, vocab)  # type: ignore[arg-type]
        return enc.filter(pl.col(TS) <= cut_ts).select(CASE, TS, *names).sort(CASE, TS)

    a, b = before_cut(original), before_cut(altered)
    assert a.height > 100  # a real stretch of the log lies before the cut
    assert_frame_equal(a, b)

    # The alteration matters: targets (which do look ahead) moved for the same rows.
    def targets(events: pl.DataFrame) -> pl.DataFrame:
        enc = encode_prefixes(events, journey, vocab)  # type: ignore[arg-type]
        full = with_targets(enc, case_outcomes(events, journey), journey)  # type: ignore[arg-type]
        return full.filter(pl.col(TS) <= cut_ts).select(CASE, TS, REMAINING).sort(CASE, TS)

    assert not targets(original).equals(targets(altered))


def test_work_in_flight_and_counts_follow_the_prefix(tmp_path: Path) -> None:
    events, journey = _read(tmp_path, order_rows(40), "c.csv")
    vocab = fit_vocabulary(events, journey)  # type: ignore[arg-type]
    enc = encode_prefixes(events, journey, vocab)  # type: ignore[arg-type]
    case = enc.filter(pl.col(CASE) == "o-0000").sort(TS)
    assert case["prefix_len"].to_list() == list(range(1, case.height + 1))
    assert case["count:created"].to_list() == [1.0] * case.height
    assert case["elapsed_s"][0] == 0.0
    # The first order: nothing else started yet when it was created.
    assert case["open_cases"][0] == 1.0 and case["cases_started_7d"][0] == 1.0
    # Later rows see later orders in flight, and completed ones leave the count.
    assert cast(float, enc["open_cases"].max()) > 1.0
