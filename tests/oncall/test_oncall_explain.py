"""`policy explain --at` names the person each level reaches and why; with
`--overrides`, the records' overrides and vacations count too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.records.oncall import OnCallStore
from escalator.records.store import Store

AT = "2026-03-28T15:00:00+01:00"  # chloe's week in the starter inventory rotation


def _explain(*extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["policy", "explain", "awaiting_inventory", "--at", AT, "--json", *extra], env=env
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_each_level_says_who_and_why() -> None:
    levels = _explain()["levels"]
    assert (levels[0]["on_call"], levels[0]["on_call_why"]) == (
        "chloe",
        "layer rotation (Europe/Amsterdam), shift 11",
    )
    assert levels[2]["role"] == "incident-leads" and levels[2]["on_call"] == "kim"


def test_overrides_and_vacations_from_the_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store.open(url)
    try:
        oncall = OnCallStore(store.engine)
        start = datetime.fromisoformat(AT)
        made = datetime(2026, 3, 1, tzinfo=UTC)
        cover = oncall.add(
            kind="override", role="inventory", member="bram", covers="chloe",
            starts_at=start, ends_at=start + timedelta(minutes=30), created_by="chloe", now=made,
        )  # fmt: skip
        oncall.add(
            kind="away", member="kim", starts_at=start, ends_at=start + timedelta(days=7),
            created_by="kim", now=made,
        )  # fmt: skip
    finally:
        store.close()
    levels = _explain("--overrides", "--database-url", url)["levels"]
    # Level 1 (15:02) falls inside the override; level 2 (15:32) after it ended.
    assert levels[0]["on_call"] == "bram"
    assert levels[0]["on_call_why"].startswith(f"override {cover.id} (made by chloe)")
    assert levels[1]["on_call"] == "chloe"
    # kim is away: jan covers the incident-lead level, and the reason says so.
    assert levels[2]["on_call"] == "jan" and "kim away" in levels[2]["on_call_why"]
    post = next(t for t in levels[0]["targets"] if t["channel"] == "slack")
    assert post["address"] == "#ops-inventory"  # level 1 posts the role channel, bram or not
    assert [t["member"] for t in levels[1]["targets"]] == ["chloe", "chloe"]
    # Without --overrides, the dry run stays a policy-only preview.
    assert _explain()["levels"][0]["on_call"] == "chloe"
