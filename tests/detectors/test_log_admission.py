"""Commands that read a log refuse one that is not fit to judge: no events, more than
--max-quarantine of its rows quarantined (default 1 %), or zone-less timestamps with no
zone given. Exit 2 with the top reasons and their lines; --allow-quarantine judges the
rest. Journeys' ``timezone:`` reads zone-less timestamps; --assume-timezone overrides it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli.main import app

runner = CliRunner()

POLICY = """
journeys:
  - name: orders
    {zone}
    events: [created, paid, shipped]
    slis:
      - {{type: availability, name: shipped, valid_events: [created], good_events: [shipped], objective: 99}}
roles:
  - {{name: ops, slack_channel: "#ops", members: [{{name: ann}}]}}
escalation_policies:
  - {{name: ops-escalation, levels: [{{role: ops, response_time: 15m}}]}}
rules:
  - name: unpaid
    kind: latency
    journey: orders
    owner: ops
    escalation: ops-escalation
    state: created
    threshold: 1h
    predicts: {{description: not shipped in a day, not_reached: shipped, within: 1d}}
    runbook: https://runbooks.example/unpaid
"""
HEAD = "case:concept:name,concept:name,time:timestamp\n"


def rows(n: int, bad: int = 0, zone: str = "Z") -> str:
    good = [f"o{i},created,2024-05-06T{8 + i % 10:02d}:00:00{zone}" for i in range(n - bad)]
    return HEAD + "\n".join(good + [f"b{i},created,not a time" for i in range(bad)]) + "\n"


def setup(tmp_path: Path, log_text: str, zone: str = "") -> tuple[Path, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(zone=f"timezone: {zone}" if zone else ""))
    log = tmp_path / "orders.csv"
    log.write_text(log_text)
    return policy, log


def detect(policy: Path, log: Path, *extra: str, command: str = "detect") -> object:
    args = [command, "--log", str(log), "--policy", str(policy), "--json"]
    args += ["--backtest"] if command == "detect" else []
    return runner.invoke(app, [*args, "--quarantine", str(log.with_suffix(".q.jsonl")), *extra])


@pytest.mark.parametrize("text", ["", HEAD], ids=["empty", "header only"])
def test_a_log_with_no_rows_is_refused(tmp_path: Path, text: str) -> None:
    policy, log = setup(tmp_path, text)
    res = detect(policy, log)
    assert res.exit_code == 2  # type: ignore[attr-defined]
    assert "orders.csv: no events" in res.stderr  # type: ignore[attr-defined]


def test_quarantine_over_the_limit_is_refused_with_reasons_and_lines(tmp_path: Path) -> None:
    policy, log = setup(tmp_path, rows(100, bad=3))
    res = detect(policy, log)
    err = res.stderr  # type: ignore[attr-defined]
    assert res.exit_code == 2, err  # type: ignore[attr-defined]
    assert "3 of 100 rows (3.00 %) quarantined, over the limit of 1 %" in err
    assert "3 x unparsable timestamp in column 'time:timestamp'" in err
    assert "(line 99, 100, 101)" in err and "--allow-quarantine" in err
    for extra in (["--allow-quarantine"], ["--max-quarantine", "0.05"]):
        ok = detect(policy, log, *extra)
        assert ok.exit_code == 0, ok.output  # type: ignore[attr-defined]
        assert json.loads(ok.stdout)["events"] == 97  # type: ignore[attr-defined]
        assert "3 rows quarantined (3.00 %, not counted)" in ok.stderr  # type: ignore[attr-defined]


def test_quarantine_under_the_limit_passes_with_a_warning(tmp_path: Path) -> None:
    policy, log = setup(tmp_path, rows(200, bad=1))
    res = detect(policy, log)
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "1 rows quarantined (0.50 %" in res.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["scorecard", "mine"])
def test_other_commands_refuse_the_same_log(tmp_path: Path, command: str) -> None:
    policy, log = setup(tmp_path, rows(100, bad=3))
    res = detect(policy, log, command=command)
    assert res.exit_code == 2  # type: ignore[attr-defined]
    assert "over the limit of 1 %" in res.stderr  # type: ignore[attr-defined]
    assert detect(policy, log, "--allow-quarantine", command=command).exit_code == 0  # type: ignore[attr-defined]


def test_predict_train_refuses_the_same_log(tmp_path: Path) -> None:
    policy, log = setup(tmp_path, rows(100, bad=3))
    res = runner.invoke(
        app, ["predict", "train", "--log", str(log), "--policy", str(policy),
              "--quarantine", str(tmp_path / "q.jsonl"), "--out", str(tmp_path / "m.json")],
    )  # fmt: skip
    assert res.exit_code == 2 and "over the limit of 1 %" in res.stderr


def test_zone_less_log_without_a_zone_fails_with_one_line_saying_what_to_set(
    tmp_path: Path,
) -> None:
    policy, log = setup(tmp_path, rows(20, zone=""))
    res = detect(policy, log, "--allow-quarantine")  # a setting, not bad data: still refused
    assert res.exit_code == 2  # type: ignore[attr-defined]
    [line] = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert "every timestamp is written without an offset" in line
    assert "set 'timezone: Europe/Amsterdam' on journey 'orders'" in line
    assert "--assume-timezone" in line


def test_journey_timezone_reads_zone_less_times_and_the_option_overrides_it(
    tmp_path: Path,
) -> None:
    policy, log = setup(tmp_path, rows(20, zone=""), zone="Europe/Amsterdam")
    res = detect(policy, log)
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    out = json.loads(res.stdout)  # type: ignore[attr-defined]
    assert out["events"] == 20 and out["quarantined"] == 0
    # o0 created 08:00 in Amsterdam (CEST, +02:00) = 06:00 UTC: onset one hour later.
    onsets = {f["subject"]: f["onset"] for f in out["firings"]}
    assert onsets["o0"] == "2024-05-06T07:00:00Z"
    over = detect(policy, log, "--assume-timezone", "UTC")
    onsets = {f["subject"]: f["onset"] for f in json.loads(over.stdout)["firings"]}  # type: ignore[attr-defined]
    assert onsets["o0"] == "2024-05-06T09:00:00Z"


def test_unknown_zone_is_a_clear_error(tmp_path: Path) -> None:
    policy, log = setup(tmp_path, rows(20, zone=""))
    res = detect(policy, log, "--assume-timezone", "Mars/Olympus")
    assert res.exit_code == 2  # type: ignore[attr-defined]
    assert "--assume-timezone 'Mars/Olympus' is not an IANA time zone" in res.stderr  # type: ignore[attr-defined]
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.format(zone="timezone: Mars/Olympus"))
    res = detect(bad, log)
    assert res.exit_code == 2 and "unknown IANA time zone 'Mars/Olympus'" in res.stderr  # type: ignore[attr-defined]
