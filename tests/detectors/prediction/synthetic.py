"""A small synthetic order log whose remaining time depends on what a prefix shows.

Orders are created every ~40 minutes for 30 days; ``priority`` high orders are
packed fast, low ones often wait in ``backordered`` for a day or two, so a model
that reads the prefix can beat the per-length median. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 1, 5, tzinfo=UTC)

POLICY = """
journeys:
  - name: orders
    events: [created, picked, backordered, packed, shipped]
    completing_events: [shipped]
    columns: {attributes: [priority]}
    slis:
      - {type: availability, name: shipped, valid_events: [created], good_events: [shipped], objective: 99}
      - {type: latency, name: shipped_within_24h, start_event: created, end_event: shipped, threshold: 24h, objective: 99}
roles:
  - {name: ops, slack_channel: "#ops", members: [{name: ann}]}
escalation_policies:
  - {name: ops-escalation, levels: [{role: ops, response_time: 15m}]}
rules: []
"""


def order_rows(n_cases: int = 600, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for i in range(n_cases):
        created = START + timedelta(minutes=40 * i + rng.randint(0, 30))
        priority = "high" if rng.random() < 0.5 else "low"
        case = f"o-{i:04d}"
        t = created
        steps = [("created", t)]
        t += timedelta(minutes=rng.randint(10, 90))
        steps.append(("picked", t))
        if priority == "low" and rng.random() < 0.6:
            t += timedelta(minutes=rng.randint(5, 30))
            steps.append(("backordered", t))
            t += timedelta(hours=rng.uniform(20, 48))
        t += timedelta(minutes=rng.randint(20, 120))
        steps.append(("packed", t))
        t += timedelta(hours=rng.uniform(1, 6))
        steps.append(("shipped", t))
        for name, at in steps:
            rows.append(
                {
                    "case:concept:name": case,
                    "concept:name": name,
                    "time:timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "org:resource": "shop",
                    "priority": priority,
                }
            )
    rows.sort(key=lambda r: (r["time:timestamp"], r["case:concept:name"]))
    return rows


def write_log(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_policy(path: Path, extra_rules: str = "") -> Path:
    text = POLICY if not extra_rules else POLICY.replace("rules: []\n", "rules:\n" + extra_rules)
    path.write_text(text, encoding="utf-8")
    return path
