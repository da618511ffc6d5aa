"""The learning loop end to end: a real worker records an exception in a real SQL store,
the owner resolves it from the CLI (a subprocess) as a false alarm with a cause code,
the records keep both, and `escalator review` writes the post-incident review from
those records. `policy explain` shows the rule's latest kept scorecard."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from harness import has, subject
from policy_factory import RULE, detection, make_policy
from temporalio.client import Client
from typer.testing import CliRunner

from escalator.activities.channels import CapturingSender
from escalator.cli.main import app
from escalator.client import raise_exception, with_pydantic
from escalator.records.scorecards import keep_scorecards
from escalator.records.store import Store
from escalator.worker.main import StoreRecorder, Wiring, build_worker
from escalator.workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    ExceptionStatus,
    StepKind,
    UpdateResult,
)

ESCALATOR = str(Path(sys.executable).parent / "escalator")
runner = CliRunner()


async def _eventually(check, within: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.1)


@pytest.mark.temporal
async def test_false_alarm_from_the_cli_reaches_the_records_and_the_review(
    client: Client, task_queue: str, unit: timedelta, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = Store.open(url)
    channel = CapturingSender()
    wiring = Wiring(
        recorder=StoreRecorder(store),
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
    )
    client = with_pydantic(client)
    try:
        async with build_worker(client, task_queue, wiring):
            raised = await raise_exception(
                client,
                detection(subject(), waiting_for="sku-42"),
                policy=make_policy(unit),
                task_queue=task_queue,
            )
            eid = raised.exception_id
            handle = client.get_workflow_handle(eid, result_type=ExceptionStatus)
            for _ in range(200):
                status = await handle.query("status", result_type=ExceptionStatus)
                if has(StepKind.NOTIFIED)(status):
                    break
                await asyncio.sleep(0.05)
            await handle.execute_update(
                "acknowledge", AcknowledgeInput(actor="alice"), result_type=UpdateResult
            )
            await handle.execute_update(
                "add_note",
                AddNoteInput(actor="alice", note="stock count was running"),
                result_type=UpdateResult,
            )
            env = {
                **os.environ,
                "TEMPORAL_ADDRESS": client.service_client.config.target_host,
                "TEMPORAL_TASK_QUEUE": task_queue,
                "ESCALATOR_STATE_DIR": str(tmp_path),
            }
            both = ("--false-alarm", "--confirmed")
            proc = await asyncio.create_subprocess_exec(
                ESCALATOR, "resolve", eid, "--as", "alice", "--note", "nothing wrong", *both,
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, err = await proc.communicate()
            assert proc.returncode == 2 and b"contradict" in err
            proc = await asyncio.create_subprocess_exec(
                ESCALATOR, "resolve", eid, "--as", "alice", "--note", "nothing wrong",
                "--cause", "stock_count", "--false-alarm",
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await proc.communicate()
            assert proc.returncode == 0, err
            assert out.decode().strip() == "resolved by alice as a false alarm"

            def recorded() -> bool:
                row = store.get_exception(eid)
                return row is not None and row.resolution_real is False

            await _eventually(recorded)
            await handle.terminate("test finished")
        row = store.get_exception(eid)
        assert row is not None and (row.resolution_cause, row.resolved_by) == (
            "stock_count",
            "alice",
        )
        keep_scorecards(
            store,
            journey="orderToShip",
            log="orders.csv",
            figures=[
                {"rule": RULE, "firings": 40, "precision": 0.5, "lift": 0.8, "base_rate": 0.61}
            ],
        )
    finally:
        store.close()

    result = runner.invoke(
        app,
        ["review", eid, "--database-url", url, "--output", str(tmp_path / "review.md")],
    )
    assert result.exit_code == 0, result.output
    review = (tmp_path / "review.md").read_text(encoding="utf-8")
    assert review.startswith(f"# Post-incident review: `{eid}`")
    # The summary row: acknowledged and resolved by alice, a false alarm, its cause.
    assert "by alice" in review and "| false alarm | stock_count |" in review
    for kind in ("detected", "routed", "notified", "acknowledged", "note", "resolved"):
        assert f"| {kind} |" in review, kind
    assert "nothing wrong · cause stock_count · false alarm" in review
    # Who was paged: the level-1 page went to the inventory channel and was sent.
    assert "| slack | #inventory | sent |" in review
    assert "**alice** acknowledged" in review and "**alice** resolved (via cli)" in review
    assert "stock count was running" in review  # the note
    assert "| 40 | 50.00% |" in review and "| 0.80 |" in review  # the kept scorecard
    assert f"Rule `{RULE}`: retire (lift 0.80 <= 1" in review
    assert "It was a false alarm: review rule" in review

    missing = runner.invoke(
        app,
        ["review", "exc:none:none:none", "--database-url", url],
    )
    assert missing.exit_code == 2 and "the records hold no exception" in missing.output


def test_policy_explain_shows_the_latest_kept_scorecard(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    args = ["policy", "explain", "awaiting_inventory", "--at", "2026-03-06T16:30:00+01:00"]
    before = runner.invoke(app, [*args, "--database-url", url])
    assert before.exit_code == 0, before.output
    assert "scorecard: no records database yet" in before.output
    assert not (tmp_path / "records.db").exists()  # looking never creates one
    store = Store.open(url)
    try:
        keep_scorecards(
            store, journey="orderToShip", log="old.csv",
            figures=[{"rule": "awaiting_inventory", "firings": 9, "precision": 0.2}],
        )  # fmt: skip
        keep_scorecards(
            store, journey="orderToShip", log="new.csv",
            figures=[{"rule": "awaiting_inventory", "firings": 12, "precision": 0.75,
                      "recall": 0.5, "lift": 2.5, "base_rate": 0.3}],
        )  # fmt: skip
    finally:
        store.close()
    after = runner.invoke(app, [*args, "--database-url", url])
    assert after.exit_code == 0, after.output
    assert "over new.csv" in after.output
    assert "precision 75.00%" in after.output and "lift 2.50" in after.output
    as_json = runner.invoke(app, [*args, "--database-url", url, "--json"])
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert (data["scorecard"]["log"], data["scorecard"]["lift"]) == ("new.csv", 2.5)
    assert data["rule"] == "awaiting_inventory"


def test_scorecard_keeps_each_rules_figures_when_asked(tmp_path: Path) -> None:
    from escalator.records.scorecards import latest_scorecard

    url = f"sqlite:///{tmp_path / 'records.db'}"
    log = Path("escalator/stack/demo_data/orderToShip.csv").resolve()
    args = ["scorecard", "--journey", "orderToShip", "--log", str(log),
            "--quarantine", str(tmp_path / "q.jsonl")]  # fmt: skip
    env = {"ESCALATOR_DATABASE_URL": url}
    unasked = runner.invoke(app, args, env=env)
    assert unasked.exit_code == 0, unasked.output
    assert "scorecard not kept: no records database" in unasked.stderr
    assert not (tmp_path / "records.db").exists()
    kept = runner.invoke(app, [*args, "--keep", "--json"], env=env)
    assert kept.exit_code == 0, kept.output
    printed = {r["rule"]: r for r in json.loads(kept.stdout)["rules"]}
    store = Store.open(url)
    try:
        latest = latest_scorecard(store, "awaiting_inventory")
        assert latest is not None and latest.log == str(log)
        assert latest.figures == printed["awaiting_inventory"]
    finally:
        store.close()
