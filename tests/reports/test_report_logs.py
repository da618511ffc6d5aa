"""`escalator report --log`: the log is read in the journey's time zone and admitted the
way `detect` admits it (a damaged or mostly quarantined log is refused, exit 2)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from escalator.cli.main import app

runner = CliRunner()

POLICY = """
journeys:
  - name: orders
    {zone}
    events: [created, shipped]
    slis:
      - {{type: availability, name: shipped, valid_events: [created], good_events: [shipped], objective: 99, }}
roles:
  - {{name: ops, slack_channel: "#ops", members: [{{name: ann}}]}}
escalation_policies:
  - {{name: esc, levels: [{{role: ops, response_time: 15m}}]}}
"""
LOG = "case:concept:name,concept:name,time:timestamp\n" + "".join(
    f"o{i},created,2024-05-06 09:{i:02d}:00\no{i},shipped,2024-05-06 10:{i:02d}:00\n"
    for i in range(30)
)


def _report(tmp_path: Path, sqlite_url: str, zone: str, log: Path, *extra: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(zone=f"timezone: {zone}" if zone else ""))
    return runner.invoke(
        app,
        ["report", "--json", "--database-url", sqlite_url, "--as-of", "2024-05-07T00:00:00Z",
         "--policy", str(policy), "--log", f"orders={log}", *extra],
    )  # fmt: skip


def test_report_reads_zone_less_logs_in_the_journey_zone(tmp_path: Path, sqlite_url: str) -> None:
    log = tmp_path / "orders.csv"
    log.write_text(LOG)
    refused = _report(tmp_path, sqlite_url, "", log)
    assert refused.exit_code == 2
    assert "every timestamp is written without an offset" in refused.stderr
    res = _report(tmp_path, sqlite_url, "Europe/Amsterdam", log)
    assert res.exit_code == 0, res.output
    [slo] = json.loads(res.stdout)["slos"]
    assert slo["valid"] == 30 and slo["good"] == 30
    also = _report(tmp_path, sqlite_url, "", log, "--assume-timezone", "Europe/Amsterdam")
    assert also.exit_code == 0 and json.loads(also.stdout)["slos"][0]["valid"] == 30


def test_report_refuses_a_damaged_log_naming_it(tmp_path: Path, sqlite_url: str) -> None:
    whole = gzip.compress(LOG.encode() * 20)
    log = tmp_path / "orders.csv.gz"
    log.write_bytes(whole[: len(whole) // 2])
    res = _report(tmp_path, sqlite_url, "Europe/Amsterdam", log)
    assert res.exit_code == 2
    assert f"--log orders={log}: {log}: the gzip stream ends early" in res.stderr
